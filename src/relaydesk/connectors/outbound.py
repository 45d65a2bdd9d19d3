"""From core changes to connector jobs (the producer), and from jobs to connector calls (the delivery handler).

Jobs go to the workspace's handoff-target integration and are ordered per (integration, session) by the outbox.
A session whose channel is a helpdesk (a hosted channel, e.g. Intercom) has that helpdesk's integration as its only
target instead, which also receives the AI's answers while the AI owns the session. An integration whose settings
ask to follow every conversation (FOLLOW_SETTING) gets the same for widget sessions: their messages and state changes
from the first message on, not only after a handoff.
Changes that came from the helpdesk itself carry its name as their origin and are not sent back to it.
"""

from __future__ import annotations

from typing import Any

import httpx2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.connectors.base import ORIGIN, TranscriptMessage
from relaydesk.connectors.registry import CONNECTORS
from relaydesk.connectors.store import SENDING_STATUSES, IntegrationStore, handoff_target, key_of
from relaydesk.core import outbox
from relaydesk.core.conversations import Conversations
from relaydesk.core.delivery import DeliveryError, DeliveryResult
from relaydesk.core.integrations import Integration
from relaydesk.core.producers import Change

START_HANDOFF = "connector.start_handoff"
SEND_MESSAGE = "connector.send_message"
ACKNOWLEDGE = "connector.acknowledge"
RESOLVE = "connector.resolve"
CLOSE = "connector.close"
HAND_BACK = "connector.hand_back"
KINDS = (START_HANDOFF, SEND_MESSAGE, ACKNOWLEDGE, RESOLVE, CLOSE, HAND_BACK)

WITH_A_REP = ("handed_off", "human")
OPEN = ("ai", *WITH_A_REP)
STATE_JOBS = {"session.resolved": RESOLVE, "session.closed": CLOSE, "session.handed_back": HAND_BACK}
FOLLOW_SETTING = "follow_every_conversation"  # a connector setting; true: follow sessions the AI still holds


def follows_every_conversation(integration: Integration) -> bool:
    """Whether the integration asked for every conversation, not only the handed-off ones."""
    return bool((integration.settings or {}).get(FOLLOW_SETTING))


def _job_for(change: Change, key: str, hosted: bool) -> tuple[str, dict[str, Any]] | None:
    """The job a change asks of the integration named `key`, if any; `hosted`: it follows the session while the AI
    holds it too (the session's channel, or an integration that follows every conversation)."""
    if change.type == "session.handed_off":
        return START_HANDOFF, {}
    if change.type == "message.created" and change.message is not None:
        message = change.message
        origin = (message.data or {}).get(ORIGIN)
        if message.author == "rep" and origin == key and message.data.get("external_message_id"):
            return ACKNOWLEDGE, {"external_message_id": message.data["external_message_id"]}
        sendable = message.author in ("visitor", "ai") and message.kind == "text" and origin != key
        states = OPEN if hosted else WITH_A_REP
        return (SEND_MESSAGE, {"seq": message.seq}) if sendable and change.session.state in states else None
    kind = STATE_JOBS.get(change.type)
    engaged = OPEN if hosted else WITH_A_REP
    if kind is None or change.detail.get(ORIGIN) == key or change.previous_state not in engaged:
        return None
    return kind, {}


async def _channel_integration(tx: AsyncSession, workspace_id: str, connector: str) -> Integration | None:
    """The workspace's integration with the helpdesk that hosts a session's channel."""
    query = select(Integration).where(Integration.workspace_id == workspace_id, Integration.connector == connector,
                                      Integration.status.in_(SENDING_STATUSES))
    return (await tx.scalars(query.limit(1))).first()


