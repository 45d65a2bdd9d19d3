"""The Intercom connector: the AI answers inside Intercom as a designated admin, and hands off to the team there.

Hosted channel: a customer's message in Intercom opens (or continues) the relaydesk session linked to that
conversation (channel "intercom"); the AI's answers go back as comments from the AI admin. On handoff the AI admin
posts an internal note (reason, summary, sentiment, language), tags the conversation and assigns it as configured.
Handoff target: a widget session handed off to Intercom becomes a conversation of the visitor's contact, opened by a
marker line and followed by the transcript (visitor turns as the contact's replies, AI turns as the AI admin's).
Intercom has no idempotency keys, so every write first reads the conversation and skips what is already there.
Webhooks are parsed in `webhooks`; what a notification lacks (names in an assignment, the whole thread under "process
on assignment", the contact's and its companies' custom attributes) is read here. `knowledge()` feeds the knowledge
base (see `knowledge`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from html import escape
from typing import Any, ClassVar, cast

from pydantic import BaseModel

from relaydesk.connectors.base import (
    HANDOFF_REASONS,
    CheckFailed,
    CheckReport,
    ConnectorContext,
    ContactInfo,
    InboundBatch,
    InboundEvent,
    KnowledgeSync,
    SessionSnapshot,
    SessionTrace,
    TranscriptAttachment,
    TranscriptMessage,
    WebhookRequest,
)
from relaydesk.connectors.intercom import knowledge, webhooks
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
        saved = not self.context.integration_id.startswith("unsaved-")
        return CheckReport(
            f"Connected to {app.get('name')} ({app.get('id_code')}, {region}); the AI replies as {ai}. In the "
            f"Developer Hub, Webhooks, paste {self.context.webhook_url if saved else 'the webhook URL shown here'} "
            f"and subscribe to: {', '.join(webhooks.WEBHOOK_TOPICS)}",
            {"app_id": app.get("id_code"), "region": region, "ai_admin": ai,
             "webhook_topics": list(webhooks.WEBHOOK_TOPICS), **({"webhook_url": self.context.webhook_url} if saved
                                                                 else {})})

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
            if same_text(part.get("body"), text):
                return True
        return False

    async def _post(self, session: SessionSnapshot, trace: SessionTrace, text: str, *, by_ai: bool,
                    attachment_urls: list[str] | None = None) -> None:
        """A reply from the AI admin or the visitor's contact, unless a retried job already posted it."""
        conversation_id = self._conversation(trace)
        if await self._already_sent(conversation_id, text, by_ai=by_ai):
            return
        if by_ai:
            await self.client.admin_reply(conversation_id, self.settings.ai_admin_id, _html(text),
                                          attachment_urls=attachment_urls)
        else:
            await self.client.user_reply(conversation_id, await self._contact(session, trace), text,
                                         attachment_urls=attachment_urls)

    async def send_ai_message(self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace) -> None:
        async with self._delivering():
            await self._post(session, trace, message.text, by_ai=True)
            if self.settings.citation_note:
                await self._cite(session, message, self._conversation(trace))

    async def _cite(self, session: SessionSnapshot, message: TranscriptMessage, conversation_id: str) -> None:
        """The citation note of an AI answer: a link to it in relaydesk and the articles it drew on; posted once."""
        link = f"{session.url}#message-{message.seq}"
        if any(p.get("part_type") == "note" and link in str(p.get("body") or "")
               for p in await self._parts(conversation_id)):
            return
        await self.client.admin_reply(conversation_id, self.settings.ai_admin_id, citation_note(link, message),
                                      note=True)

    async def send_visitor_message(
        self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace
    ) -> None:
        async with self._delivering():
            await self._post(session, trace, message.text, by_ai=False)

    async def send_attachment(
        self,
        session: SessionSnapshot,
        message: TranscriptMessage,
        attachment: TranscriptAttachment,
        index: int,
        trace: SessionTrace,
    ) -> None:
        """An image goes as an attachment of a reply (Intercom's `attachment_urls` take images only); another file
        as a line with its name and link."""
        image = (attachment.content_type or "").startswith("image/")
        text = f"[Attachment: {attachment.name}" + ("]" if image else f" {attachment.url}]")
        async with self._delivering():
            await self._post(session, trace, text, by_ai=message.author != "visitor",
                             attachment_urls=[attachment.url] if image else None)

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
            for tag_id in await self._tag_ids([self.settings.handoff_tag, *session.session.tags]):
                await self.client.tag_conversation(conversation_id, tag_id, self.settings.ai_admin_id)
            await self._assign(conversation_id)

    async def _open_for_widget(
        self, session: SessionSnapshot, transcript: list[TranscriptMessage], trace: SessionTrace
    ) -> str:
        """The visitor's conversation in Intercom: created once (or found, when the answer to creating it was lost),
        then the transcript turns not yet posted."""
        contact_id = await self._contact(session, trace)
        found = trace.get("conversation")
        if found is None:
            conversation_id = await self._opened_before(contact_id, session.url)
            if conversation_id is None:
                opener = (f"{webhooks.HANDOFF_MARKER}: {session.visitor_name} chatted with the AI assistant "
                          f"({session.url})")
                conversation_id = str((await self.client.create_conversation(contact_id, opener))["conversation_id"])
            found = await trace.add("conversation", conversation_id, self.settings.conversation_url(conversation_id))
        await self._replay(found.external_id, contact_id, transcript)
        return found.external_id

    async def _opened_before(self, contact_id: str, session_url: str) -> str | None:
        """The conversation an earlier attempt of this handoff created: the contact's, opened by the marker line
        naming this session (Intercom has no idempotency keys, so a lost answer leaves only this to find it by)."""
        query = {"operator": "AND", "value": [
            {"field": "contact_ids", "operator": "=", "value": contact_id},
            {"field": "source.body", "operator": "~", "value": session_url}]}
        listed = (await self.client.search_conversations(query, 20, None)).get("conversations") or []
        ours = [c for c in listed
                if f"({session_url})" in webhooks.plain_text(str((c.get("source") or {}).get("body") or ""))]
        return str(min(ours, key=lambda c: (c.get("created_at") or 0, str(c.get("id"))))["id"]) if ours else None

    async def _replay(self, conversation_id: str, contact_id: str, transcript: list[TranscriptMessage]) -> None:
        """Post the transcript turns the conversation does not hold yet, recognised by author and text in order
        (not by count: a turn whose answer was lost is there, a comment posted since may be too)."""
        turns = [m for m in transcript if m.text.strip()]
        done = 0
        for part in await self._parts(conversation_id):
            if done < len(turns) and part.get("part_type") == "comment" and self._is_turn(part, turns[done]):
                done += 1
        for message in turns[done:]:
            if message.author == "visitor":
                await self.client.user_reply(conversation_id, contact_id, message.text)
            else:
                await self.client.admin_reply(conversation_id, self.settings.ai_admin_id, _html(message.text))

    def _is_turn(self, part: Json, message: TranscriptMessage) -> bool:
        """Whether a comment is this transcript turn: the contact's for a visitor turn, the AI admin's otherwise."""
        by_visitor = (part.get("author") or {}).get("type") != "admin"
        return by_visitor == (message.author == "visitor") and (by_visitor or self._is_ai(part)) and same_text(
            part.get("body"), message.text)

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

    async def _tag_ids(self, names: list[str]) -> list[str]:
        """The ids of the handoff tag and the session's tags, each created in Intercom when it does not exist."""
        existing = {str(t.get("name")): str(t.get("id")) for t in await self.client.tags()}
        ids = []
        for name in dict.fromkeys(n for n in names if n):
            ids.append(existing.get(name) or str((await self.client.create_tag(name))["id"]))
        return ids

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

    # knowledge ---------------------------------------------------------------------------------------------------

    async def knowledge(self) -> KnowledgeSync:
        """Help-center articles and answered closed conversations changed since the last sync (see `knowledge`)."""
        s = self.settings
        try:
            articles = await knowledge.articles_since(self.client, s.articles_synced_to)
            conversations = (await knowledge.conversations_since(self.client, s.conversations_synced_to,
                                                                 s.ai_admin_id)
                             if s.sync_closed_conversations else knowledge.Found())
        except IntercomError as exc:
            raise CheckFailed(f"Reading Intercom's knowledge failed: {exc}") from exc
        progress = {"articles_synced_to": articles.newest or s.articles_synced_to,
                    "conversations_synced_to": conversations.newest or s.conversations_synced_to}
        summary = (f"read {articles.read} articles and {conversations.read} closed conversations from Intercom "
                   f"({len(conversations.documents)} answered by a teammate)")
        return KnowledgeSync([*articles.documents, *conversations.documents], articles.removed, progress, summary)

    # inbound -----------------------------------------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> InboundBatch:
        """Verify, parse, then read from Intercom what the notification lacks: the names in an assignment, the whole
        thread when a conversation is assigned to the AI admin (process on assignment), the contact's attributes
        and companies. A failed read is reported in `ignored`; the events still apply."""
        webhooks.verify(self.settings.client_secret.get_secret_value(), request)
        notification = webhooks.read(request.body)
        problems: list[str] = []
        scope = await self._scope(notification, problems)
        batch = webhooks.events(notification, scope)
        found = list(batch.events)
        if self.settings.process_on_assignment and any(e.type == "handed_back" for e in found):
            found += await self._thread(notification, scope, problems)
        if self.settings.sync_attributes:
            found = await self._with_attributes(found, notification.topic, problems)
        return InboundBatch(events=found, ignored=[*batch.ignored, *problems])

    async def _scope(self, notification: webhooks.Notification, problems: list[str]) -> webhooks.Scope:
        s = self.settings
        item = notification.item or {}
        names: dict[str, str] = {}
        if notification.topic == "conversation.admin.assigned" or (
                notification.topic == "conversation.user.created" and item.get("admin_assignee_id")):
            try:
                names = {str(a.get("id")): str(a.get("name")) for a in await self.client.admins()}
                names |= {str(t.get("id")): str(t.get("name")) for t in await self.client.teams()}
            except IntercomError as exc:
                problems.append(f"names of admins and teams not read: {exc}")
        return webhooks.Scope(s.app_id, s.ai_admin_id, process_on_assignment=s.process_on_assignment,
                              settle_s={"web": s.web_settle_s, "email": s.email_settle_s}, names=names)

    async def _thread(self, notification: webhooks.Notification, scope: webhooks.Scope,
                      problems: list[str]) -> list[InboundEvent]:
        """The customer's waiting messages of a conversation just assigned to the AI admin."""
        conversation_id = str((notification.item or {}).get("id"))
        try:
            return webhooks.thread_events(await self.client.conversation(conversation_id), scope)
        except IntercomError as exc:
            problems.append(f"conversation {conversation_id} not read: {exc}")
            return []

    async def _with_attributes(self, found: list[InboundEvent], topic: str, problems: list[str]) -> list[InboundEvent]:
        """The contact of a conversation's first event (its start) and of a contact update, with the custom
        attributes of the contact and its companies read from Intercom."""
        starts = topic in ("conversation.user.created", "conversation.admin.assigned")
        result, done = [], False
        for event in found:
            refresh = event.type == "contact_updated" or (starts and event.type == "customer_message" and not done)
            seen = event.contact
            if refresh and seen is not None:
                done = True
                try:
                    event = replace(event, contact=await self._contact_info(seen))
                except IntercomError as exc:
                    problems.append(f"attributes of contact {seen.external_id} not read: {exc}")
            result.append(event)
        return result

    async def _contact_info(self, seen: ContactInfo) -> ContactInfo:
        contact = await self.client.contact(seen.external_id)
        companies = await self.client.contact_companies(seen.external_id)
        return ContactInfo(seen.external_id, email=contact.get("email") or seen.email,
                           name=contact.get("name") or seen.name,
                           attributes=webhooks.contact_attributes(contact, companies))


def same_text(body: str | None, text: str) -> bool:
    """Whether a part's HTML body says `text`: words compared, since blank lines and line breaks do not survive the
    trip through HTML (`"a\\n\\nb"` comes back as `"a\\nb"`)."""
    return webhooks.plain_text(body).split() == text.split()


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


def citation_note(link: str, message: TranscriptMessage) -> str:
    """The note (HTML) beside an AI answer: where to read it in relaydesk, and the articles it drew on."""
    sources = "".join(
        f"<li><a href=\"{escape(url, quote=True)}\">{escape(title or url)}</a></li>" if url else
        f"<li>{escape(title)}</li>"
        for title, url in message.citations)
    return (f"<p><b>relaydesk AI answer</b>: <a href=\"{escape(link, quote=True)}\">{escape(link)}</a></p>"
            + (f"<p>Sources:</p><ul>{sources}</ul>" if sources else "<p>Sources: none (no article was used)</p>"))
