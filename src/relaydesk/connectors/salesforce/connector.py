"""The Salesforce connector: handoff into a Messaging for In-App and Web conversation routed by Omni-Channel.

A handed-off session becomes a MIAW conversation on the customer's Embedded Service Deployment (custom client),
spoken for by the visitor: verified visitors get an authenticated access token through a customer identity JWT
that relaydesk signs (RS256, `kid` = the Auth Key ID), anonymous ones an unauthenticated token. The routing
attributes (trace key, consumer type, language, priority, reason, the built-in pre-chat fields) go on the
conversation for the Omni-Channel flow; the handoff note and the AI transcript are posted as the first messages
(and attached as transcript.txt when long). Rep replies come back over server-sent events (`stream.py`).

Every id relaydesk sends (conversation, message, file) is derived from the session and message, and what exists is
read back before anything is sent again, so a retried job duplicates nothing. No ticket is created.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar, cast

import httpx2
import jwt
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
    WebhookRejected,
    WebhookRequest,
)
from relaydesk.connectors.salesforce.client import AccessToken, MiawClient, MiawError
from relaydesk.connectors.salesforce.settings import SalesforceSettings
from relaydesk.connectors.salesforce.vault import lease_name, vault
from relaydesk.core.delivery import DeliveryError

RENEW_MARGIN_S = 300.0
IDENTITY_TOKEN_TTL_S = 600
MAX_TEXT = 4000  # per message; longer texts are split
MAX_ATTRIBUTE = 255  # typical custom parameter length set by admins
AUTHORS = {"visitor": "Visitor", "ai": "AI assistant"}


def entry_uuid(*parts: str) -> str:
    """A lowercase UUID in version 4 form, derived from `parts`: the same parts give the same id on a retry."""
    raw = bytearray(hashlib.sha256("|".join(parts).encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def chunks(text: str) -> list[str]:
    return [text[i:i + MAX_TEXT] for i in range(0, len(text), MAX_TEXT)] or [""]


def message_id_of(entry: dict[str, Any]) -> str:
    """The client-chosen message id an entry carries (what relaydesk sent it as)."""
    payload = entry.get("entryPayload") or {}
    return str(payload.get("id") or (payload.get("abstractMessage") or {}).get("id") or "")


class SalesforceConnector:
    """Salesforce Messaging for In-App and Web as a handoff target."""

    name: ClassVar[str] = "salesforce"
    title: ClassVar[str] = "Salesforce (Messaging for In-App and Web)"
    settings_model: ClassVar[type[BaseModel]] = SalesforceSettings
    receives_webhooks: ClassVar[bool] = False  # rep replies arrive over the event stream the workers hold

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context
        self.settings = cast(SalesforceSettings, context.settings)
        s = self.settings
        self.client = MiawClient(context.http, s.scrt_url, s.org_id, s.es_developer_name)

    # identity and tokens -----------------------------------------------------------------------------------------

    def identity_token(self, subject: str) -> str:
        """The customer identity JWT for a verified visitor, signed with the customer's key (kid = Auth Key ID)."""
        now = int(time.time())
        claims = {"sub": subject, "iss": self.settings.issuer, "iat": now, "exp": now + IDENTITY_TOKEN_TTL_S}
        return jwt.encode(claims, self.settings.private_key.get_secret_value(), algorithm="RS256",
                          headers={"kid": self.settings.auth_key_id, "typ": "JWT"})

    async def new_token(self, session: SessionSnapshot) -> AccessToken:
        """A verified visitor's authenticated token (subject = their email), else an anonymous one."""
        contact = session.contact
        if contact.verified and contact.email:
            token = await self.client.authenticated_token(self.identity_token(contact.email.lower()))
            if not token.authenticated:
                raise MiawError("request a verified access token", 401,
                                f"Salesforce did not verify the visitor (subject {token.subject})")
            return token
        return await self.client.unauthenticated_token()

    async def renewed(self, name: str, token: AccessToken, verified_subject: str | None) -> AccessToken:
        """The conversation's token, continued when it is about to expire (or has been refused)."""
        try:
            fresh = await self.client.continuation_token(token)
        except MiawError as exc:
            if exc.status != 401 or not verified_subject:
                raise
            # A verified visitor's expired token: a new one for the same `sub` reaches the same subject.
            fresh = await self.client.authenticated_token(self.identity_token(verified_subject))
        await vault().save(name, fresh)
        return fresh

    async def token_for(self, name: str, verified_subject: str | None, *, force: bool = False) -> AccessToken:
        """The stored token of a conversation, renewed when needed."""
        token = await vault().token(name)
        if token is None:
            raise DeliveryError("the Salesforce conversation was closed: nothing more can be sent to it",
                                permanent=True)
        if force or token.expiring(RENEW_MARGIN_S):
            token = await self.renewed(name, token, verified_subject)
        return token

    # check, connect, activate ------------------------------------------------------------------------------------

    async def check(self) -> CheckReport:
        """An anonymous token proves the org, deployment and SCRT URL; a verified one proves the key pair."""
        s = self.settings
        try:
            anonymous = await self.client.unauthenticated_token()
        except MiawError as exc:
            raise _deployment_problem(s, exc) from exc
        try:
            verified = await self.client.authenticated_token(self.identity_token("relaydesk-settings-check"))
        except MiawError as exc:
            raise _identity_problem(s, exc) from exc
        if not verified.authenticated:
            raise CheckFailed(f"Salesforce accepted the identity token but did not verify it (subject "
                              f"{verified.subject}): check the keyset's issuer ({s.issuer}) and Auth Key ID",
                              setting="auth_key_id")
        return CheckReport(
            f"Connected to org {s.org_id}: deployment {s.es_developer_name} issues anonymous and verified tokens",
            {"org_id": s.org_id, "deployment": s.es_developer_name, "anonymous_subject": anonymous.subject},
        )

    def authorize_url(self, redirect_uri: str, state: str) -> str | None:
        return None

    async def authorize(self, code: str, redirect_uri: str) -> None:
        raise CheckFailed("Salesforce Messaging needs no authorization step")

    async def activate(self) -> dict[str, Any]:
        return {}

    # outbound ----------------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _delivering(self) -> AsyncIterator[None]:
        """MIAW errors as delivery outcomes: retry what may pass later, flag the integration when access fails."""
        try:
            yield
        except MiawError as exc:
            if exc.retryable:
                raise DeliveryError(str(exc), retry_after_s=exc.retry_after_s) from exc
            if exc.status in (401, 403) and "access token" in exc.what:
                await self.context.report_problem(f"Salesforce refused relaydesk's credentials: {exc}; check the "
                                                  "settings and save them again")
            raise DeliveryError(str(exc), permanent=True) from exc

    def conversation_id(self, session: SessionSnapshot) -> str:
        """One conversation per handoff of a session."""
        handoff = session.handoff.id if session.handoff else "handoff"
        return entry_uuid(self.context.integration_id, session.id, handoff)

    def _verified_subject(self, session: SessionSnapshot) -> str | None:
        contact = session.contact
        return contact.email.lower() if contact.verified and contact.email else None

    async def _conversation(self, session: SessionSnapshot, trace: SessionTrace) -> tuple[str, str, AccessToken]:
        """The handed-off conversation's id, lease name and a valid token, or a retryable error before handoff."""
        ref = trace.get("conversation")
        if ref is None:
            raise DeliveryError("the Salesforce conversation for this session does not exist yet: the handoff has "
                                "not been delivered (see the handoff delivery for its error)")
        name = lease_name(self.context.integration_id, ref.external_id)
        return ref.external_id, name, await self.token_for(name, self._verified_subject(session))

    async def start_handoff(
        self, session: SessionSnapshot, transcript: list[TranscriptMessage], trace: SessionTrace
    ) -> None:
        async with self._delivering():
            conversation_id = self.conversation_id(session)
            name = lease_name(self.context.integration_id, conversation_id)
            token = await vault().token(name)
            if token is None:
                data = {"integration_id": self.context.integration_id, "workspace_id": self.context.workspace_id,
                        "session_id": session.id, "conversation_id": conversation_id,
                        "verified_subject": self._verified_subject(session)}
                token = await vault().open(name, data, await self.new_token(session))
            elif token.expiring(RENEW_MARGIN_S):
                token = await self.renewed(name, token, self._verified_subject(session))
            await self._create(session, conversation_id, token, trace)
            sent = await self._sent(token.token, conversation_id, limit=1000)
            await self._post(token, conversation_id, entry_uuid(conversation_id, "note"), handoff_note(session),
                             sent)
            await self._post_transcript(session, transcript, token, conversation_id, sent)

    async def _create(self, session: SessionSnapshot, conversation_id: str, token: AccessToken,
                      trace: SessionTrace) -> None:
        if trace.get("conversation") is None:
            known = {str(c.get("conversationId")) for c in await self.client.list_conversations(token.token)}
            if conversation_id not in known:
                try:
                    await self.client.create_conversation(token.token, conversation_id,
                                                          self.routing_attributes(session, token),
                                                          session.session.language)
                except MiawError as exc:
                    if exc.status != 409:
                        raise
            await trace.add("conversation", conversation_id,
                            f"{self.settings.instance_url}/lightning/o/MessagingSession/home")
        if trace.contact_external_id != token.subject:
            await trace.remember_contact(token.subject)

    def routing_attributes(self, session: SessionSnapshot, token: AccessToken) -> dict[str, str]:
        """The attributes the Omni-Channel flow reads (channel variable names), with the built-in pre-chat fields."""
        s, chat, contact, handoff = self.settings, session.session, session.contact, session.handoff
        first, _, last = (contact.name or "").partition(" ")
        reason = HANDOFF_REASONS.get(handoff.reason, handoff.reason) if handoff else "handed off"
        topic = handoff.topic if handoff else None
        values = {
            s.session_id_attribute: session.id,
            s.consumer_type_attribute: "Authenticated" if token.authenticated else "Anonymous",
            s.language_attribute: chat.language or (handoff.language if handoff else None) or "",
            s.priority_attribute: "High" if chat.sentiment == "negative" else "Medium",
            s.reason_attribute: reason + (f" (topic: {topic})" if topic else ""),
            "_firstName": first, "_lastName": last, "_email": contact.email or "",
            "_subject": topic or (handoff.summary if handoff else None) or "Chat handed off by the AI assistant",
        }
        return {key: value[:MAX_ATTRIBUTE] for key, value in values.items() if key and value}

    async def _sent(self, token: str, conversation_id: str, *, limit: int = 50) -> set[str]:
        """Ids of the messages relaydesk already sent to the conversation (to repeat nothing on a retry)."""
        entries = await self.client.entries(token, conversation_id, limit=limit, types="Message")
        return {message_id_of(e) for e in entries if (e.get("sender") or {}).get("role") == "EndUser"}

    async def _post(self, token: AccessToken, conversation_id: str, message_id: str, text: str,
                    sent: set[str]) -> None:
        for index, part in enumerate(chunks(text)):
            part_id = message_id if index == 0 else entry_uuid(message_id, str(index))
            if part_id not in sent:
                await self.client.send_message(token.token, conversation_id, part_id, part)
                sent.add(part_id)

    async def _post_transcript(self, session: SessionSnapshot, transcript: list[TranscriptMessage],
                               token: AccessToken, conversation_id: str, sent: set[str]) -> None:
        """Each turn as its own message, labelled by author; a long transcript also as transcript.txt, with only
        the latest turns posted."""
        lines = [f"{AUTHORS.get(m.author, m.author)}: {m.text}" for m in transcript if m.text.strip()]
        turns = [m for m in transcript if m.text.strip()]
        if sum(len(line) for line in lines) > self.settings.transcript_file_chars:
            file_id = entry_uuid(conversation_id, "transcript-file")
            if file_id not in sent:
                content = "\n\n".join(f"[{m.created_at:%Y-%m-%d %H:%M} UTC] {line}" for m, line in zip(turns, lines,
                                                                                                         strict=True))
                await self.client.send_file(token.token, conversation_id, file_id, file_id,
                                            f"Full AI transcript ({len(turns)} messages)",
                                            ("transcript.txt", content.encode(), "text/plain"))
            kept: list[TranscriptMessage] = []
            budget = self.settings.transcript_file_chars
            for message, line in reversed(list(zip(turns, lines, strict=True))):
                if budget - len(line) < 0:
                    break
                kept.insert(0, message)
                budget -= len(line)
            turns = kept
        for message in turns:
            label = AUTHORS.get(message.author, message.author)
            await self._post(token, conversation_id, entry_uuid(conversation_id, "turn", str(message.seq)),
                             f"{label}: {message.text}", sent)
        for message in transcript:
            for index, attachment in enumerate(message.attachments):
                await self._attach(token, conversation_id, message, attachment, index, sent)

    async def send_visitor_message(
        self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace
    ) -> None:
        async with self._delivering():
            conversation_id, _, token = await self._conversation(session, trace)
            text = message.text if message.author == "visitor" else f"{AUTHORS['ai']}: {message.text}"
            sent = await self._sent(token.token, conversation_id)
            await self._post(token, conversation_id, entry_uuid(conversation_id, "turn", str(message.seq)), text,
                             sent)

    async def send_ai_message(self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace) -> None:
        await self.send_visitor_message(session, message, trace)

    async def send_attachment(
        self,
        session: SessionSnapshot,
        message: TranscriptMessage,
        attachment: TranscriptAttachment,
        index: int,
        trace: SessionTrace,
    ) -> None:
        async with self._delivering():
            conversation_id, _, token = await self._conversation(session, trace)
            await self._attach(token, conversation_id, message, attachment, index,
                               await self._sent(token.token, conversation_id))

    async def _attach(self, token: AccessToken, conversation_id: str, message: TranscriptMessage,
                      attachment: TranscriptAttachment, index: int, sent: set[str]) -> None:
        """Send the file through the file API; one larger than the org allows (or unreachable) becomes a link."""
        message_id = entry_uuid(conversation_id, "file", str(message.seq), str(index))
        if message_id in sent:
            return
        limit = self.settings.max_file_bytes
        refusal = f"it is larger than the {self.settings.max_file_mb:g} MB limit" if (
            attachment.size is not None and attachment.size > limit) else None
        if refusal is None:
            try:
                response = await self.context.http.get(attachment.url)
            except httpx2.HTTPError as exc:
                raise DeliveryError(f"download {attachment.name}: {type(exc).__name__}: {exc}") from exc
            if response.is_success and len(response.content) <= limit:
                await self.client.send_file(token.token, conversation_id, message_id, message_id, attachment.name,
                                            (attachment.name, response.content,
                                             attachment.content_type or "application/octet-stream"))
                sent.add(message_id)
                return
            refusal = (f"it could not be fetched (HTTP {response.status_code})" if not response.is_success
                       else f"it is larger than the {self.settings.max_file_mb:g} MB limit")
        await self._post(token, conversation_id, message_id,
                         f"[Attachment {attachment.name} not attached: {refusal}. Open it: {attachment.url}]", sent)

    async def acknowledge(self, session: SessionSnapshot, external_message_id: str, trace: SessionTrace) -> None:
        """A delivery receipt for the rep's message (none once the conversation is over)."""
        ref = trace.get("conversation")
        if ref is None or await vault().token(lease_name(self.context.integration_id, ref.external_id)) is None:
            return
        async with self._delivering():
            conversation_id, _, token = await self._conversation(session, trace)
            await self.client.acknowledge(token.token, conversation_id,
                                          entry_uuid(conversation_id, "ack", external_message_id),
                                          external_message_id)

    async def resolve(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._finish(session, trace, None)

    async def close(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._finish(session, trace, None)

    async def hand_back(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._finish(session, trace, "relaydesk: the conversation was handed back to the AI assistant; the "
                                           "visitor's new messages go to the AI.")

    async def _finish(self, session: SessionSnapshot, trace: SessionTrace, note: str | None) -> None:
        """End the messaging session and close the conversation (unless Salesforce ended it), then let go."""
        ref = trace.get("conversation")
        if ref is None or await vault().token(lease_name(self.context.integration_id, ref.external_id)) is None:
            return
        async with self._delivering():
            conversation_id, name, token = await self._conversation(session, trace)
            if note is not None:
                await self._post(token, conversation_id, entry_uuid(conversation_id, "note", trace.operation),
                                 note, await self._sent(token.token, conversation_id))
            for step in (self.client.end_session, self.client.close_conversation):
                try:
                    await step(token.token, conversation_id)
                except MiawError as exc:
                    if exc.status not in (404, 409):
                        raise
            await vault().end(name)

    # inbound -----------------------------------------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> InboundBatch:
        raise WebhookRejected("Salesforce sends no webhooks: rep replies arrive over Messaging's event stream")


def _deployment_problem(s: SalesforceSettings, exc: MiawError) -> CheckFailed:
    if exc.status == 0 or exc.status == 404:
        return CheckFailed(f"Salesforce Messaging cannot be reached at {s.scrt_url}: {exc.message}; copy the SCRT "
                           "URL from the deployment's Code Snippet", setting="scrt_url")
    text = exc.message.lower()
    if "orgid" in text or "org id" in text:
        return CheckFailed(f"Salesforce does not know the org ID {s.org_id}: copy it from Setup, Company "
                           "Information", setting="org_id")
    if "deployment" in text or "esdevelopername" in text:
        return CheckFailed(f"No published Embedded Service Deployment named {s.es_developer_name}: use the API "
                           "name of a custom-client deployment and publish it", setting="es_developer_name")
    return CheckFailed(f"Salesforce refused the anonymous token request: {exc}")


def _identity_problem(s: SalesforceSettings, exc: MiawError) -> CheckFailed:
    text = exc.message.lower()
    if exc.status == 0 or exc.retryable:
        return CheckFailed(f"Salesforce could not verify a visitor right now: {exc}")
    if ("kid" in text or "key id" in text) and "signature" not in text:
        return CheckFailed(f"No public key with Auth Key ID {s.auth_key_id} is in the User Verification keyset: "
                           "copy the key id again", setting="auth_key_id")
    if "issuer" in text:
        return CheckFailed(f"The keyset expects another issuer than {s.issuer!r}: set the JWT issuer to the "
                           "keyset's issuer", setting="issuer")
    return CheckFailed(f"Salesforce could not verify an identity token signed with this private key against the "
                       f"public key registered as {s.auth_key_id}: paste the matching private key ({exc.message})",
                       setting="private_key")


def handoff_note(session: SessionSnapshot) -> str:
    """The first message a rep reads: why the AI handed off, the summary, the visitor, the way back to relaydesk."""
    handoff, chat, contact = session.handoff, session.session, session.contact
    reason = HANDOFF_REASONS.get(handoff.reason, handoff.reason) if handoff else "handed off"
    if handoff and handoff.topic:
        reason += f" (topic: {handoff.topic})"
    who = session.visitor_name + (f" <{contact.email}>" if contact.email else "")
    if contact.email and not contact.verified:
        who += " (email given in chat, not verified)"
    return "\n".join((
        "relaydesk · AI handoff",
        f"Reason: {reason}",
        f"Summary: {chat.summary or (handoff.summary if handoff else None) or 'no summary'}",
        f"Language: {chat.language or 'unknown'} · sentiment: {chat.sentiment or 'unknown'}",
        f"Visitor: {who}",
        f"Session: {session.url}",
        "The conversation with the AI assistant follows.",
    ))
