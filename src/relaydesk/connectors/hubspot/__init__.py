"""HubSpot: handoff into the conversations inbox or help desk through an OAuth app's custom channel."""
