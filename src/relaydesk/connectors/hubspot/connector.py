"""The HubSpot connector: handoff into the conversations inbox through a custom channel, with comment and ticket.

One thread per session (integrationThreadId `relaydesk-<session id>`); visitor turns are published INCOMING, AI
turns OUTGOING from the channel's own identity; the summary goes in an internal COMMENT; a ticket is created and
associated with the thread and the contact unless the help desk made one. Every publish carries an
integrationIdempotencyId derived from the session and message seq, so a retried job repeats nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from html import escape
from typing import Any, ClassVar, cast

import httpx2
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
from relaydesk.connectors.hubspot import webhooks
from relaydesk.connectors.hubspot.client import HubSpotClient, HubSpotError, Json, authorize_url
from relaydesk.connectors.hubspot.settings import SCOPES, HubSpotSettings
from relaydesk.core.delivery import DeliveryError

TICKET_TO_CONTACT = 16  # HUBSPOT_DEFINED association types (hubspot-api-ruby AssociationType; sandbox cites the docs)
TICKET_TO_THREAD = 32
REFRESH_MARGIN_S = 60.0
MAX_FILE_BYTES = 10_000_000
FILE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "text/csv")
CAPABILITIES: Json = {
    "deliveryIdentifierTypes": ["HS_EMAIL_ADDRESS", "CHANNEL_SPECIFIC_OPAQUE_ID"],
    "threadingModel": "INTEGRATION_THREAD_ID",
    "richText": ["HYPERLINK", "BOLD", "ITALIC"],
    "allowInlineImages": False,
    "allowOutgoingMessages": True,
    "allowConversationStart": False,
    "allowMultipleRecipients": False,
    "outgoingAttachmentTypes": ["FILE"],
    "maxFileAttachmentCount": 5,
    "maxFileAttachmentSizeBytes": MAX_FILE_BYTES,
    "maxTotalFileAttachmentSizeBytes": 2 * MAX_FILE_BYTES,
    "allowedFileAttachmentMimeTypes": list(FILE_TYPES),
}
SUBSCRIPTIONS = (("conversation.propertyChange", "status"), ("conversation.propertyChange", "assignedTo"))
_refresh_locks: dict[str, asyncio.Lock] = {}


class HubSpotConnector:
    """HubSpot as a handoff target."""

    name: ClassVar[str] = "hubspot"
    title: ClassVar[str] = "HubSpot"
    settings_model: ClassVar[type[BaseModel]] = HubSpotSettings

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context
        self.settings = cast(HubSpotSettings, context.settings)
        self.client = HubSpotClient(
            context.http, self.settings.api, tokens=self._access_token, limit_key=context.integration_id
        )

    # credentials -------------------------------------------------------------------------------------------------

    @property
    def _secrets(self) -> dict[str, str]:
        return self.context.secrets

    def _secret(self, name: str) -> str:
        value = getattr(self.settings, name)
        return str(value.get_secret_value())

    async def _access_token(self, force: bool) -> str:
        """A valid access token, refreshed (and stored encrypted) when it is about to expire."""
        if not self._secrets.get("refresh_token"):
            raise HubSpotError("authenticate", 0, "HubSpot is not connected: connect the account in Settings")
        fresh = time.time() < float(self._secrets.get("expires_at") or 0) - REFRESH_MARGIN_S
        if fresh and not force and self._secrets.get("access_token"):
            return self._secrets["access_token"]
        lock = _refresh_locks.setdefault(self.context.integration_id, asyncio.Lock())
        async with lock:
            tokens = await self.client.token(
                {"grant_type": "refresh_token", "refresh_token": self._secrets["refresh_token"],
                 "client_id": self.settings.client_id, "client_secret": self._secret("client_secret")}
            )
            await self._keep_tokens(tokens.access_token, tokens.refresh_token, tokens.expires_in)
        return self._secrets["access_token"]

    async def _keep_tokens(self, access: str, refresh: str, expires_in: int) -> None:
        await self.context.save_secrets(
            {"access_token": access, "refresh_token": refresh, "expires_at": str(time.time() + expires_in)}
        )

    # check, connect, activate ------------------------------------------------------------------------------------

    async def check(self) -> CheckReport:
        """App credentials first, then (once connected) the portal's scopes, inbox, assignee and ticket stage."""
        try:
            return await self._check()
        except HubSpotError as exc:
            if exc.status == 0:
                raise CheckFailed(f"HubSpot cannot be reached at {self.settings.api}: {exc.message}",
                                  setting="api_base_url") from exc
            raise CheckFailed(f"HubSpot refused the check: {exc}") from exc

    async def _check(self) -> CheckReport:
        s = self.settings
        try:
            await self.client.list_channels(self._secret("developer_api_key"), s.app_id)
        except HubSpotError as exc:
            if exc.status == 401:
                raise CheckFailed("HubSpot refused the developer API key: copy it again from your developer "
                                  "account (Keys, Developer API key)", setting="developer_api_key") from exc
            if exc.status == 400:
                raise CheckFailed(f"App {s.app_id} is not an app of this developer account: {exc.message}",
                                  setting="app_id") from exc
            raise
        await self._check_client_credentials()
        if not self._secrets.get("refresh_token"):
            return CheckReport("App credentials accepted; connect your HubSpot account to finish", connected=False)
        try:
            token = await self._access_token(False)
        except HubSpotError as exc:
            raise CheckFailed("Reconnect required: HubSpot refused the stored refresh token "
                              f"({exc.message}); connect the account again") from exc
        info = await self.client.access_token_info(token)
        missing = sorted(set(SCOPES) - set(info.get("scopes") or []))
        if missing:
            raise CheckFailed(f"The connected HubSpot account did not grant the scopes {', '.join(missing)}; "
                              "add them to the app and connect again")
        inboxes = await self.client.list_inboxes()
        inbox = next((i for i in inboxes if str(i.get("id")) == s.inbox_id), None)
        if inbox is None:
            choices = ", ".join(f"{i.get('id')} ({i.get('name')})" for i in inboxes) or "none"
            raise CheckFailed(f"Inbox {s.inbox_id} does not exist in portal {info.get('hub_id')}; "
                              f"choose one of: {choices}", setting="inbox_id")
        if s.default_assignee:
            users = {str(o.get("userId")): o for o in await self.client.owners() if o.get("userId")}
            if s.default_assignee not in users:
                raise CheckFailed(f"No HubSpot user {s.default_assignee} in portal {info.get('hub_id')}; "
                                  f"users: {', '.join(sorted(users)) or 'none'}", setting="default_assignee")
        if s.create_tickets:
            await self._check_ticket_stage()
        return CheckReport(
            f"Connected to portal {info.get('hub_id')} ({info.get('hub_domain')}); handoffs go to "
            f"{inbox.get('name')}",
            {"portal_id": info.get("hub_id"), "inbox": inbox.get("name"), "inbox_type": inbox.get("type")},
        )

    async def _check_client_credentials(self) -> None:
        """The token endpoint names a wrong client id or secret before it looks at the (deliberately bad) grant."""
        try:
            await self.client.token({"grant_type": "refresh_token", "refresh_token": "relaydesk-credential-check",
                                     "client_id": self.settings.client_id,
                                     "client_secret": self._secret("client_secret")})
        except HubSpotError as exc:
            text = f"{exc.category} {exc.message}".lower()
            if "client_secret" in text:
                raise CheckFailed("HubSpot refused the client secret: copy it from the app's Auth settings",
                                  setting="client_secret") from exc
            if "client_id" in text:
                raise CheckFailed("HubSpot does not know this client ID: copy it from the app's Auth settings",
                                  setting="client_id") from exc
            if exc.status == 0 or exc.status >= 500:
                raise

    async def _check_ticket_stage(self) -> None:
        s = self.settings
        pipelines = await self.client.ticket_pipelines()
        pipeline = next((p for p in pipelines if str(p.get("id")) == s.ticket_pipeline), None)
        if pipeline is None:
            names = ", ".join(f"{p.get('id')} ({p.get('label')})" for p in pipelines)
            raise CheckFailed(f"Ticket pipeline {s.ticket_pipeline} does not exist; pipelines: {names}",
                              setting="ticket_pipeline")
        stages = {str(stage.get("id")): stage.get("label") for stage in pipeline.get("stages") or []}
        if s.ticket_stage not in stages:
            names = ", ".join(f"{k} ({v})" for k, v in stages.items())
            raise CheckFailed(f"Stage {s.ticket_stage} is not in pipeline {pipeline.get('label')}; stages: {names}",
                              setting="ticket_stage")

    def authorize_url(self, redirect_uri: str, state: str) -> str | None:
        return authorize_url(self.settings.app, self.settings.client_id, redirect_uri, SCOPES, state)

    async def authorize(self, code: str, redirect_uri: str) -> None:
        try:
            tokens = await self.client.token(
                {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                 "client_id": self.settings.client_id, "client_secret": self._secret("client_secret")}
            )
        except HubSpotError as exc:
            raise CheckFailed(f"HubSpot did not accept the authorization: {exc.message}") from exc
        await self._keep_tokens(tokens.access_token, tokens.refresh_token, tokens.expires_in)

    async def activate(self) -> dict[str, Any]:
        """Register (or find) the custom channel, connect it to the inbox, and subscribe to thread changes."""
        s, hapikey, url = self.settings, self._secret("developer_api_key"), self.context.webhook_url
        try:
            info = await self.client.access_token_info(await self._access_token(False))
            channels = await self.client.list_channels(hapikey, s.app_id)
            channel = next((c for c in channels if str(c.get("id")) == s.channel_id), None) or next(
                (c for c in channels if c.get("webhookUrl") == url), None
            )
            if channel is None:
                channel = await self.client.create_channel(hapikey, s.app_id, {
                    "name": s.channel_name, "webhookUrl": url, "capabilities": CAPABILITIES,
                    "channelDescription": "AI chat handed off by relaydesk",
                })
            elif channel.get("webhookUrl") != url:
                channel = await self.client.update_channel(hapikey, str(channel["id"]), {"webhookUrl": url})
            channel_id = str(channel["id"])
            accounts = await self.client.list_channel_accounts(channel_id)
            account = next((a for a in accounts if str(a.get("inboxId")) == s.inbox_id and a.get("authorized")
                            and not a.get("archived")), None)
            if account is None:
                account = await self.client.create_channel_account(channel_id, {
                    "name": s.channel_name, "inboxId": s.inbox_id, "authorized": True,
                    "deliveryIdentifier": self._channel_identity(),
                })
            await self.client.put_webhook_target(hapikey, s.app_id, url)
            existing = {(x.get("eventType"), x.get("propertyName")) for x in
                        await self.client.subscriptions(hapikey, s.app_id)}
            for event_type, property_name in SUBSCRIPTIONS:
                if (event_type, property_name) not in existing:
                    await self.client.subscribe(hapikey, s.app_id, event_type, property_name)
        except HubSpotError as exc:
            raise CheckFailed(f"Setting up HubSpot failed: {exc}") from exc
        return {"portal_id": info.get("hub_id"), "channel_id": channel_id, "channel_account_id": str(account["id"])}

    # outbound ----------------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _delivering(self) -> AsyncIterator[None]:
        """HubSpot errors as delivery outcomes: retry what may pass later; flag the integration when access fails."""
        try:
            yield
        except HubSpotError as exc:
            if exc.retryable:
                raise DeliveryError(str(exc), retry_after_s=exc.retry_after_s) from exc
            if exc.status in (0, 401) or exc.category in ("BAD_REFRESH_TOKEN", "INVALID_AUTHENTICATION"):
                await self.context.report_problem(f"Reconnect required: {exc}")
            elif exc.status == 403:
                scopes = ", ".join(exc.required_scopes) or "the app's scopes"
                await self.context.report_problem(f"HubSpot needs {scopes}: add them and reconnect ({exc.message})")
            raise DeliveryError(str(exc), permanent=True) from exc

    def _activated(self) -> tuple[str, str]:
        s = self.settings
        if not s.channel_id or not s.channel_account_id:
            raise DeliveryError("HubSpot is not set up: connect the account in Settings, Integrations",
                                permanent=True)
        return s.channel_id, s.channel_account_id

    def _channel_identity(self) -> Json:
        return {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": f"relaydesk-{self.context.integration_id}"}

    def _visitor(self, session: SessionSnapshot) -> Json:
        contact = session.contact
        if contact.verified and contact.email:
            identity = {"type": "HS_EMAIL_ADDRESS", "value": contact.email}
        else:
            identity = {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": f"relaydesk-contact-{contact.id}"}
        return {"name": session.visitor_name, "deliveryIdentifier": identity}

    async def start_handoff(
        self, session: SessionSnapshot, transcript: list[TranscriptMessage], trace: SessionTrace
    ) -> None:
        async with self._delivering():
            self._activated()
            await self._contact(session, trace)
            for message in transcript:
                if message.text.strip():
                    await self._publish(session, message, message.text, trace)
                for index, attachment in enumerate(message.attachments):
                    await self._attach(session, message, attachment, index, trace)
            if trace.get("thread") is None:
                opening = TranscriptMessage(0, "visitor", None, f"{session.visitor_name} asked for a person.",
                                            session.session.created_at)
                await self._publish(session, opening, opening.text, trace)
            thread = trace.get("thread")
            assert thread is not None
            await self._comment(session, thread.external_id, trace)
            if self.settings.create_tickets:
                await self._ticket(session, thread.external_id, trace)
            if self.settings.default_assignee:
                await self.client.assign_thread(thread.external_id, f"A-{self.settings.default_assignee}")

    async def send_visitor_message(
        self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace
    ) -> None:
        async with self._delivering():
            self._thread(trace)
            await self._publish(session, message, message.text, trace)

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
            self._thread(trace)
            await self._attach(session, message, attachment, index, trace)

    async def acknowledge(self, session: SessionSnapshot, external_message_id: str, trace: SessionTrace) -> None:
        async with self._delivering():
            channel_id, _ = self._activated()
            await self.client.update_message_status(channel_id, external_message_id, "SENT")

    async def resolve(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._close_thread(trace, None)

    async def close(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._close_thread(trace, None)

    async def hand_back(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        note = (f"relaydesk: the conversation was handed back to the AI; the visitor's new messages go to the AI. "
                f"[{trace.operation}]")
        await self._close_thread(trace, note)

    async def _close_thread(self, trace: SessionTrace, note: str | None) -> None:
        """Close the session's thread unless it is closed already (HubSpot may be where it was closed)."""
        thread = trace.get("thread")
        if thread is None:
            return
        async with self._delivering():
            if note is not None and not await self._has_comment(thread.external_id, trace.operation):
                await self.client.add_comment(thread.external_id, note, f"<p>{escape(note)}</p>")
            current = await self.client.get_thread(thread.external_id)
            if current.get("status") != "CLOSED":
                await self.client.set_thread_status(thread.external_id, "CLOSED")

    def _thread(self, trace: SessionTrace) -> str:
        thread = trace.get("thread")
        if thread is None:
            raise DeliveryError("the HubSpot thread for this session does not exist yet: the handoff has not been "
                                "delivered (see the handoff delivery for its error)")
        return thread.external_id

    async def _publish(
        self, session: SessionSnapshot, message: TranscriptMessage, text: str, trace: SessionTrace,
        *, attachments: list[Json] | None = None, suffix: str = "",
    ) -> Json:
        channel_id, account_id = self._activated()
        visitor, ours = self._visitor(session), {"name": message.author_name or "AI assistant",
                                                  "deliveryIdentifier": self._channel_identity()}
        incoming = message.author == "visitor"
        egg: Json = {
            "channelAccountId": account_id,
            "integrationThreadId": f"relaydesk-{session.id}",
            "integrationIdempotencyId": f"relaydesk-{session.id}-{message.seq}{suffix}",
            "messageDirection": "INCOMING" if incoming else "OUTGOING",
            "text": text,
            "timestamp": message.created_at.isoformat().replace("+00:00", "Z"),
            "senders": [visitor if incoming else ours],
            "recipients": [ours if incoming else visitor],
            "attachments": attachments or [],
        }
        if trace.contact_external_id:
            egg["associateWithContactId"] = int(trace.contact_external_id)
        published = await self.client.publish_message(channel_id, egg)
        thread_id = str(published.get("conversationsThreadId") or "")
        if thread_id and trace.get("thread") is None:
            await trace.add("thread", thread_id, self._thread_url(thread_id))
        return published

    async def _attach(
        self, session: SessionSnapshot, message: TranscriptMessage, attachment: TranscriptAttachment, index: int,
        trace: SessionTrace,
    ) -> None:
        """Upload the file, then publish it on the thread; files HubSpot would refuse become a note with the link."""
        suffix = f"-a{index}"
        refusal = _refusal(attachment)
        if refusal is None:
            try:
                response = await self.context.http.get(attachment.url)
            except httpx2.HTTPError as exc:
                raise DeliveryError(f"download {attachment.name}: {type(exc).__name__}: {exc}") from exc
            if response.is_success and len(response.content) <= MAX_FILE_BYTES:
                name = f"{session.id}-{message.seq}-{index}-{attachment.name}"
                uploaded = await self.client.upload_file(
                    name, response.content, attachment.content_type or "application/octet-stream", "/relaydesk"
                )
                usage = "IMAGE" if (attachment.content_type or "").startswith("image/") else "OTHER"
                await self._publish(session, message, attachment.name, trace, suffix=suffix,
                                    attachments=[{"type": "FILE", "fileId": str(uploaded["id"]),
                                                  "fileUsageType": usage}])
                return
            refusal = (f"it could not be fetched (HTTP {response.status_code})" if not response.is_success
                       else f"it is larger than HubSpot's {MAX_FILE_BYTES // 1_000_000} MB limit")
        await self._publish(session, message, f"[Attachment {attachment.name} not attached: {refusal}. "
                                              f"Open it in relaydesk: {attachment.url}]", trace, suffix=suffix)

    async def _contact(self, session: SessionSnapshot, trace: SessionTrace) -> str:
        """The HubSpot contact of the visitor: by verified email (found, or named in a 409), else a new one."""
        if trace.contact_external_id:
            return trace.contact_external_id
        contact = session.contact
        first, _, last = (contact.name or "").partition(" ")
        properties = {k: v for k, v in {"firstname": first or "Website visitor", "lastname": last,
                                        "phone": contact.phone or ""}.items() if v}
        if contact.verified and contact.email:
            found = await self.client.find_contact_by_email(contact.email)
            found_id = str(found["id"]) if found is not None else await self._create_contact(
                {**properties, "email": contact.email}, reuse=True)
        elif contact.email:
            # A self-declared email is not proof: never attach the conversation to someone else's record.
            found_id = await self._create_contact({**properties, "email": contact.email}, reuse=False)
        else:
            found_id = await self._create_contact(properties, reuse=False)
        await trace.remember_contact(found_id)
        return found_id

    async def _create_contact(self, properties: dict[str, str], *, reuse: bool) -> str:
        """A new contact; on "already exists" the existing one (reuse) or a new one without the email."""
        try:
            return str((await self.client.create_contact(properties))["id"])
        except HubSpotError as exc:
            if exc.status != 409 or not exc.existing_id or "email" not in properties:
                raise
            if reuse:
                return exc.existing_id
        without_email = {k: v for k, v in properties.items() if k != "email"}
        return str((await self.client.create_contact(without_email))["id"])

    async def _has_comment(self, thread_id: str, marker: str) -> bool:
        messages = await self.client.thread_messages(thread_id)
        return any(m.get("type") == "COMMENT" and marker in str(m.get("text") or "") for m in messages)

    async def _comment(self, session: SessionSnapshot, thread_id: str, trace: SessionTrace) -> None:
        if trace.get("comment") is not None:
            return
        text, rich = handoff_note(session)
        existing = next((m for m in await self.client.thread_messages(thread_id)
                         if m.get("type") == "COMMENT" and session.url in str(m.get("text") or "")), None)
        comment = existing or await self.client.add_comment(thread_id, text, rich)
        await trace.add("comment", str(comment["id"]), self._thread_url(thread_id))

    async def _ticket(self, session: SessionSnapshot, thread_id: str, trace: SessionTrace) -> None:
        """Create the ticket, or adopt the one HubSpot's help desk (or an earlier attempt) tied to the thread."""
        if trace.get("ticket") is not None:
            return
        s, handoff = self.settings, session.handoff
        subject = f"Chat handoff: {session.visitor_name}" + (f" ({handoff.topic})" if handoff and handoff.topic else "")
        content = handoff_note(session)[0]
        thread = await self.client.get_thread(thread_id, with_ticket=True)
        ticket_id = (thread.get("threadAssociations") or {}).get("associatedTicketId")
        if ticket_id:
            await self.client.update_ticket(str(ticket_id), {"subject": subject, "content": content})
        else:
            associations = [{"to": {"id": thread_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                                 "associationTypeId": TICKET_TO_THREAD}]}]
            if trace.contact_external_id:
                associations.append({"to": {"id": trace.contact_external_id},
                                     "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                "associationTypeId": TICKET_TO_CONTACT}]})
            priority = "HIGH" if session.session.sentiment == "negative" else "MEDIUM"
            created = await self.client.create_ticket(
                {"subject": subject, "content": content, "hs_pipeline": s.ticket_pipeline,
                 "hs_pipeline_stage": s.ticket_stage, "hs_ticket_priority": priority},
                associations,
            )
            ticket_id = created["id"]
        await trace.add("ticket", str(ticket_id), self._record_url("0-5", str(ticket_id)))

    def _thread_url(self, thread_id: str) -> str:
        return f"{self.settings.app}/live-messages/{self.settings.portal_id}/inbox/{thread_id}"

    def _record_url(self, object_type: str, object_id: str) -> str:
        return f"{self.settings.app}/contacts/{self.settings.portal_id}/record/{object_type}/{object_id}"

    # inbound -----------------------------------------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> InboundBatch:
        webhooks.verify(self._secret("client_secret"), request)
        return webhooks.parse(request.body, webhooks.Scope(self.settings.app_id, self.settings.portal_id,
                                                           self.settings.channel_id))


def _refusal(attachment: TranscriptAttachment) -> str | None:
    if attachment.size is not None and attachment.size > MAX_FILE_BYTES:
        return f"it is larger than HubSpot's {MAX_FILE_BYTES // 1_000_000} MB limit"
    if attachment.content_type and attachment.content_type not in FILE_TYPES:
        return f"HubSpot's channel does not accept {attachment.content_type} files"
    return None


def handoff_note(session: SessionSnapshot) -> tuple[str, str]:
    """The internal comment (plain and rich text): reason, summary, sentiment, language, visitor, link back."""
    handoff, chat, contact = session.handoff, session.session, session.contact
    reason = HANDOFF_REASONS.get(handoff.reason, handoff.reason) if handoff else "handed off"
    if handoff and handoff.topic:
        reason += f" (topic: {handoff.topic})"
    sentiment = chat.sentiment or "unknown"
    if chat.sentiment_score is not None:
        sentiment += f" ({chat.sentiment_score:+.2f})"
    who = session.visitor_name
    if contact.email:
        who += f" <{contact.email}>" + ("" if contact.verified else " (email given in chat, not verified)")
    lines = [
        ("Reason", reason),
        ("Summary", chat.summary or (handoff.summary if handoff else None) or "no summary"),
        ("Sentiment", sentiment),
        ("Language", chat.language or "unknown"),
        ("Visitor", who),
        ("Session", session.url),
    ]
    text = "relaydesk AI handoff\n" + "\n".join(f"{label}: {value}" for label, value in lines)
    rich = "<p><b>relaydesk AI handoff</b></p>" + "".join(
        f"<p><b>{label}</b>: " + (f"<a href='{escape(value)}'>{escape(value)}</a>" if label == "Session"
                                  else escape(value)) + "</p>"
        for label, value in lines
    )
    return text, rich
