"""The in-memory records of a sandbox portal: tokens, channels, threads, contacts, tickets, files, webhook settings."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

Json = dict[str, Any]


def iso(moment: datetime) -> str:
    """An ISO-8601 UTC timestamp with milliseconds, as HubSpot writes them."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TokenKind(StrEnum):
    """How a bearer token was obtained."""

    OAUTH = "oauth"
    PRIVATE_APP = "private_app"


@dataclass
class AccessToken:
    """A bearer token and what it may do."""

    token: str
    kind: TokenKind
    scopes: frozenset[str]
    user_id: int
    app_id: int | None
    expires_at: float | None


@dataclass
class RefreshToken:
    """An OAuth refresh token; it stays valid until revoked."""

    token: str
    app_id: int
    scopes: frozenset[str]
    user_id: int


@dataclass
class AuthorizationCode:
    """A single-use code handed to the app's redirect URI."""

    code: str
    app_id: int
    redirect_uri: str
    scopes: frozenset[str]
    user_id: int


@dataclass
class Subscription:
    """An app webhook subscription (Webhooks API v3)."""

    id: str
    event_type: str
    property_name: str | None
    active: bool
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> Json:
        """The subscription as the webhooks API returns it."""
        body: Json = {
            "id": self.id,
            "eventType": self.event_type,
            "active": self.active,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }
        if self.property_name is not None:
            body["propertyName"] = self.property_name
        return body


@dataclass
class WebhookSettings:
    """Where an app's webhook events go."""

    target_url: str
    max_concurrent_requests: int
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> Json:
        """The settings as the webhooks API returns them."""
        return {
            "targetUrl": self.target_url,
            "throttling": {"maxConcurrentRequests": self.max_concurrent_requests, "period": "SECONDLY"},
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }


@dataclass
class Inbox:
    """A conversations inbox or the help desk."""

    id: str
    name: str
    type: str
    created_at: datetime

    def to_json(self) -> Json:
        """PublicInbox."""
        stamp = iso(self.created_at)
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "archived": False,
            "createdAt": stamp,
            "updatedAt": stamp,
        }


@dataclass
class Channel:
    """A custom channel registered by the developer app."""

    id: str
    name: str
    capabilities: Json
    webhook_url: str | None
    description: str | None
    logo_url: str | None
    connection_redirect_url: str | None
    created_at: datetime
    archived: bool = False

    def to_json(self) -> Json:
        """PublicChannelIntegrationChannel."""
        body: Json = {
            "id": self.id,
            "name": self.name,
            "capabilities": self.capabilities,
            "createdAt": iso(self.created_at),
        }
        optional = {
            "webhookUrl": self.webhook_url,
            "channelDescription": self.description,
            "channelLogoUrl": self.logo_url,
            "channelAccountConnectionRedirectUrl": self.connection_redirect_url,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return body


@dataclass
class ChannelAccount:
    """One connection of a custom channel to an inbox of the portal."""

    id: str
    channel_id: str
    inbox_id: str
    name: str
    authorized: bool
    delivery_identifier: Json | None
    created_at: datetime
    archived: bool = False

    def to_json(self) -> Json:
        """PublicChannelAccount."""
        body: Json = {
            "id": self.id,
            "channelId": self.channel_id,
            "inboxId": self.inbox_id,
            "name": self.name,
            "authorized": self.authorized,
            "active": self.authorized and not self.archived,
            "archived": self.archived,
            "createdAt": iso(self.created_at),
        }
        if self.delivery_identifier is not None:
            body["deliveryIdentifier"] = self.delivery_identifier
        return body


@dataclass
class Thread:
    """A conversation thread in an inbox."""

    id: str
    inbox_id: str
    channel_id: str
    channel_account_id: str
    integration_thread_id: str | None
    associated_contact_id: str
    visitor: Json
    created_at: datetime
    status: str = "OPEN"
    assigned_to: str | None = None
    closed_at: datetime | None = None
    latest_received: datetime | None = None
    latest_sent: datetime | None = None
    archived: bool = False
    ticket_id: str | None = None
    messages: list[Json] = field(default_factory=list)

    def to_json(self, with_ticket: bool = False) -> Json:
        """PublicThread; the ticket association only when asked for, as `association=TICKET` does."""
        body: Json = {
            "id": self.id,
            "inboxId": self.inbox_id,
            "status": self.status,
            "associatedContactId": self.associated_contact_id,
            "originalChannelId": self.channel_id,
            "originalChannelAccountId": self.channel_account_id,
            "createdAt": iso(self.created_at),
            "spam": False,
            "archived": self.archived,
        }
        if self.assigned_to is not None:
            body["assignedTo"] = self.assigned_to
        if self.closed_at is not None:
            body["closedAt"] = iso(self.closed_at)
        stamps = [s for s in (self.latest_received, self.latest_sent) if s is not None]
        if self.latest_received is not None:
            body["latestMessageReceivedTimestamp"] = iso(self.latest_received)
        if self.latest_sent is not None:
            body["latestMessageSentTimestamp"] = iso(self.latest_sent)
        if stamps:
            body["latestMessageTimestamp"] = iso(max(stamps))
        if with_ticket and self.ticket_id is not None:
            body["threadAssociations"] = {"associatedTicketId": self.ticket_id}
        return body


@dataclass
class CrmObject:
    """A contact or a ticket: properties plus associations by object type."""

    id: str
    properties: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    associations: dict[str, set[str]] = field(default_factory=dict)

    def to_json(self, properties: list[str] | None = None) -> Json:
        """SimplePublicObject, limited to the asked-for properties when given."""
        shown = self.properties if properties is None else {k: self.properties.get(k) for k in properties}
        return {
            "id": self.id,
            "properties": {**shown, "hs_object_id": self.id},
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "archived": False,
        }


@dataclass
class StoredFile:
    """An uploaded file held in memory."""

    id: str
    name: str
    extension: str
    content_type: str
    content: bytes
    access: str
    path: str
    parent_folder_id: str
    created_at: datetime


@dataclass
class PortalState:
    """All mutable records of one sandbox portal, with its id sequences."""

    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    installed: bool = False
    webhook_settings: WebhookSettings | None = None
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    inboxes: dict[str, Inbox] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    channel_accounts: dict[str, ChannelAccount] = field(default_factory=dict)
    threads: dict[str, Thread] = field(default_factory=dict)
    threads_by_integration_id: dict[tuple[str, str], str] = field(default_factory=dict)
    messages: dict[str, tuple[str, Json]] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], str] = field(default_factory=dict)
    contacts: dict[str, CrmObject] = field(default_factory=dict)
    tickets: dict[str, CrmObject] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    folders: dict[str, str] = field(default_factory=dict)
    _ids: dict[str, Iterator[int]] = field(default_factory=dict)

    def next_id(self, sequence: str, start: int) -> str:
        """The next id of a sequence, as a string."""
        counter = self._ids.setdefault(sequence, itertools.count(start))
        return str(next(counter))
