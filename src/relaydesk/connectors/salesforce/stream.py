"""Rep replies over Salesforce's server-sent events: one supervised consumer per active conversation.

Each handed-off conversation has a lease (`core.leases`) that names it, holds its encrypted token and the id of the
last event applied. Every process that runs workers runs one StreamService: it claims unheld leases, renews the ones
it holds and runs a consumer for each, so in a deployment of many workers exactly one holds each stream, and a
stream whose holder died is taken over when its lease expires. A consumer connects with `Last-Event-Id` (the cursor),
fills any gap from the conversation's entries, maps events to InboundEvents and applies them through the
InboundProcessor (which applies each entry id once, so a replayed or gap-filled entry changes nothing), then moves
the cursor. It reconnects with backoff when the stream drops, continues the token when it expires, and ends the
lease when the session ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx2
import structlog
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from relaydesk.connectors.base import InboundBatch, InboundEvent, SessionRef
from relaydesk.connectors.inbound import InboundProcessor
from relaydesk.connectors.salesforce.client import MiawError
from relaydesk.connectors.salesforce.connector import SalesforceConnector
from relaydesk.connectors.salesforce.vault import PREFIX, TokenVault, configure
from relaydesk.connectors.store import IntegrationStore, key_of
from relaydesk.core.conversations import session_channel
from relaydesk.core.integrations import Integration
from relaydesk.core.leases import Leases, StreamLease

if TYPE_CHECKING:
    from relaydesk.web.runtime import Runtime

log = structlog.get_logger(__name__)
Json = dict[str, Any]
REP_ROLES = ("Agent", "Supervisor", "Chatbot")


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """One server-sent event as read off the wire."""

    id: str | None
    name: str
    data: str


async def server_events(lines: AsyncIterator[str]) -> AsyncIterator[ServerEvent]:
    """Server-sent events from a stream of lines (comments and keepalive pings included as they come)."""
    fields: dict[str, list[str]] = {}
    async for line in lines:
        if line:
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))
            continue
        if fields:
            ids = fields.get("id")
            yield ServerEvent(ids[-1] if ids else None, (fields.get("event") or ["message"])[-1],
                              "\n".join(fields.get("data") or []))
        fields = {}


@dataclass
class Mapped:
    """What one conversation entry means to relaydesk."""

    events: list[InboundEvent] = field(default_factory=list)
    typing: str | None = None  # the rep's display name, when they started typing
    session_record: str | None = None  # the MessagingSession id Omni-Channel routed
    ended: bool = False


def map_entry(entry: Json, session_id: str) -> Mapped:
    """A conversation entry (from the stream or the entries API) as inbound events for the session."""
    payload = entry.get("entryPayload") or {}
    if isinstance(payload, str):
        payload = json.loads(payload or "{}")
    kind = str(entry.get("entryType") or payload.get("entryType") or "")
    role = str((entry.get("sender") or {}).get("role") or "")
    name = entry.get("senderDisplayName") or None
    event_id = str(entry.get("identifier") or "")
    ref = SessionRef(session_id=session_id)
    found = Mapped()
    if kind == "Message" and role in REP_ROLES:
        text = _message_text(payload)
        found.events.append(InboundEvent(event_id, "rep_message", ref, text=text, author_name=name,
                                         external_message_id=event_id))
    elif kind == "ParticipantChanged":
        for change in payload.get("entries") or []:
            participant = change.get("participant") or {}
            if change.get("operation") == "add" and participant.get("role") in REP_ROLES:
                found.events.append(InboundEvent(f"{event_id}:{participant.get('subject')}", "assigned", ref,
                                                 author_name=change.get("displayName")))
    elif kind == "SessionStatusChanged" and payload.get("sessionStatus") == "Ended":
        found.events.append(InboundEvent(event_id, "resolved", ref, author_name=name))
        found.ended = True
    elif kind == "CloseConversation":
        found.events.append(InboundEvent(event_id, "resolved", ref))
        found.ended = True
    elif kind == "RoutingResult":
        found.session_record = str(payload.get("recordId") or "") or None
        if payload.get("failureType") not in (None, "None"):
            found.events.append(InboundEvent(event_id, "rep_note", ref, text=(
                f"Salesforce could not route the conversation ({payload.get('failureType')}: "
                f"{payload.get('failureReason') or 'no reason given'}); check the Omni-Channel flow of the "
                "deployment")))
    elif kind == "TypingStartedIndicator" and role in REP_ROLES:
        found.typing = name or "A rep"
    return found


def _message_text(payload: Json) -> str:
    content = (payload.get("abstractMessage") or {}).get("staticContent") or {}
    text = str(content.get("text") or "")
    files = [f"{a.get('name') or 'file'}: {a.get('url')}" for a in content.get("attachments") or [] if a.get("url")]
    return "\n".join(part for part in (text, *files) if part)


class StreamService:
    """The per-process supervisor of the Salesforce event streams this process holds."""

    def __init__(self, runtime: Runtime, *, poll_s: float = 0.25, ttl_s: float = 15.0, max_streams: int = 500,
                 holder: str | None = None) -> None:
        self.runtime = runtime
        self.leases = Leases(runtime.db)
        self.vault = TokenVault(self.leases, runtime.box)
        self.store = IntegrationStore(runtime.db, runtime.box, runtime.settings.public_url)
        self.inbound = InboundProcessor(runtime.db, runtime.conversations)
        self.poll_s = poll_s
        self.ttl_s = ttl_s
        self.max_streams = max_streams
        self.holder = holder or f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.tasks: dict[str, asyncio.Task[None]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Claim, renew and supervise streams until `stop` is set; then let the leases go for others."""
        renewed_at = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                try:
                    if loop.time() - renewed_at > self.ttl_s / 3:
                        await self._renew()
                        renewed_at = loop.time()
                    await self._claim()
                except SQLAlchemyError as exc:
                    log.warning("salesforce.streams.db_error", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_s)
        finally:
            await self._let_go()

    async def _renew(self) -> None:
        held = await self.leases.renew(list(self.tasks), self.holder, ttl_s=self.ttl_s)
        for name in [n for n in self.tasks if n not in held]:
            self.tasks.pop(name).cancel()

    async def _claim(self) -> None:
        for name in [n for n, task in self.tasks.items() if task.done()]:
            del self.tasks[name]
        room = self.max_streams - len(self.tasks)
        if room <= 0:
            return
        for lease in await self.leases.claim(PREFIX, self.holder, ttl_s=self.ttl_s, limit=room):
            if lease.name not in self.tasks:
                self.tasks[lease.name] = asyncio.create_task(self._consume(lease), name=f"stream {lease.name}")

    async def _let_go(self) -> None:
        tasks = list(self.tasks.items())
        for _, task in tasks:
            task.cancel()
        for name, task in tasks:
            with contextlib.suppress(BaseException):
                await task
            with contextlib.suppress(SQLAlchemyError):
                await self.leases.release(name, self.holder)
        self.tasks.clear()

    async def _consume(self, lease: StreamLease) -> None:
        consumer = await self._consumer(lease)
        if consumer is None:
            await self.leases.end(lease.name)
            return
        try:
            await consumer.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("salesforce.stream.failed", lease=lease.name)

    async def _consumer(self, lease: StreamLease) -> Consumer | None:
        integration = await self.store.by_id(str(lease.data.get("integration_id")))
        if integration is None or integration.connector != SalesforceConnector.name:
            return None
        connector = self.store.connector(integration, self.runtime.http)
        assert isinstance(connector, SalesforceConnector)
        return Consumer(self, lease, integration, connector)


