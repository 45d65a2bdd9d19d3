"""Freshchat: a hosted channel (the AI answers inside Freshchat as an agent) and a handoff target."""
