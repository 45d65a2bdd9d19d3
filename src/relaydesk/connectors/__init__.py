"""Helpdesk connectors: one package per helpdesk, the protocol they share, and the framework that runs them."""
