"""The HubSpot API surface of the sandbox, one router per documented API."""
