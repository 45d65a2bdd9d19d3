"""The connectors relaydesk ships, by name."""

from __future__ import annotations

from relaydesk.connectors.base import Connector
from relaydesk.connectors.creatio.connector import CreatioConnector
from relaydesk.connectors.freshchat.connector import FreshchatConnector
from relaydesk.connectors.hubspot.connector import HubSpotConnector
from relaydesk.connectors.intercom.connector import IntercomConnector
from relaydesk.connectors.salesforce.connector import SalesforceConnector
from relaydesk.core.errors import NotFound

CONNECTORS: dict[str, type[Connector]] = {
    HubSpotConnector.name: HubSpotConnector,
    CreatioConnector.name: CreatioConnector,
    IntercomConnector.name: IntercomConnector,
    FreshchatConnector.name: FreshchatConnector,
    SalesforceConnector.name: SalesforceConnector,
}


def connector_class(name: str) -> type[Connector]:
    """The connector called `name`, or NotFound listing the known ones."""
    found = CONNECTORS.get(name)
    if found is None:
        raise NotFound(f"unknown connector {name!r}; known: {', '.join(sorted(CONNECTORS))}")
    return found
