"""Conversation operations: every change to contacts, sessions and messages goes through here.

Each operation is one transaction that writes the change, its timeline entry and its outbox jobs together; realtime
events are published only after the commit, so a subscriber never sees what the database does not hold.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.core import webhooks_out
from relaydesk.core.bus import Bus, Event
from relaydesk.core.db import Database
from relaydesk.core.delivery import notify_outbox
from relaydesk.core.errors import Conflict, DomainError, NotFound
from relaydesk.core.html import sanitize_rep_html
from relaydesk.core.models import (
    ApiKey,
    ChatSession,
    Contact,
    ExternalLink,
    Handoff,
    Message,
    TimelineEntry,
    Workspace,
    utcnow,
)
from relaydesk.core.producers import Change, Producer
from relaydesk.core.states import OPEN_STATES, Action, State, next_state
from relaydesk.crypto import hash_api_key, new_api_key, new_widget_token

EVENT_OF_ACTION = {
    Action.HAND_OFF: "handed_off",
    Action.REP_JOIN: "rep_joined",
    Action.HAND_BACK: "handed_back",
    Action.RESOLVE: "resolved",
    Action.CLOSE: "closed",
    Action.REOPEN: "reopened",
}


def session_channel(session_id: str) -> str:
    return f"session:{session_id}"


def workspace_channel(workspace_id: str) -> str:
    return f"workspace:{workspace_id}"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def message_view(message: Message) -> dict[str, Any]:
    """The public shape of a message, as the widget, the dashboard and webhooks see it."""
    return {
        "id": message.id,
        "session_id": message.session_id,
        "seq": message.seq,
        "author": message.author,
        "author_name": message.author_name,
        "kind": message.kind,
        "event": message.event,
        "text": message.text,
        "html": message.html,
        "attachments": message.attachments,
        "component": message.component,
        "client_id": message.client_id,
        "created_at": iso(message.created_at),
    }


def session_view(session: ChatSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "contact_id": session.contact_id,
        "channel": session.channel,
        "state": session.state,
        "resolved_by": session.resolved_by,
        "assignee": session.assignee,
        "language": session.language,
        "sentiment": session.sentiment,
        "sentiment_score": session.sentiment_score,
        "summary": session.summary,
        "tags": session.tags,
        "csat_score": session.csat_score,
        "csat_comment": session.csat_comment,
        "last_seq": session.last_seq,
        "created_at": iso(session.created_at),
        "updated_at": iso(session.updated_at),
        "ended_at": iso(session.ended_at),
    }


def contact_view(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "email": contact.email,
        "name": contact.name,
        "phone": contact.phone,
        "verified": contact.verified,
        "external_user_id": contact.external_user_id,
        "custom_data": contact.custom_data,
        "unverified_custom_data": contact.unverified_custom_data,
        "created_at": iso(contact.created_at),
    }


@dataclass
class Posted:
    """A message accepted into a session; `created` is False when an earlier identical send was returned."""

    message: Message
    session: ChatSession
    created: bool


@dataclass
class _AfterCommit:
    events: list[tuple[str, Event]] = field(default_factory=list)
    jobs: int = 0


# Key in a visitor message's data: seconds the AI waits before answering it, so a channel's own routing settles first.
REPLY_DELAY = "reply_delay_s"
MAX_REPLY_DELAY_S = 600.0


@dataclass(frozen=True, slots=True)
class NewMessage:
    """What a caller wants to add to a session."""

    author: str
    text: str = ""
    kind: str = "text"
    event: str | None = None
    author_name: str | None = None
    html: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    component: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    client_id: str | None = None
    external_id: str | None = None


CREDENTIAL_CACHE_S = 10.0
AUTHORS = frozenset({"visitor", "ai", "rep", "system"})
KINDS = frozenset({"text", "note", "event"})


class Conversations:
    """The conversation core's operations over one database and bus."""

    def __init__(self, db: Database, bus: Bus, producers: list[Producer] | None = None) -> None:
        self.db = db
        self.bus = bus
        self.producers: list[Producer] = [webhooks_out.produce, *(producers or [])]
        self._credentials: dict[tuple[str, str], tuple[Workspace | None, float]] = {}

    # -- workspaces -------------------------------------------------------------------------------------------

    async def create_workspace(self, name: str) -> tuple[Workspace, str]:
        """A new workspace and its first API key (returned once, stored hashed)."""
        key = new_api_key()
        async with self.db.transaction() as tx:
            workspace = Workspace(name=name, widget_token=new_widget_token(), settings={})
            tx.add(workspace)
            await tx.flush()
            tx.add(ApiKey(workspace_id=workspace.id, name="default", key_hash=hash_api_key(key), hint=key[-4:]))
        return workspace, key

    async def workspace_by_widget_token(self, token: str) -> Workspace | None:
        return await self._cached(("widget", token), select(Workspace).where(Workspace.widget_token == token))

    async def workspace_by_api_key(self, key: str) -> Workspace | None:
        query = (
            select(Workspace)
            .join(ApiKey, ApiKey.workspace_id == Workspace.id)
            .where(ApiKey.key_hash == hash_api_key(key), ApiKey.revoked_at.is_(None))
        )
        return await self._cached(("key", hash_api_key(key)), query)

    async def _cached(self, key: tuple[str, str], query: Select[Workspace]) -> Workspace | None:
        """Workspace lookups by credential, remembered for a few seconds: every widget request makes one."""
        now = time.monotonic()
        hit = self._credentials.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        async with self.db.read() as db:
            workspace = (await db.scalars(query)).first()
        if len(self._credentials) > 10_000:
            self._credentials.clear()
        self._credentials[key] = (workspace, now + CREDENTIAL_CACHE_S)
        return workspace

    def forget_credentials(self) -> None:
        """Drop remembered lookups at once (after a key is revoked or a token rotated in this process)."""
        self._credentials.clear()

    # -- contacts ---------------------------------------------------------------------------------------------

    async def create_contact(
        self,
        workspace_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        unverified_custom_data: dict[str, Any] | None = None,
    ) -> Contact:
        """An unverified contact: anonymous, or with what the visitor or the page declared about itself."""
        async with self.db.transaction() as tx:
            contact = Contact(
                workspace_id=workspace_id,
                name=name,
                email=email.lower() if email else None,
                phone=phone,
                verified=False,
                unverified_custom_data=unverified_custom_data or {},
            )
            tx.add(contact)
        return contact

    async def authenticate_contact(
        self,
        workspace_id: str,
        *,
        email: str,
        name: str | None = None,
        phone: str | None = None,
        external_user_id: str | None = None,
        custom_data: dict[str, Any] | None = None,
        merge_contact_id: str | None = None,
    ) -> Contact:
        """The verified contact for `email` (created if new). An anonymous contact named by the caller is merged
        into it: its sessions move over, nothing is lost."""
        email = email.strip().lower()
        async with self.db.transaction() as tx:
            contact = (
                await tx.scalars(
                    select(Contact)
                    .where(Contact.workspace_id == workspace_id, Contact.email == email, Contact.verified)
                    .order_by(Contact.created_at)
                )
            ).first()
            if contact is None:
                contact = Contact(workspace_id=workspace_id, email=email, verified=True, custom_data={},
                                  unverified_custom_data={}, external_ids={})
                tx.add(contact)
            contact.name = name or contact.name
            contact.phone = phone or contact.phone
            contact.external_user_id = external_user_id or contact.external_user_id
            if custom_data is not None:
                contact.custom_data = {**contact.custom_data, **custom_data}
            await tx.flush()
            if merge_contact_id and merge_contact_id != contact.id:
                await self._merge(tx, workspace_id, merge_contact_id, contact)
        return contact

    async def external_contact(
        self,
        workspace_id: str,
        key: str,
        external_id: str,
        *,
        email: str | None = None,
        name: str | None = None,
        attributes: dict[str, Any] | None = None,
        contact_id: str | None = None,
        create: bool = True,
    ) -> Contact | None:
        """The contact an external system (a helpdesk, named by `key`) knows as `external_id`.

        It is `contact_id` when given, else the contact already linked to that id, else the workspace's contact with
        that email (the verified one first; two helpdesk users with one email share it), else a new unverified one.
        The link is remembered; `attributes`, when given, replace what this system synced before. Nothing is
        written when nothing changed. `create=False` only refreshes a contact already linked (or `contact_id`): no
        email match, nothing new, and None when there is no such contact."""
        email = email.strip().lower() if email else None
        async with self.db.transaction() as tx:
            contact = await tx.get(Contact, contact_id) if contact_id else None
            if contact is None:
                contact = (await tx.scalars(select(Contact).where(
                    Contact.workspace_id == workspace_id, Contact.external_ids[key].as_string() == external_id,
                    Contact.merged_into_id.is_(None)).order_by(Contact.created_at))).first()
            if contact is None and not create:
                return None
            if contact is None and email:
                contact = (await tx.scalars(select(Contact).where(
                    Contact.workspace_id == workspace_id, Contact.email == email, Contact.merged_into_id.is_(None)
                ).order_by(Contact.verified.desc(), Contact.created_at))).first()
            if contact is None:
                contact = Contact(workspace_id=workspace_id, email=email, name=name, verified=False, custom_data={},
                                  unverified_custom_data={}, external_ids={}, helpdesk_attributes={})
                tx.add(contact)
            if (contact.external_ids or {}).get(key) != external_id:
                contact.external_ids = {**(contact.external_ids or {}), key: external_id}
            if attributes is not None and (contact.helpdesk_attributes or {}).get(key) != attributes:
                contact.helpdesk_attributes = {**(contact.helpdesk_attributes or {}), key: attributes}
            if name and not contact.name:
                contact.name = name
            if email and not contact.email:
                contact.email = email
        return contact

    async def _merge(self, tx: AsyncSession, workspace_id: str, source_id: str, into: Contact) -> None:
        source = await tx.get(Contact, source_id)
        if source is None or source.workspace_id != workspace_id or source.verified:
            return
        await tx.execute(
            update(ChatSession)
            .where(ChatSession.contact_id == source.id, ChatSession.workspace_id == workspace_id)
            .values(contact_id=into.id)
        )
        into.unverified_custom_data = {**source.unverified_custom_data, **into.unverified_custom_data}
        into.name = into.name or source.name
        into.phone = into.phone or source.phone
        source.merged_into_id = into.id

    async def get_contact(self, workspace_id: str, contact_id: str) -> Contact:
        async with self.db.read() as db:
            contact = await db.get(Contact, contact_id)
        if contact is None or contact.workspace_id != workspace_id:
            raise NotFound(f"no contact {contact_id} in this workspace")
        return contact

    # -- sessions ---------------------------------------------------------------------------------------------

    async def open_session(
        self,
        workspace_id: str,
        contact_id: str,
        *,
        channel: str = "widget",
        device_id: str | None = None,
        language: str | None = None,
    ) -> ChatSession:
        after = _AfterCommit()
        async with self.db.transaction() as tx:
            contact = await tx.get(Contact, contact_id)
            if contact is None or contact.workspace_id != workspace_id:
                raise NotFound(f"no contact {contact_id} in this workspace")
            session = ChatSession(
                workspace_id=workspace_id,
                contact_id=contact_id,
                channel=channel,
                device_id=device_id,
                language=language,
                tags=[],
            )
            tx.add(session)
            await tx.flush()
            self._timeline(tx, session, "visitor", "session.created", {"channel": channel})
            after.jobs += await self._produce(
                tx, Change("session.created", workspace_id, session, session_view(session), f"{session.id}_created")
            )
            after.events.append(
                (workspace_channel(workspace_id), {"type": "session", "session": session_view(session)})
            )
        await self._publish(after)
        return session

    async def get_session(self, workspace_id: str, session_id: str) -> ChatSession:
        async with self.db.read() as db:
            session = await db.get(ChatSession, session_id)
        if session is None or session.workspace_id != workspace_id:
            raise NotFound(f"no session {session_id} in this workspace")
        return session

    async def list_sessions(
        self,
        workspace_id: str,
        *,
        contact_id: str | None = None,
        device_id: str | None = None,
        state: str | None = None,
        limit: int = 50,
        before: datetime | None = None,
    ) -> list[ChatSession]:
        query = select(ChatSession).where(ChatSession.workspace_id == workspace_id)
        if contact_id:
            query = query.where(ChatSession.contact_id == contact_id)
        if device_id:
            query = query.where(ChatSession.device_id == device_id)
        if state:
            query = query.where(ChatSession.state == state)
        if before:
            query = query.where(ChatSession.updated_at < before)
        query = query.order_by(ChatSession.updated_at.desc(), ChatSession.id).limit(limit)
        async with self.db.read() as db:
            return list((await db.scalars(query)).all())

    async def messages_after(
        self, workspace_id: str, session_id: str, after_seq: int = 0, *, limit: int = 500
    ) -> list[Message]:
        async with self.db.read() as db:
            rows = await db.scalars(
                select(Message)
                .where(Message.workspace_id == workspace_id, Message.session_id == session_id, Message.seq > after_seq)
                .order_by(Message.seq)
                .limit(limit)
            )
            return list(rows.all())

    async def timeline(self, workspace_id: str, session_id: str) -> list[TimelineEntry]:
        async with self.db.read() as db:
            rows = await db.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.workspace_id == workspace_id, TimelineEntry.session_id == session_id)
                .order_by(TimelineEntry.id)
            )
            return list(rows.all())

    async def links(self, workspace_id: str, session_id: str) -> list[ExternalLink]:
        async with self.db.read() as db:
            rows = await db.scalars(
                select(ExternalLink)
                .where(ExternalLink.workspace_id == workspace_id, ExternalLink.session_id == session_id)
                .order_by(ExternalLink.id)
            )
            return list(rows.all())

    # -- messages ---------------------------------------------------------------------------------------------

    async def post_message(self, workspace_id: str, session_id: str, new: NewMessage) -> Posted:
        """Commit a message with the next seq of its session; a repeated client_id or external_id returns the
        message already stored instead of adding another."""
        if new.author not in AUTHORS:
            raise DomainError(f"author must be one of {', '.join(sorted(AUTHORS))}")
        if new.kind not in KINDS:
            raise DomainError(f"kind must be one of {', '.join(sorted(KINDS))}")
        after = _AfterCommit()
        try:
            async with self.db.transaction() as tx:
                session, message = await self._append(tx, workspace_id, session_id, new, after)
        except IntegrityError:
            # A concurrent send with the same client_id won the race; its transaction holds the message.
            duplicate = await self.find_repeat(workspace_id, session_id, new)
            if duplicate is None:
                raise
            return duplicate
        await self._publish(after)
        return Posted(message, session, True)

    async def find_repeat(self, workspace_id: str, session_id: str, new: NewMessage) -> Posted | None:
        """The message an earlier send with the same client_id (or external_id) stored, if any."""
        if not new.client_id and not new.external_id:
            return None
        async with self.db.read() as db:
            session = await db.get(ChatSession, session_id)
            if session is None or session.workspace_id != workspace_id:
                raise NotFound(f"no session {session_id} in this workspace")
            query = select(Message).where(Message.session_id == session_id)
            if new.client_id:
                query = query.where(Message.client_id == new.client_id)
            else:
                query = query.where(Message.external_id == new.external_id)
            found = (await db.scalars(query)).first()
        return Posted(found, session, False) if found else None

    async def _append(
        self, tx: AsyncSession, workspace_id: str, session_id: str, new: NewMessage, after: _AfterCommit
    ) -> tuple[ChatSession, Message]:
        now = utcnow()
        # The increment locks the session row, so seqs are handed out one at a time and a rollback leaves no gap.
        session = (
            await tx.scalars(
                update(ChatSession)
                .where(ChatSession.id == session_id, ChatSession.workspace_id == workspace_id)
                .values(last_seq=ChatSession.last_seq + 1, updated_at=now)
                .returning(ChatSession)
                .execution_options(populate_existing=True)
            )
        ).one_or_none()
        if session is None:
            raise NotFound(f"no session {session_id} in this workspace")
        seq = session.last_seq
        message = Message(
            workspace_id=workspace_id,
            session_id=session_id,
            seq=seq,
            author=new.author,
            author_name=new.author_name,
            kind=new.kind,
            event=new.event,
            text=new.text,
            html=sanitize_rep_html(new.html),
            attachments=new.attachments,
            component=new.component,
            data=new.data,
            client_id=new.client_id,
            external_id=new.external_id,
            created_at=now,
        )
        tx.add(message)
        await tx.flush()
        view = message_view(message)
        self._timeline(tx, session, new.author, "message.created", {"seq": seq, "kind": new.kind, "event": new.event})
        after.jobs += await self._produce(
            tx, Change("message.created", workspace_id, session, view, f"{session_id}_{seq}", message=message)
        )
        event: Event = {"type": "message", "session_id": session_id, "seq": seq, "message": view}
        after.events.append((session_channel(session_id), event))
        after.events.append((workspace_channel(workspace_id), event))
        return session, message

    async def rep_reply(
        self,
        workspace_id: str,
        session_id: str,
        *,
        text: str,
        kind: str = "text",
        author_name: str | None = None,
        client_id: str | None = None,
    ) -> Posted:
        """A rep's reply (the rep takes the session from the AI or the queue first) or an internal note."""
        session = await self.get_session(workspace_id, session_id)
        new = NewMessage(author="rep", kind=kind, text=text, author_name=author_name, client_id=client_id)
        repeat = await self.find_repeat(workspace_id, session_id, new)
        if repeat is not None:
            return repeat
        state = State(session.state)
        if kind == "text" and state not in OPEN_STATES:
            raise Conflict(f"this session is {state.value}; reopen it before replying")
        if kind == "text" and state in (State.AI, State.HANDED_OFF):
            await self.transition(workspace_id, session_id, Action.REP_JOIN, actor="rep", actor_name=author_name)
        return await self.post_message(workspace_id, session_id, new)

    # -- state ------------------------------------------------------------------------------------------------

    async def transition(
        self,
        workspace_id: str,
        session_id: str,
        action: Action,
        *,
        actor: str,
        actor_name: str | None = None,
        reopen_to: State = State.AI,
        handoff: Handoff | None = None,
        detail: dict[str, Any] | None = None,
    ) -> ChatSession:
        """Move a session along the state machine, with an event message in its transcript."""
        after = _AfterCommit()
        async with self.db.transaction() as tx:
            session = await tx.get(
                ChatSession, session_id, with_for_update=self.db.dialect == "postgresql", populate_existing=True
            )
            if session is None or session.workspace_id != workspace_id:
                raise NotFound(f"no session {session_id} in this workspace")
            previous = session.state
            session.state = next_state(session.state, action, reopen_to=reopen_to).value
            now = utcnow()
            if action in (Action.RESOLVE, Action.CLOSE):
                session.ended_at = now
                if action is Action.RESOLVE:
                    session.resolved_by = {"visitor": "visitor", "ai": "ai"}.get(actor, "rep")
            elif action is Action.REOPEN:
                session.ended_at, session.resolved_by = None, None
            if action is Action.REP_JOIN and actor_name:
                session.assignee = actor_name
            if handoff is not None:
                handoff.workspace_id, handoff.session_id = workspace_id, session_id
                tx.add(handoff)
                session.summary = handoff.summary or session.summary
                session.sentiment = handoff.sentiment or session.sentiment
                session.sentiment_score = handoff.sentiment_score
                session.language = handoff.language or session.language
            await tx.flush()
            name = EVENT_OF_ACTION[action]
            event_data = {"from": previous, "to": session.state, **(detail or {})}
            if handoff is not None:
                event_data.update(reason=handoff.reason, topic=handoff.topic)
            _, _message = await self._append(
                tx,
                workspace_id,
                session_id,
                NewMessage(
                    author="system" if actor != "rep" else "rep",
                    kind="event",
                    event=name,
                    author_name=actor_name,
                    data=event_data,
                ),
                after,
            )
            session = await tx.get(ChatSession, session_id, populate_existing=True)
            assert session is not None
            self._timeline(tx, session, actor, f"session.{name}", event_data)
            after.jobs += await self._produce(
                tx,
                Change(f"session.{name}", workspace_id, session, session_view(session),
                       f"{session_id}_{session.last_seq}", previous_state=previous, detail=event_data),
            )
            after.events.append(
                (workspace_channel(workspace_id), {"type": "session", "session": session_view(session)})
            )
        await self._publish(after)
        return session

    async def add_link(
        self, workspace_id: str, session_id: str, *, integration: str, kind: str, external_id: str, url: str | None
    ) -> None:
        async with self.db.transaction() as tx:
            tx.add(
                ExternalLink(
                    workspace_id=workspace_id,
                    session_id=session_id,
                    integration=integration,
                    kind=kind,
                    external_id=external_id,
                    url=url,
                )
            )
            session = await tx.get(ChatSession, session_id)
            assert session is not None
            self._timeline(tx, session, integration, "link.created", {"kind": kind, "external_id": external_id})

    # -- helpers ----------------------------------------------------------------------------------------------

    def _timeline(
        self, tx: AsyncSession, session: ChatSession, actor: str, action: str, detail: dict[str, Any]
    ) -> None:
        tx.add(
            TimelineEntry(
                workspace_id=session.workspace_id, session_id=session.id, actor=actor, action=action, detail=detail
            )
        )

    async def _produce(self, tx: AsyncSession, change: Change) -> int:
        jobs = 0
        for producer in self.producers:
            jobs += await producer(tx, change)
        return jobs

    async def _publish(self, after: _AfterCommit) -> None:
        for channel, event in after.events:
            await self.bus.publish(channel, event)
        if after.jobs:
            await notify_outbox(self.bus)


def new_device_id() -> str:
    return secrets.token_urlsafe(18)
