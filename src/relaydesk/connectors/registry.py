"""The connectors relaydesk ships, by name."""

from __future__ import annotations

from relaydesk.connectors.base import Connector
from relaydesk.connectors.hubspot.connector import HubSpotConnector
from relaydesk.core.errors import NotFound

CONNECTORS: dict[str, type[Connector]] = {
    HubSpotConnector.name: HubSpotConnector,
}


def connector_class(name: str) -> type[Connector]:
    """The connector called `name`, or NotFound listing the known ones."""
    found = CONNECTORS.get(name)
    if found is None:
        raise NotFound(f"unknown connector {name!r}; known: {', '.join(sorted(CONNECTORS))}")
    return found
