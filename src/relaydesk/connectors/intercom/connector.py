"""The Intercom connector: the AI answers inside Intercom as a designated admin, and hands off to the team there.

Hosted channel: a customer's message in Intercom opens (or continues) the relaydesk session linked to that
conversation (channel "intercom"); the AI's answers go back as comments from the AI admin. On handoff the AI admin
posts an internal note (reason, summary, sentiment, language), tags the conversation and assigns it as configured.
Handoff target: a widget session handed off to Intercom becomes a conversation of the visitor's contact, opened by a
marker line and followed by the transcript (visitor turns as the contact's replies, AI turns as the AI admin's).
Intercom has no idempotency keys, so every write first reads the conversation and skips what is already there.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from html import escape
from typing import Any, ClassVar, cast

from pydantic import BaseModel

from relaydesk.connectors.base import (
    HANDOFF_REASONS,
    CheckFailed,
    CheckReport,
    ConnectorContext,
    InboundBatch,
    SessionSnapshot,
    SessionTrace,
    TranscriptAttachment,
    TranscriptMessage,
    WebhookRequest,
)
from relaydesk.connectors.intercom import webhooks
from relaydesk.connectors.intercom.client import IntercomClient, IntercomError, Json
from relaydesk.connectors.intercom.settings import IntercomSettings
from relaydesk.core.delivery import DeliveryError

CHANNEL = "intercom"


class IntercomConnector:
    """Intercom as a hosted channel and a handoff target."""

    name: ClassVar[str] = CHANNEL
    title: ClassVar[str] = "Intercom"
    settings_model: ClassVar[type[BaseModel]] = IntercomSettings

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context
        self.settings = cast(IntercomSettings, context.settings)
        token = self.settings.access_token.get_secret_value()
        self.client = IntercomClient(context.http, self.settings.api, token, limit_key=context.integration_id)

    # check and activate ------------------------------------------------------------------------------------------

    async def check(self) -> CheckReport:
        """The token (GET /me), its region, the AI admin and the assignee, before anything is saved."""
        s = self.settings
        try:
            me = await self.client.me()
        except IntercomError as exc:
            if exc.status == 401:
                raise CheckFailed("Failed to verify credentials: Intercom refused the access token "
                                  f"at {s.api} ({exc.message}); copy it again from the Developer Hub, or check "
                                  "the region", setting="access_token") from exc
            raise CheckFailed(f"Intercom cannot be reached at {s.api}: {exc.message}", setting="api_base_url") from exc
        app = me.get("app") or {}
        region = str(app.get("region") or s.region)
        if region != s.region:
            raise CheckFailed(f"The workspace {app.get('name')} is in the {region} region, not {s.region}",
                              setting="region")
        try:
            admins = {str(a.get("id")): a for a in await self.client.admins()}
            teams = {str(t.get("id")): t for t in await self.client.teams()}
        except IntercomError as exc:
            raise CheckFailed(f"Intercom refused to list admins and teams: {exc}") from exc
        choices = ", ".join(f"{k} ({v.get('name')})" for k, v in admins.items())
        if s.ai_admin_id not in admins:
            raise CheckFailed(f"No admin {s.ai_admin_id} in workspace {app.get('name')}; admins: {choices}",
                              setting="ai_admin_id")
        if s.assignment == "admin" and (s.assignee_admin_id or "") not in admins:
            raise CheckFailed(f"Assign to admin needs an admin ID of this workspace; admins: {choices}",
                              setting="assignee_admin_id")
        if s.assignment == "team" and (s.assignee_team_id or "") not in teams:
            names = ", ".join(f"{k} ({v.get('name')})" for k, v in teams.items()) or "none"
            raise CheckFailed(f"Assign to team needs a team ID of this workspace; teams: {names}",
                              setting="assignee_team_id")
        ai = admins[s.ai_admin_id].get("name")
        return CheckReport(f"Connected to {app.get('name')} ({app.get('id_code')}, {region}); the AI replies as {ai}",
                           {"app_id": app.get("id_code"), "region": region, "ai_admin": ai})

    def authorize_url(self, redirect_uri: str, state: str) -> str | None:
        return None  # an access token from the Developer Hub, no OAuth step

    async def authorize(self, code: str, redirect_uri: str) -> None:
        raise CheckFailed("Intercom connects with an access token; there is no authorization step")

    async def activate(self) -> dict[str, Any]:
        """Keep the workspace ID (for links into Intercom's inbox); webhooks are set in the Developer Hub."""
        try:
            me = await self.client.me()
        except IntercomError as exc:
            raise CheckFailed(f"Setting up Intercom failed: {exc}") from exc
        return {"app_id": (me.get("app") or {}).get("id_code")}

    # outbound ----------------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _delivering(self) -> AsyncIterator[None]:
        """Intercom errors as delivery outcomes: retry what may pass later; flag the integration when access fails."""
        try:
            yield
        except IntercomError as exc:
            if exc.retryable:
                raise DeliveryError(str(exc), retry_after_s=exc.retry_after_s) from exc
            if exc.status in (401, 403):
                await self.context.report_problem(f"Intercom refused the access token: {exc.message}")
            raise DeliveryError(str(exc), permanent=True) from exc

    def _hosted(self, session: SessionSnapshot) -> bool:
        return session.session.channel == CHANNEL

    def _conversation(self, trace: SessionTrace) -> str:
        found = trace.get("conversation")
        if found is None:
            raise DeliveryError("the Intercom conversation of this session does not exist yet: the handoff has not "
                                "been delivered (see the handoff delivery for its error)")
        return found.external_id

    async def _parts(self, conversation_id: str) -> list[Json]:
        conversation = await self.client.conversation(conversation_id)
        return list((conversation.get("conversation_parts") or {}).get("conversation_parts") or [])

    def _is_ai(self, part: Json) -> bool:
        author = part.get("author") or {}
        return author.get("type") == "admin" and str(author.get("id")) == self.settings.ai_admin_id

    async def _already_sent(self, conversation_id: str, text: str, by_ai: bool) -> bool:
        """Whether a retried job's reply is already there: the same text since the other side last spoke."""
        for part in reversed(await self._parts(conversation_id)):
            if part.get("part_type") != "comment":
                continue
            if self._is_ai(part) != by_ai:
                return False
            if webhooks.plain_text(part.get("body")) == text.strip():
                return True
        return False

    async def send_ai_message(self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace) -> None:
        async with self._delivering():
            conversation_id = self._conversation(trace)
            if not await self._already_sent(conversation_id, message.text, by_ai=True):
                await self.client.admin_reply(conversation_id, self.settings.ai_admin_id, _html(message.text))

    async def send_visitor_message(
        self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace
    ) -> None:
        async with self._delivering():
            conversation_id, contact_id = self._conversation(trace), await self._contact(session, trace)
            if not await self._already_sent(conversation_id, message.text, by_ai=False):
                await self.client.user_reply(conversation_id, contact_id, message.text)

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
        """Intercom keeps no delivery receipts for replies: nothing to report."""

    async def start_handoff(
        self, session: SessionSnapshot, transcript: list[TranscriptMessage], trace: SessionTrace
    ) -> None:
        async with self._delivering():
            if self._hosted(session):
                conversation_id = self._conversation(trace)
            else:
                conversation_id = await self._open_for_widget(session, transcript, trace)
            if trace.get("note") is None:
                note = next((p for p in await self._parts(conversation_id) if p.get("part_type") == "note"
                             and self._is_ai(p) and session.url in str(p.get("body") or "")), None)
                if note is None:
                    await self.client.admin_reply(conversation_id, self.settings.ai_admin_id,
                                                  handoff_note(session), note=True)
                await trace.add("note", conversation_id, self.settings.conversation_url(conversation_id))
            await self.client.tag_conversation(conversation_id, await self._tag_id(), self.settings.ai_admin_id)
            await self._assign(conversation_id)

    async def _open_for_widget(
        self, session: SessionSnapshot, transcript: list[TranscriptMessage], trace: SessionTrace
    ) -> str:
        """The visitor's conversation in Intercom: created once, then the transcript turns not yet posted."""
        contact_id = await self._contact(session, trace)
        found = trace.get("conversation")
        if found is None:
            opener = f"{webhooks.HANDOFF_MARKER}: {session.visitor_name} chatted with the AI assistant ({session.url})"
            created = await self.client.create_conversation(contact_id, opener)
            found = await trace.add("conversation", str(created["conversation_id"]),
                                    self.settings.conversation_url(str(created["conversation_id"])))
        posted = sum(1 for p in await self._parts(found.external_id) if p.get("part_type") == "comment")
        for message in [m for m in transcript if m.text.strip()][posted:]:
            if message.author == "visitor":
                await self.client.user_reply(found.external_id, contact_id, message.text)
            else:
                await self.client.admin_reply(found.external_id, self.settings.ai_admin_id, _html(message.text))
        return found.external_id

    async def _contact(self, session: SessionSnapshot, trace: SessionTrace) -> str:
        """The visitor's Intercom contact: a user by verified email (found or named in a 409), else a new lead."""
        if trace.contact_external_id:
            return trace.contact_external_id
        contact = session.contact
        fields: Json = {"name": session.visitor_name, "external_id": f"relaydesk-{contact.id}"}
        found = await self.client.find_contact("external_id", fields["external_id"])
        if found is None and contact.verified and contact.email:
            found = await self.client.find_contact("email", contact.email)
            if found is None:
                try:
                    found = await self.client.create_contact({**fields, "role": "user", "email": contact.email})
                except IntercomError as exc:
                    if exc.existing_id is None:
                        raise
                    found = {"id": exc.existing_id}
        if found is None:
            # A self-declared email is not proof: never attach the conversation to someone else's record.
            found = await self.client.create_contact({**fields, "role": "lead"})
        await trace.remember_contact(str(found["id"]))
        return str(found["id"])

    async def _tag_id(self) -> str:
        name = self.settings.handoff_tag
        existing = next((t for t in await self.client.tags() if t.get("name") == name), None)
        return str((existing or await self.client.create_tag(name))["id"])

    async def _assign(self, conversation_id: str) -> None:
        s = self.settings
        if s.assignment == "team" and s.assignee_team_id:
            await self.client.assign(conversation_id, s.ai_admin_id, "team", s.assignee_team_id)
        admin = s.assignee_admin_id if s.assignment == "admin" and s.assignee_admin_id else "0"
        await self.client.assign(conversation_id, s.ai_admin_id, "admin", admin)

    async def resolve(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._set_state(trace, "closed")

    async def close(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._set_state(trace, "closed")

    async def hand_back(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        """A hosted conversation goes back to the AI admin; a widget handoff's conversation is closed."""
        found = trace.get("conversation")
        if found is None:
            return
        async with self._delivering():
            if self._hosted(session):
                await self.client.assign(found.external_id, self.settings.ai_admin_id, "admin",
                                         self.settings.ai_admin_id)
            else:
                await self._set_state(trace, "closed")

    async def _set_state(self, trace: SessionTrace, state: str) -> None:
        """Close the conversation unless it is closed already (Intercom may be where it was closed)."""
        found = trace.get("conversation")
        if found is None:
            return
        async with self._delivering():
            current = await self.client.conversation(found.external_id)
            if current.get("state") != state:
                await self.client.set_state(found.external_id, self.settings.ai_admin_id, state)

    # inbound -----------------------------------------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> InboundBatch:
        webhooks.verify(self.settings.client_secret.get_secret_value(), request)
        return webhooks.parse(request.body, webhooks.Scope(self.settings.app_id, self.settings.ai_admin_id))


def _html(text: str) -> str:
    """Plain text as Intercom comment HTML, one paragraph per line."""
    return "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip()) or "<p></p>"


def handoff_note(session: SessionSnapshot) -> str:
    """The internal note (HTML): reason, summary, sentiment, language, visitor, link back to the session."""
    handoff, chat = session.handoff, session.session
    reason = HANDOFF_REASONS.get(handoff.reason, handoff.reason) if handoff else "handed off"
    if handoff and handoff.topic:
        reason += f" (topic: {handoff.topic})"
    sentiment = chat.sentiment or "unknown"
    if chat.sentiment_score is not None:
        sentiment += f" ({chat.sentiment_score:+.2f})"
    lines = [("Reason", reason), ("Summary", chat.summary or (handoff.summary if handoff else None) or "no summary"),
             ("Sentiment", sentiment), ("Language", chat.language or "unknown"), ("Visitor", session.visitor_name),
             ("Session", session.url)]
    return "<p><b>relaydesk AI handoff</b></p>" + "".join(
        f"<p><b>{label}</b>: {escape(value)}</p>" for label, value in lines)
