"""Verified inbound events become core calls, once: each event id that changed something is recorded.

An event already recorded changes nothing. An event is recorded after its core call, in one small write: a repeat
that arrives before the record, or after a crash in between, is applied again, which is safe because every core call
here is idempotent in effect (messages carry the provider's id as their external id; transitions check the
session's state), and is then reported as a duplicate. Events that change nothing are not recorded at all. Rep HTML
is stored through the core, which reduces it to safe formatting. A customer's message in a hosted channel opens a
session (channel = the connector) linked to the helpdesk's conversation the first time that conversation is seen;
the customer writing again in an ended one reopens it. A reopened hosted session goes back to whoever resolved it:
the AI when the AI did (the helpdesk's conversation is still its agent's), else a rep. A contact update refreshes
only a contact relaydesk already linked: a helpdesk reports changes to every one of its contacts.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from relaydesk.connectors.base import ORIGIN, InboundBatch, InboundEvent, SessionRef
from relaydesk.connectors.store import key_of
from relaydesk.core.conversations import REPLY_DELAY, Conversations, NewMessage
from relaydesk.core.db import Database
from relaydesk.core.errors import IllegalTransition
from relaydesk.core.integrations import InboundReceipt, Integration
from relaydesk.core.models import ChatSession, Contact, ExternalLink, utcnow
from relaydesk.core.states import ENDED_STATES, OPEN_STATES, Action, State

log = structlog.get_logger(__name__)


@dataclass
class Applied:
    """What one webhook request did: events applied, repeats skipped, and what was reported but not acted on."""

    applied: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


class InboundProcessor:
    """Applies a connector's inbound events to the conversation core."""

    def __init__(self, db: Database, conversations: Conversations) -> None:
        self.db = db
        self.conversations = conversations

    async def apply(self, integration: Integration, batch: InboundBatch) -> Applied:
        result = Applied(ignored=list(batch.ignored))
        for event in batch.events:
            if await self._seen(integration, event):
                result.duplicates.append(event.event_id)
                continue
            outcome = await self._apply(integration, event)
            if outcome != "applied":
                result.ignored.append(f"{event.event_id}: {outcome}")
            elif await self._record(integration, event):
                result.applied.append(event.event_id)
            else:
                result.duplicates.append(event.event_id)  # a concurrent repeat recorded it first
        return result

    async def _seen(self, integration: Integration, event: InboundEvent) -> bool:
        """Whether the event was applied before (a read: no write lock taken)."""
        async with self.db.read() as db:
            found = await db.scalar(select(InboundReceipt.id).where(
                InboundReceipt.integration_id == integration.id, InboundReceipt.event_id == event.event_id[:200]))
        return found is not None

    async def _record(self, integration: Integration, event: InboundEvent) -> bool:
        """Record an applied event; False when a concurrent repeat recorded it first."""
        now = utcnow()
        try:
            async with self.db.transaction() as tx:
                tx.add(InboundReceipt(workspace_id=integration.workspace_id, integration_id=integration.id,
                                      event_id=event.event_id[:200], event_type=event.type, received_at=now,
                                      processed_at=now, outcome="applied"))
        except IntegrityError:
            return False
        return True

    async def _session(self, integration: Integration, ref: SessionRef) -> ChatSession | None:
        async with self.db.read() as db:
            if ref.session_id:
                session = await db.get(ChatSession, ref.session_id)
                return session if session is not None and session.workspace_id == integration.workspace_id else None
            link = (await db.scalars(select(ExternalLink).where(
                ExternalLink.integration == key_of(integration),
                ExternalLink.kind == ref.link_kind,
                ExternalLink.external_id == ref.external_id,
            ))).first()
            return None if link is None else await db.get(ChatSession, link.session_id)

    async def _open_hosted(self, integration: Integration, event: InboundEvent) -> ChatSession | None:
        """A new session for a hosted channel's conversation, linked to it; None for events that open nothing."""
        ref = event.ref
        if event.type != "customer_message" or not event.opens_session or not ref.link_kind or not ref.external_id:
            return None
        contact = await self._contact(integration, event) if event.contact is not None else None
        contact = contact or await self.conversations.create_contact(integration.workspace_id, name=event.author_name)
        session = await self.conversations.open_session(integration.workspace_id, contact.id,
                                                        channel=integration.connector)
        await self.conversations.add_link(integration.workspace_id, session.id, integration=key_of(integration),
                                          kind=ref.link_kind, external_id=ref.external_id, url=ref.url)
        return session

    async def _contact(self, integration: Integration, event: InboundEvent, contact_id: str | None = None, *,
                       create: bool = True) -> Contact | None:
        """The contact the event's customer details name, with those details and attributes kept up to date;
        `create=False`: only one already linked to them (None when there is none)."""
        assert event.contact is not None
        info = event.contact
        return await self.conversations.external_contact(
            integration.workspace_id, key_of(integration), info.external_id, email=info.email,
            name=info.name or event.author_name, attributes=info.attributes, contact_id=contact_id, create=create)

    async def _apply(self, integration: Integration, event: InboundEvent) -> str:
        if event.type == "contact_updated":
            if event.contact is None:
                return "the event names no contact"
            if await self._contact(integration, event, create=False) is None:
                return f"contact {event.contact.external_id} is linked to no relaydesk contact"
            return "applied"
        session = await self._session(integration, event.ref) or await self._open_hosted(integration, event)
        if session is None:
            return "no session of this workspace matches"
        if event.contact is not None and event.type == "customer_message":
            await self._contact(integration, event, contact_id=session.contact_id)
        key, state = key_of(integration), State(session.state)
        workspace_id, conversations = integration.workspace_id, self.conversations
        origin = {ORIGIN: key}
        if event.type in ("rep_message", "rep_note"):
            if event.type == "rep_message":
                if state in ENDED_STATES:
                    await conversations.transition(workspace_id, session.id, Action.REOPEN, actor="rep",
                                                   actor_name=event.author_name, reopen_to=State.HUMAN, detail=origin)
                elif state in (State.AI, State.HANDED_OFF):
                    await conversations.transition(workspace_id, session.id, Action.REP_JOIN, actor="rep",
                                                   actor_name=event.author_name, detail=origin)
            data: dict[str, str] = {**origin}
            if event.external_message_id:
                data["external_message_id"] = event.external_message_id
            await conversations.post_message(workspace_id, session.id, NewMessage(
                author="rep", kind="text" if event.type == "rep_message" else "note", text=event.text,
                html=event.html, author_name=event.author_name, attachments=list(event.attachments),
                external_id=f"{key}:{event.event_id}"[:200], data=data,
            ))
            return "applied"
        hosted = session.channel == integration.connector
        if event.type == "customer_message":
            if not hosted:
                return f"the visitor writes in the {session.channel}; this is an echo of the handoff"
            if state not in OPEN_STATES:
                with contextlib.suppress(IllegalTransition):  # the helpdesk's own reopen event came first
                    await conversations.transition(workspace_id, session.id, Action.REOPEN, actor="visitor",
                                                   reopen_to=_reopens_to(session, hosted), detail=origin)
            settle = {REPLY_DELAY: event.reply_delay_s} if event.reply_delay_s > 0 else {}
            await conversations.post_message(workspace_id, session.id, NewMessage(
                author="visitor", text=event.text, attachments=list(event.attachments),
                external_id=f"{key}:{event.event_id}"[:200], data={**origin, **settle},
            ))
            return "applied"
        action = {"assigned": Action.REP_JOIN, "handed_back": Action.HAND_BACK, "resolved": Action.RESOLVE,
                  "reopened": Action.REOPEN}[event.type]
        resolvable = tuple(OPEN_STATES) if hosted else (State.HANDED_OFF, State.HUMAN)
        # In a hosted channel a rep may take a conversation from the AI (e.g. the helpdesk's routing assigns it).
        joinable = (State.HANDED_OFF, State.AI) if hosted else (State.HANDED_OFF,)
        allowed = {Action.REP_JOIN: joinable, Action.HAND_BACK: (State.HANDED_OFF, State.HUMAN),
                   Action.RESOLVE: resolvable, Action.REOPEN: tuple(ENDED_STATES)}[action]
        if state not in allowed:
            return f"the session is {state.value}; {event.type} changes nothing"
        try:
            await conversations.transition(workspace_id, session.id, action, actor="rep",
                                           actor_name=event.author_name, reopen_to=_reopens_to(session, hosted),
                                           detail=origin)
        except IllegalTransition:  # changed since it was read, e.g. reopened by the customer's message
            return f"the session changed meanwhile; {event.type} changes nothing"
        return "applied"


def _reopens_to(session: ChatSession, hosted: bool) -> State:
    """Who a reopened session goes back to: in a hosted channel the AI, when the AI resolved it; else a rep."""
    return State.AI if hosted and session.resolved_by == "ai" else State.HUMAN
