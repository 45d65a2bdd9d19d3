"""The ASGI app: widget API, admin API, webhooks, health and metrics."""
