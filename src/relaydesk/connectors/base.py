"""The connector protocol every helpdesk integration implements, and the values it trades with the framework.

A connector is built for one integration (one workspace's connection to one helpdesk) from a ConnectorContext. The
framework calls it from delivery workers only (outbound) and from the webhook route (inbound); a connector never
touches the conversation core itself. Outbound methods are idempotent: a retried job must not duplicate anything in
the helpdesk, so each step checks what exists (through the SessionTrace or the provider) or sends the provider's
idempotency key. Failures are raised as `DeliveryError`, retryable or permanent, with a message a user can act on.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

import httpx2
from pydantic import BaseModel

from relaydesk.core.models import ChatSession, Contact, Handoff, Message

if TYPE_CHECKING:
    from relaydesk.agent.knowledge import Document

ORIGIN = "origin"  # key in message data and transition detail naming the integration a change came from

def integration_key(connector: str, integration_id: str) -> str:
    """How an integration names itself on external links, contact ids and the origin of inbound changes."""
    return f"{connector}:{integration_id}"


# rep_message/rep_note: a rep wrote; assigned: a rep took the conversation; handed_back: the helpdesk gave it back
# to the AI (e.g. reassigned to the AI's own agent); resolved/reopened: its state; customer_message: the customer
# wrote in a hosted channel; contact_updated: only the customer's details or attributes changed.
InboundType = Literal[
    "rep_message", "rep_note", "assigned", "handed_back", "resolved", "reopened", "customer_message", "contact_updated"
]


class CheckFailed(Exception):
    """Credentials or options the helpdesk refused; `reason` says what to fix, `setting` names the field."""

    def __init__(self, reason: str, *, setting: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.setting = setting


# How a handoff's reason reads in the note a rep sees in their helpdesk.
HANDOFF_REASONS = {
    "explicit_request": "the visitor asked for a person",
    "topic": "the topic needs a person",
    "frustration": "the visitor is frustrated",
    "unproductive": "the AI was not getting anywhere",
    "ai_decision": "the AI decided a person should take over",
    "office_hours": "requested outside office hours",
    "rep_takeover": "a rep took over",
}


class WebhookRejected(Exception):
    """A webhook request that failed verification; it is answered 401 and changes nothing."""


def json_body(body: bytes, hint: str = "") -> Any:
    """A webhook's JSON body, or WebhookRejected for anything else (nesting too deep to read included)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise WebhookRejected("the body is not JSON" + (f": {hint}" if hint else "")) from exc


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What a successful check found, shown beside the integration's status."""

    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    connected: bool = True  # False: the credentials are fine but the account still has to be connected (OAuth)


@dataclass(frozen=True, slots=True)
class TranscriptAttachment:
    """A file the visitor attached, as the widget stored it."""

    name: str
    url: str
    content_type: str | None
    size: int | None


@dataclass(frozen=True, slots=True)
class TranscriptMessage:
    """A visitor or AI message as a helpdesk receives it: component messages reduced to their plain text."""

    seq: int
    author: str
    author_name: str | None
    text: str
    created_at: datetime
    attachments: tuple[TranscriptAttachment, ...] = ()
    citations: tuple[tuple[str, str | None], ...] = ()  # (title, url) of the articles an AI answer drew on

    @classmethod
    def of(cls, message: Message) -> TranscriptMessage:
        """The transcript form of a stored message."""
        text = message.text
        if message.component and not text.strip():
            text = str(message.component.get("text") or "")
        attachments = tuple(
            TranscriptAttachment(
                name=str(a.get("name") or "attachment"),
                url=str(a.get("url") or ""),
                content_type=a.get("content_type"),
                size=a.get("size"),
            )
            for a in message.attachments or []
            if a.get("url")
        )
        citations = tuple((str(c.get("title") or ""), c.get("url")) for c in (message.data or {}).get("citations") or []
                          if isinstance(c, dict))
        return cls(message.seq, message.author, message.author_name, text, message.created_at, attachments, citations)


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """What a connector knows about a session when it runs: the session, its contact, its latest handoff."""

    session: ChatSession
    contact: Contact
    handoff: Handoff | None
    url: str  # where a rep opens the session in relaydesk

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def visitor_name(self) -> str:
        """The contact's name, or a neutral label for anonymous visitors."""
        return self.contact.name or (self.contact.email if self.contact.verified and self.contact.email else "") or (
            "Website visitor"
        )


@dataclass(frozen=True, slots=True)
class ExternalRef:
    """An object in the helpdesk that stands for part of a session."""

    kind: str
    external_id: str
    url: str | None