class LeaseLost(Exception):
    """Another process holds the stream now."""


class Consumer:
    """One conversation's stream, held under its lease."""

    def __init__(self, service: StreamService, lease: StreamLease, integration: Integration,
                 connector: SalesforceConnector) -> None:
        self.service = service
        self.name = lease.name
        self.cursor = lease.cursor or "0"
        self.integration = integration
        self.connector = connector
        self.session_id = str(lease.data["session_id"])
        self.conversation_id = str(lease.data["conversation_id"])
        self.verified_subject: str | None = lease.data.get("verified_subject")
        self.linked_record = False

    async def run(self) -> None:
        """Connect, fill the gap, apply events; reconnect with backoff until the session ends."""
        delay, force_renew = 0.2, False
        while True:
            try:
                if await self._connect_once(force_renew):
                    await self.service.vault.end(self.name)
                    return
                delay, force_renew = 0.2, False
            except LeaseLost:
                return
            except MiawError as exc:
                log.info("salesforce.stream.refused", lease=self.name, error=str(exc))
                force_renew = exc.status == 401
            except httpx2.HTTPError as exc:
                log.info("salesforce.stream.dropped", lease=self.name, error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _connect_once(self, force_renew: bool) -> bool:
        """One connection: True when the session ended, False when the stream closed and should be reopened."""
        token = await self.connector.token_for(self.name, self.verified_subject, force=force_renew)
        client = self.connector.client
        request = client.stream_request(token, self.cursor)
        response = await client.http.send(request, stream=True)
        try:
            if response.status_code != 200:
                body = (await response.aread())[:300].decode(errors="replace")
                raise MiawError("open the event stream", response.status_code, body)
            entries = await client.entries(token.token, self.conversation_id, limit=50)
            if await self._apply([map_entry(entry, self.session_id) for entry in entries]):
                return True
            async for event in server_events(response.aiter_lines()):
                if await self._on_event(event):
                    return True
            return False
        finally:
            await response.aclose()

    async def _on_event(self, event: ServerEvent) -> bool:
        ended = False
        if event.name.startswith("CONVERSATION_") and event.data:
            data = json.loads(event.data)
            if data.get("conversationId") == self.conversation_id:
                ended = await self._apply([map_entry(data.get("conversationEntry") or {}, self.session_id)])
        if event.id:
            self.cursor = event.id
            if not await self.service.leases.advance(self.name, self.service.holder, event.id):
                raise LeaseLost(self.name)
        return ended

    async def _apply(self, found: list[Mapped]) -> bool:
        runtime = self.service.runtime
        events = [e for m in found for e in m.events]
        if events:
            await self.service.inbound.apply(self.integration, InboundBatch(events))
        for mapped in found:
            if mapped.typing:
                await runtime.conversations.bus.publish(session_channel(self.session_id), {
                    "type": "typing", "author": "rep", "name": mapped.typing, "session_id": self.session_id})
            if mapped.session_record and not self.linked_record:
                await self._link(mapped.session_record)
        return any(m.ended for m in found)

    async def _link(self, record_id: str) -> None:
        """Link the MessagingSession record Omni-Channel created, so the dashboard opens it in Salesforce."""
        self.linked_record = True
        url = f"{self.connector.settings.instance_url}/lightning/r/MessagingSession/{record_id}/view"
        with contextlib.suppress(IntegrityError):
            await self.service.runtime.conversations.add_link(
                self.integration.workspace_id, self.session_id, integration=key_of(self.integration),
                kind="messaging_session", external_id=record_id, url=url)


async def install(runtime: Runtime) -> None:
    """Give the process its token vault and, wherever workers run, the stream supervisor."""
    service = StreamService(runtime)
    configure(service.vault)
    runtime.add_service("salesforce-streams", service.run)