async def produce(tx: AsyncSession, change: Change) -> int:
    """The outbox producer: a job for the session's helpdesk when a change concerns it."""
    hosted = change.session.channel in CONNECTORS
    if change.type not in ("session.handed_off", "message.created", *STATE_JOBS):
        return 0
    message = change.message
    if change.type == "message.created" and change.session.state not in WITH_A_REP and not hosted and (
            message is None or message.author not in ("visitor", "ai") or message.kind != "text"):
        return 0  # nothing a follower of AI conversations gets: no query
    integration = await (_channel_integration(tx, change.workspace_id, change.session.channel) if hosted
                         else handoff_target(tx, change.workspace_id))
    if integration is None:
        return 0
    found = _job_for(change, key_of(integration), hosted or follows_every_conversation(integration))
    if found is None:
        return 0
    kind, payload = found
    outbox.enqueue(
        tx,
        workspace_id=change.workspace_id,
        session_id=change.session.id,
        target=f"integration:{integration.id}",
        kind=kind,
        payload={"integration_id": integration.id, **payload},
        idempotency_key=f"{kind}:{integration.id[:12]}:{change.key}",
    )
    return 1


class ConnectorJobs:
    """The delivery handler for every connector job kind: loads the integration and the session, calls the connector."""

    def __init__(self, store: IntegrationStore, conversations: Conversations, http: httpx2.AsyncClient) -> None:
        self.store = store
        self.conversations = conversations
        self.http = http

    async def __call__(self, job: outbox.Job) -> DeliveryResult:
        integration = await self.store.by_id(str(job.payload["integration_id"]))
        if integration is None:
            raise DeliveryError("the integration was removed; nothing to deliver to", permanent=True)
        if job.session_id is None:
            raise DeliveryError("a connector job needs a session", permanent=True)
        connector = self.store.connector(integration, self.http)
        snapshot = await self.store.snapshot(self.conversations, job.workspace_id, job.session_id)
        trace = await self.store.trace(self.conversations, snapshot, key_of(integration), job.idempotency_key)
        if job.kind == START_HANDOFF:
            transcript = await self._transcript(job.workspace_id, job.session_id)
            await connector.start_handoff(snapshot, transcript, trace)
        elif job.kind == SEND_MESSAGE:
            message = await self._message(job.workspace_id, job.session_id, int(job.payload["seq"]))
            if message.text.strip():
                send = connector.send_visitor_message if message.author == "visitor" else connector.send_ai_message
                await send(snapshot, message, trace)
            for index, attachment in enumerate(message.attachments):
                await connector.send_attachment(snapshot, message, attachment, index, trace)
        elif job.kind == ACKNOWLEDGE:
            await connector.acknowledge(snapshot, str(job.payload["external_message_id"]), trace)
        elif job.kind == RESOLVE:
            await connector.resolve(snapshot, trace)
        elif job.kind == CLOSE:
            await connector.close(snapshot, trace)
        elif job.kind == HAND_BACK:
            await connector.hand_back(snapshot, trace)
        else:
            raise DeliveryError(f"unknown connector job {job.kind}", permanent=True)
        return DeliveryResult({"integration": integration.connector,
                               "links": {kind: ref.external_id for kind, ref in trace.links.items()}})

    async def _transcript(self, workspace_id: str, session_id: str) -> list[TranscriptMessage]:
        """What the visitor and the AI said so far, in order (notes and events stay out)."""
        transcript: list[TranscriptMessage] = []
        after = 0
        while True:
            batch = await self.conversations.messages_after(workspace_id, session_id, after)
            if not batch:
                return transcript
            transcript.extend(TranscriptMessage.of(m) for m in batch
                              if m.author in ("visitor", "ai") and m.kind == "text")
            after = batch[-1].seq

    async def _message(self, workspace_id: str, session_id: str, seq: int) -> TranscriptMessage:
        found = await self.conversations.messages_after(workspace_id, session_id, seq - 1, limit=1)
        if not found or found[0].seq != seq:
            raise DeliveryError(f"message {seq} of the session no longer exists", permanent=True)
        return TranscriptMessage.of(found[0])
