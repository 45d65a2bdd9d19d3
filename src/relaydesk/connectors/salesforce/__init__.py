"""Salesforce Messaging for In-App and Web: handoff into Omni-Channel, rep replies over server-sent events."""
