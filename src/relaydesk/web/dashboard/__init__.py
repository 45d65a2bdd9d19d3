"""The dashboard under /app: where the team answers handed-off conversations and runs relaydesk."""