class SessionTrace(Protocol):
    """The session's links to helpdesk objects for one integration; each `add` commits at once.

    `operation` is unique per outbound job and stable across its retries: a key to recognise one's own earlier
    attempt where the provider has no idempotency field.
    """

    @property
    def operation(self) -> str: ...

    def get(self, kind: str) -> ExternalRef | None: ...

    async def add(self, kind: str, external_id: str, url: str | None) -> ExternalRef: ...

    @property
    def contact_external_id(self) -> str | None: ...

    async def remember_contact(self, external_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SessionRef:
    """How an inbound event names its session: by our session id, or by a linked helpdesk object."""

    session_id: str | None = None
    link_kind: str | None = None
    external_id: str | None = None
    url: str | None = None  # where a rep opens the linked object, kept on the link a hosted conversation opens


@dataclass(frozen=True, slots=True)
class ContactInfo:
    """The customer as the helpdesk knows them, carried by events of a hosted channel.

    `external_id` is the helpdesk's id of the person; `email` matches them to an existing contact of the workspace;
    `attributes` (the helpdesk's custom attributes, its companies') replace what this integration synced before and
    reach the AI's context.
    """

    external_id: str
    email: str | None = None
    name: str | None = None
    attributes: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One verified event from the helpdesk, ready to become a core call.

    `event_id` is the provider's event or message id: the same id twice changes nothing the second time.
    """

    event_id: str
    type: InboundType
    ref: SessionRef
    text: str = ""
    html: str | None = None
    author_name: str | None = None
    external_message_id: str | None = None
    contact: ContactInfo | None = None
    attachments: tuple[dict[str, Any], ...] = ()  # files on the message: name, url, content_type, size
    reply_delay_s: float = 0.0  # a customer message: how long the AI waits before answering (the channel settles)
    opens_session: bool = True  # a customer message: False keeps it on an existing session but opens none


@dataclass(frozen=True, slots=True)
class InboundBatch:
    """What one webhook request carried: events to apply, and events reported but not acted on."""

    events: list[InboundEvent] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A webhook request as received; `urls` are the addresses the provider may have signed (as seen, public)."""

    method: str
    urls: tuple[str, ...]
    headers: Mapping[str, str]
    body: bytes


@dataclass
class ConnectorContext:
    """Everything one connector instance works with, bound to one integration."""

    connector: str
    integration_id: str
    workspace_id: str
    settings: BaseModel
    secrets: dict[str, str]
    http: httpx2.AsyncClient
    public_url: str
    webhook_url: str
    save_secrets: Callable[[dict[str, str]], Awaitable[None]]
    report_problem: Callable[[str], Awaitable[None]]

    @property
    def key(self) -> str:
        """The integration's name on external links and contact ids."""
        return integration_key(self.connector, self.integration_id)


@dataclass(frozen=True, slots=True)
class KnowledgeSync:
    """What a helpdesk offers the workspace's knowledge base since the integration's last sync.

    `removed` names documents to take out (e.g. unpublished articles); `progress` is the settings to keep once the
    documents are stored (how far this sync read), so the next sync reads only what changed after.
    """

    documents: list[Document]
    removed: list[str]
    progress: dict[str, Any]
    summary: str


@runtime_checkable
class KnowledgeSource(Protocol):
    """A connector that can feed the knowledge base from its helpdesk (help-center articles, solved tickets)."""

    async def knowledge(self) -> KnowledgeSync:
        """Read what changed since the last sync; raise CheckFailed when the helpdesk refuses."""
        ...


class Connector(Protocol):
    """One helpdesk integration; see the module docstring for the rules every method follows."""

    name: ClassVar[str]
    title: ClassVar[str]
    settings_model: ClassVar[type[BaseModel]]

    def __init__(self, context: ConnectorContext) -> None: ...

    async def check(self) -> CheckReport:
        """Validate credentials and options against the live API; raise CheckFailed with a precise reason."""
        ...

    def authorize_url(self, redirect_uri: str, state: str) -> str | None:
        """Where an admin grants access (OAuth), or None when the connector needs no such step."""
        ...

    async def authorize(self, code: str, redirect_uri: str) -> None:
        """Exchange an OAuth code for tokens and keep them (encrypted) through the context."""
        ...

    async def activate(self) -> dict[str, Any]:
        """Provision what the helpdesk needs (channels, webhooks); returns settings to keep. Idempotent."""
        ...

    async def start_handoff(
        self, session: SessionSnapshot, transcript: list[TranscriptMessage], trace: SessionTrace
    ) -> None:
        """Find or create the contact, open the conversation with the transcript, note, ticket and assignee."""
        ...

    async def send_visitor_message(
        self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace
    ) -> None: ...

    async def send_ai_message(self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace) -> None:
        ...

    async def send_attachment(
        self,
        session: SessionSnapshot,
        message: TranscriptMessage,
        attachment: TranscriptAttachment,
        index: int,
        trace: SessionTrace,
    ) -> None: ...

    async def acknowledge(self, session: SessionSnapshot, external_message_id: str, trace: SessionTrace) -> None:
        """Tell the helpdesk a rep's message reached the visitor."""
        ...

    async def resolve(self, session: SessionSnapshot, trace: SessionTrace) -> None: ...

    async def close(self, session: SessionSnapshot, trace: SessionTrace) -> None: ...

    async def hand_back(self, session: SessionSnapshot, trace: SessionTrace) -> None: ...

    async def handle_webhook(self, request: WebhookRequest) -> InboundBatch:
        """Verify a webhook request (raise WebhookRejected) and parse it into events."""
        ...
