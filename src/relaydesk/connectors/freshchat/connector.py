"""The Freshchat connector: the AI answers inside Freshchat as a designated agent, and hands off to the team there.

Hosted channel: a customer's message in Freshchat opens (or continues) the relaydesk session linked to that
conversation (channel "freshchat") when the AI may take it: the conversation is assigned to the default agent, or,
in auto-handle mode, assigned to nobody, in which case the AI claims it before its first reply. The AI's answers go
back as that agent's messages. On handoff the agent leaves a private note (reason, summary, sentiment, link to the
session) and unassigns the conversation, back to the queue; when the AI resolves, a private resolution note goes
first and the conversation is set resolved.
Handoff target: a widget session handed off to Freshchat becomes a conversation of the visitor's Freshchat user in
the chosen topic, opened by the handoff note and followed by the transcript.
Freshchat has no idempotency keys, so every write first reads the conversation and skips what is already there.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any, ClassVar, TypeVar, cast

from pydantic import BaseModel

from relaydesk.connectors.base import (
    HANDOFF_REASONS,
    CheckFailed,
    CheckReport,
    ConnectorContext,
    ContactInfo,
    InboundBatch,
    InboundEvent,
    SessionRef,
    SessionSnapshot,
    SessionTrace,
    TranscriptAttachment,
    TranscriptMessage,
    WebhookRequest,
)
from relaydesk.connectors.freshchat import webhooks
from relaydesk.connectors.freshchat.client import FreshchatClient, FreshchatError, Json
from relaydesk.connectors.freshchat.settings import FreshchatSettings
from relaydesk.core.delivery import DeliveryError
from relaydesk.core.errors import DomainError

CHANNEL = "freshchat"
T = TypeVar("T")
RECENT_CONVERSATIONS = 5  # how many of a user's conversations are searched for an earlier handoff attempt


class FreshchatUnavailable(DomainError):
    """Freshchat did not answer while a webhook was read: 503, so Freshchat delivers it again."""

    status = 503
    code = "helpdesk_unavailable"


class FreshchatConnector:
    """Freshchat as a hosted channel and a handoff target."""

    name: ClassVar[str] = CHANNEL
    title: ClassVar[str] = "Freshchat"
    settings_model: ClassVar[type[BaseModel]] = FreshchatSettings

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context
        self.settings = cast(FreshchatSettings, context.settings)
        self.client = FreshchatClient(context.http, self.settings.api, self.settings.api_token.get_secret_value())
        self._agent_id = self.settings.default_agent_id

    # check and activate ------------------------------------------------------------------------------------------

    async def check(self) -> CheckReport:
        """The webhook key, the domain and token (listing agents), the default agent and the topic."""
        s = self.settings
        try:
            webhooks.load_public_key(s.webhook_public_key)
        except ValueError as exc:
            raise CheckFailed(str(exc), setting="webhook_public_key") from exc
        agent = await self._default_agent()
        if s.channel_id:
            channels = await self._checked(self.client.channels())
            if s.channel_id not in {str(c.get("id")) for c in channels}:
                names = ", ".join(f"{c.get('id')} ({c.get('name')})" for c in channels) or "none"
                raise CheckFailed(f"No topic {s.channel_id} in this Freshchat account; topics: {names}",
                                  setting="channel_id")
        mode = "claims every unassigned chat" if s.mode == "auto_handle" else "answers chats assigned to it"
        name = _agent_name(agent)
        return CheckReport(f"Connected to {s.domain}; the AI replies as {name} and {mode}",
                           {"domain": s.domain, "agent": name, "agent_id": agent.get("id"), "mode": s.mode})

    async def _checked(self, call: Awaitable[T]) -> T:
        """A call made while checking settings: a refusal names the setting to fix."""
        s = self.settings
        try:
            return await call
        except FreshchatError as exc:
            if exc.status in (401, 403):
                raise CheckFailed(f"Failed to verify credentials: Freshchat refused the API token at {s.domain} "
                                  f"({exc.message}); generate it again in Admin Settings, Integrations & APIs",
                                  setting="api_token") from exc
            if exc.status in (0, 404):
                raise CheckFailed(f"Freshchat cannot be reached at {s.api}: {exc.message}; check the domain",
                                  setting="domain") from exc
            raise CheckFailed(f"Freshchat refused the check: {exc}") from exc

    async def _default_agent(self) -> Json:
        """The agent whose email is the default agent email."""
        email = self.settings.default_agent_email
        agents = await self._checked(self.client.agents())
        found = next((a for a in agents if str(a.get("email") or "").lower() == email), None)
        if found is None:
            known = ", ".join(str(a.get("email")) for a in agents[:20]) or "none"
            raise CheckFailed(f"No agent with the email {email} in {self.settings.domain}; create it first, or "
                              f"pick one of: {known}", setting="default_agent_email")
        return dict(found)

    def authorize_url(self, redirect_uri: str, state: str) -> str | None:
        return None  # an API token from Admin Settings, no OAuth step

    async def authorize(self, code: str, redirect_uri: str) -> None:
        raise CheckFailed("Freshchat connects with an API token; there is no authorization step")

    async def activate(self) -> dict[str, Any]:
        """Keep the default agent's id; the webhook is registered in Freshchat's Admin Settings."""
        return {"default_agent_id": str((await self._default_agent())["id"])}

    async def agent_id(self) -> str:
        """The AI's agent id: kept since activation, else looked up by its email."""
        if self._agent_id is None:
            try:
                self._agent_id = str((await self._default_agent())["id"])
            except CheckFailed as exc:
                raise DeliveryError(f"the default agent cannot be found: {exc.reason}") from exc
        return self._agent_id

    # outbound ----------------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _delivering(self) -> AsyncIterator[None]:
        """Freshchat errors as delivery outcomes: retry what may pass later; flag the integration when access fails."""
        try:
            yield
        except FreshchatError as exc:
            if exc.retryable:
                raise DeliveryError(str(exc), retry_after_s=exc.retry_after_s) from exc
            if exc.status in (401, 403):
                await self.context.report_problem(f"Freshchat refused the API token (rotated or revoked?): "
                                                  f"{exc.message}; save a new one in Settings, Integrations")
            raise DeliveryError(str(exc), permanent=True) from exc

    def _hosted(self, session: SessionSnapshot) -> bool:
        return session.session.channel == CHANNEL

    def _conversation(self, trace: SessionTrace) -> str:
        found = trace.get("conversation")
        if found is None:
            raise DeliveryError("the Freshchat conversation of this session does not exist yet: the handoff has "
                                "not been delivered (see the handoff delivery for its error)")
        return found.external_id

    async def _post(self, conversation_id: str, text: str, *, actor: tuple[str, str], private: bool = False) -> None:
        """Post a message unless a retried job already did: the same text by the same author since anyone else
        last spoke (Freshchat lists messages newest first)."""
        kind = "private" if private else "normal"
        async with contextlib.aclosing(self.client.newest_messages(conversation_id)) as messages:
            async for message in messages:
                mine = (message.get("actor_type"), str(message.get("actor_id"))) == actor
                if mine and message.get("message_type") == kind and webhooks.text_of(message) == text.strip():
                    return
                if not mine and message.get("message_type") == "normal":
                    break
        await self.client.post_message(conversation_id, _message(actor, text, kind),
                                       "post private note" if private else f"post {actor[0]} message")

    async def _as_agent(self) -> tuple[str, str]:
        return "agent", await self.agent_id()

    async def send_ai_message(self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace) -> None:
        async with self._delivering():
            conversation_id = self._conversation(trace)
            if self._hosted(session):
                await self._claim(conversation_id)
            await self._post(conversation_id, message.text, actor=await self._as_agent())

    async def _claim(self, conversation_id: str) -> None:
        """Make sure the AI may answer: its agent holds the conversation, or claims it when nobody does (auto-handle
        mode). A conversation a rep holds, or (assigned-only) routing never gave the AI, gets no AI message."""
        agent_id = await self.agent_id()
        assigned = str((await self.client.conversation(conversation_id)).get("assigned_agent_id") or "")
        if assigned == agent_id:
            return
        if assigned or self.settings.mode != "auto_handle":
            holder = f"agent {assigned}" if assigned else "nobody (assigned-only mode)"
            raise DeliveryError(f"the AI's reply was not sent: conversation {conversation_id} is assigned to "
                                f"{holder}, not to the default agent", permanent=True)
        await self.client.update_conversation(conversation_id, {"status": "assigned", "assigned_agent_id": agent_id},
                                              "claim conversation for the AI")

    async def send_visitor_message(
        self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace
    ) -> None:
        async with self._delivering():
            conversation_id, user_id = self._conversation(trace), await self._user(session, trace)
            await self._post(conversation_id, message.text, actor=("user", user_id))

    async def send_attachment(
        self,
        session: SessionSnapshot,
        message: TranscriptMessage,
        attachment: TranscriptAttachment,
        index: int,
        trace: SessionTrace,
    ) -> None:
        line = f"[Attachment: {attachment.name} {attachment.url}]"
        await (self.send_visitor_message if message.author == "visitor" else self.send_ai_message)(
            session, TranscriptMessage(message.seq, message.author, message.author_name, line, message.created_at),
            trace)

    async def acknowledge(self, session: SessionSnapshot, external_message_id: str, trace: SessionTrace) -> None:
        """Freshchat keeps no delivery receipts for agents' messages: nothing to report."""

    async def start_handoff(
        self, session: SessionSnapshot, transcript: list[TranscriptMessage], trace: SessionTrace
    ) -> None:
        async with self._delivering():
            if not self._hosted(session):
                await self._open_for_widget(session, transcript, trace)
                return
            conversation_id = self._conversation(trace)
            await self._post(conversation_id, handoff_note(session), actor=await self._as_agent(), private=True)
            current = await self.client.conversation(conversation_id)
            if current.get("assigned_agent_id") == await self.agent_id():
                await self.client.update_conversation(conversation_id, {"status": "new", "assigned_agent_id": ""},
                                                      "unassign conversation")

    async def _open_for_widget(
        self, session: SessionSnapshot, transcript: list[TranscriptMessage], trace: SessionTrace
    ) -> None:
        """The visitor's conversation in Freshchat: created once with the handoff note, then the transcript turns
        not yet posted."""
        user_id, agent = await self._user(session, trace), await self._as_agent()
        found = trace.get("conversation")
        if found is None:
            conversation_id = await self._earlier_attempt(user_id, session) or await self._create(session, user_id)
            found = await trace.add("conversation", conversation_id, self.settings.conversation_url(conversation_id))
        authors = {("user", user_id), agent}
        posted = sum(1 for m in await self.client.messages(found.external_id) if m.get("message_type") == "normal"
                     and (m.get("actor_type"), str(m.get("actor_id"))) in authors)
        for message in [m for m in transcript if m.text.strip()][posted:]:
            actor = ("user", user_id) if message.author == "visitor" else agent
            await self.client.post_message(found.external_id, _message(actor, message.text, "normal"),
                                           f"post {actor[0]} transcript message")

    async def _create(self, session: SessionSnapshot, user_id: str) -> str:
        channel_id = self.settings.channel_id or str((await self.client.channels())[0]["id"])
        created = await self.client.create_conversation({
            "channel_id": channel_id, "users": [{"id": user_id}],
            "messages": [{**_message(await self._as_agent(), handoff_note(session), "private"),
                          "channel_id": channel_id}],
        })
        return str(created["conversation_id"])

    async def _earlier_attempt(self, user_id: str, session: SessionSnapshot) -> str | None:
        """A conversation an interrupted earlier attempt created: one of the user's recent ones whose handoff note
        links this session."""
        conversations = await self.client.user_conversations(user_id)
        for conversation in conversations[-RECENT_CONVERSATIONS:]:
            conversation_id = str(conversation.get("id") or conversation.get("conversation_id"))
            for message in await self.client.messages(conversation_id):
                if message.get("message_type") == "private" and session.url in webhooks.text_of(message):
                    return conversation_id
        return None

    async def _user(self, session: SessionSnapshot, trace: SessionTrace) -> str:
        """The visitor's Freshchat user: found by our reference, else by verified email, else created."""
        if trace.contact_external_id:
            return trace.contact_external_id
        contact = session.contact
        reference = f"relaydesk-{contact.id}"
        found = await self.client.find_user("reference_id", reference)
        email = contact.email if contact.verified and contact.email else None
        if found is None and email:
            # A self-declared email is not proof: only a verified one may attach the chat to an existing user.
            found = await self.client.find_user("email", email)
        if found is None:
            found = await self.client.create_user({"first_name": session.visitor_name, "reference_id": reference,
                                                   **({"email": email} if email else {})})
        await trace.remember_contact(str(found["id"]))
        return str(found["id"])

    async def resolve(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._end(session, trace, note=True)

    async def close(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._end(session, trace, note=False)

    async def _end(self, session: SessionSnapshot, trace: SessionTrace, *, note: bool) -> None:
        """Resolve the conversation unless it is resolved already (Freshchat may be where it was resolved)."""
        found = trace.get("conversation")
        if found is None:
            return
        async with self._delivering():
            if (await self.client.conversation(found.external_id)).get("status") == "resolved":
                return
            if note:
                await self._post(found.external_id, resolution_note(session), actor=await self._as_agent(),
                                 private=True)
            await self.client.update_conversation(found.external_id, {"status": "resolved"}, "resolve conversation")

    async def hand_back(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        """A hosted conversation goes back to the AI's agent; a widget handoff's conversation is resolved."""
        found = trace.get("conversation")
        if found is None:
            return
        if not self._hosted(session):
            await self._end(session, trace, note=False)
            return
        async with self._delivering():
            await self.client.update_conversation(
                found.external_id, {"status": "assigned", "assigned_agent_id": await self.agent_id()},
                "assign conversation back to the AI")

    # inbound -----------------------------------------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> InboundBatch:
        webhooks.verify(self.settings.webhook_public_key, request)
        scope = webhooks.Scope(await self._reading(self.agent_id()), self.settings.conversation_url)
        parsed = webhooks.parse(request.body, scope)
        if isinstance(parsed, InboundBatch):
            return parsed
        return await self._reading(self._customer_message(parsed))

    async def _reading(self, call: Awaitable[T]) -> T:
        """An API read made while handling a webhook: Freshchat's failure answers 503 (it delivers again)."""
        try:
            return await call
        except (FreshchatError, DeliveryError) as exc:
            if isinstance(exc, FreshchatError) and exc.status in (401, 403):
                await self.context.report_problem(f"Freshchat refused the API token while reading a webhook: "
                                                  f"{exc.message}; save a new one in Settings, Integrations")
            raise FreshchatUnavailable(f"Freshchat could not be read for this webhook: {exc}") from exc

    async def _customer_message(self, message: webhooks.CustomerMessage) -> InboundBatch:
        """The customer's message, with who they are; it opens a session only when the AI may take the chat."""
        try:
            conversation = await self.client.conversation(message.conversation_id)
            user = await self.client.user(message.user_id)
        except FreshchatError as exc:
            if exc.status == 404:
                return InboundBatch(ignored=[f"{message.event_id}: {exc.message}"])
            raise
        assigned = str(conversation.get("assigned_agent_id") or "")
        takes = assigned == await self.agent_id() or (not assigned and self.settings.mode == "auto_handle")
        name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip() or None
        attributes = {str(p.get("name")): p.get("value") for p in user.get("properties") or [] if p.get("name")}
        contact = ContactInfo(str(user.get("id") or message.user_id), email=user.get("email") or None, name=name,
                              attributes=attributes)
        ref = SessionRef(link_kind="conversation", external_id=message.conversation_id,
                                  url=self.settings.conversation_url(message.conversation_id))
        return InboundBatch(events=[InboundEvent(message.event_id, "customer_message", ref, text=message.text,
                                                 author_name=name, contact=contact, opens_session=takes)])


def _message(actor: tuple[str, str], text: str, kind: str) -> Json:
    """A message body as Freshchat takes it: one text part, by a user or an agent, normal or private."""
    body: Json = {"actor_type": actor[0], "actor_id": actor[1], "message_type": kind,
                  "message_parts": [{"text": {"content": text}}]}
    if actor[0] == "user":
        body["user_id"] = actor[1]
    return body


def _agent_name(agent: Json) -> str:
    return " ".join(str(agent.get(k) or "") for k in ("first_name", "last_name")).strip() or str(agent.get("email"))


def _sentiment(session: SessionSnapshot) -> str:
    chat = session.session
    sentiment = chat.sentiment or "not analysed"
    return sentiment + (f" ({chat.sentiment_score:+.2f})" if chat.sentiment_score is not None else "")


def _note(title: str, lines: list[tuple[str, str]]) -> str:
    return "\n".join([title, *(f"{label}: {value}" for label, value in lines)])


def handoff_note(session: SessionSnapshot) -> str:
    """The private handoff note: reason, summary, sentiment, language, visitor, link back to the session."""
    handoff, chat = session.handoff, session.session
    reason = HANDOFF_REASONS.get(handoff.reason, handoff.reason) if handoff else "handed off"
    if handoff and handoff.topic:
        reason += f" (topic: {handoff.topic})"
    summary = chat.summary or (handoff.summary if handoff else None) or "no summary"
    return _note(f"{webhooks.HANDOFF_MARKER}: the AI stopped answering", [
        ("Reason", reason), ("Summary", summary), ("Sentiment", _sentiment(session)),
        ("Language", chat.language or "unknown"), ("Visitor", session.visitor_name), ("Session", session.url)])


def resolution_note(session: SessionSnapshot) -> str:
    """The private resolution note: who resolved, summary, sentiment, link back to the session."""
    chat = session.session
    by = {"ai": "the AI", "visitor": "the customer"}.get(chat.resolved_by or "", "a rep in relaydesk")
    return _note(f"{webhooks.RESOLUTION_MARKER}: resolved by {by}", [
        ("Summary", chat.summary or "no summary"), ("Sentiment", _sentiment(session)), ("Session", session.url)])
