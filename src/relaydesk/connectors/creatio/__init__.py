"""Creatio: handoff as cases with activities, AI-filled fields, and replies through business processes."""
