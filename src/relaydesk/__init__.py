"""relaydesk: a self-hosted AI front door for customer support."""

__version__ = "0.1.0"
