"""The conversation core: workspaces, contacts, sessions, messages, handoffs and the delivery outbox."""
