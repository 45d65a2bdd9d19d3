"""Benchmarks behind `relaydesk bench`: each returns its figures and a table to print."""
