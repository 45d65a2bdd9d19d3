"""Intercom: a hosted channel (the AI replies inside Intercom) and a handoff target."""
