"""The Creatio connector: a handoff becomes a case, every message an activity on its timeline.

The case carries the summary (Symptoms, the case description), the session id and the customer in Notes, the
contact, owner, group, origin and the AI-filled columns. The first activity carries the link to the session; then
one activity per message, titled `relaydesk · #<seq> …`; a visitor's file is referenced by an activity and stored
as a CaseFile record. With `follow_every_conversation` the case is made from the first message and completed at
handoff. Creatio has no idempotency keys, so each write is checked first: the case by the session id in its notes,
activities by their title on the case, files by an id derived from the session, message and position.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar, cast

import httpx2
from pydantic import BaseModel

from relaydesk.connectors.base import (
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
from relaydesk.connectors.creatio import fields, lookups, webhooks
from relaydesk.connectors.creatio.client import CreatioClient, CreatioError, FileRecord, Json, literal
from relaydesk.connectors.creatio.settings import CreatioSettings
from relaydesk.connectors.creatio.webhooks import TITLE_PREFIX
from relaydesk.core.delivery import DeliveryError

REFRESH_MARGIN_S = 60.0
TITLE_CHARS = 250
AUTHORS = {"visitor": "Visitor", "ai": "AI assistant"}
MAX_FILE_BYTES = 10 * 1024 * 1024  # Creatio's MaxFileSize system setting out of the box
FILE_IDS = uuid.UUID("5b0f3c52-9d7e-4d1a-8f2e-6c3a1b9e7d40")  # namespace of the CaseFile ids relaydesk chooses
_sign_in_locks: dict[str, asyncio.Lock] = {}


def _snippet(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def case_notes(session: SessionSnapshot) -> str:
    """The case's notes: the session id relaydesk finds the case by, reason, sentiment, language, visitor."""
    handoff, chat, contact = session.handoff, session.session, session.contact
    reason = (handoff.reason.replace("_", " ") if handoff else "not handed off; the AI assistant is answering") + (
        f" (topic: {handoff.topic})" if handoff and handoff.topic else "")
    sentiment = chat.sentiment or "unknown"
    if chat.sentiment_score is not None:
        sentiment += f" ({chat.sentiment_score:+.2f})"
    who = session.visitor_name
    if contact.email:
        who += f" <{contact.email}>" + ("" if contact.verified else " (email given in chat, not verified)")
    if contact.phone:
        who += f", {contact.phone}"
    return "\n".join([f"relaydesk session: {session.id}", f"Reason: {reason}", f"Sentiment: {sentiment}",
                      f"Language: {chat.language or 'unknown'}", f"Customer: {who}"])


def summary_of(session: SessionSnapshot) -> str:
    """The conversation summary, as the AI wrote it at handoff."""
    handoff = session.handoff
    return session.session.summary or (handoff.summary if handoff else None) or "No summary"


class CreatioConnector:
    """Creatio as a handoff target."""

    name: ClassVar[str] = "creatio"
    title: ClassVar[str] = "Creatio"
    settings_model: ClassVar[type[BaseModel]] = CreatioSettings

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context
        self.settings = cast(CreatioSettings, context.settings)
        self.client = CreatioClient(context.http, self.settings.root, self.settings.odata, self._sign_in)

    # credentials -------------------------------------------------------------------------------------------------

    def _required(self, name: str, label: str) -> str:
        value = getattr(self.settings, name)
        text = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        if not text:
            mode = "OAuth 2.0" if self.settings.auth_mode == "oauth" else "the integration user sign-in"
            raise CheckFailed(f"{label} is needed to sign in with {mode}", setting=name)
        return str(text)

    async def _sign_in(self, force: bool) -> dict[str, str]:
        """Headers that authenticate: a bearer token or the session cookies with BPMCSRF, renewed when stale."""
        secrets, s = self.context.secrets, self.settings
        fresh = time.time() < float(secrets.get("expires_at") or 0) - REFRESH_MARGIN_S
        if force or not fresh or secrets.get("auth_mode") != s.auth_mode:
            async with _sign_in_locks.setdefault(self.context.integration_id, asyncio.Lock()):
                if s.auth_mode == "oauth":
                    token, ttl = await self.client.client_credentials(
                        self._required("token_url", "The identity service token URL"),
                        self._required("client_id", "The client ID"),
                        self._required("client_secret", "The client secret"))
                    await self.context.save_secrets({"auth_mode": "oauth", "access_token": token,
                                                     "expires_at": str(time.time() + ttl)})
                else:
                    session = await self.client.login(self._required("username", "The user name"),
                                                      self._required("password", "The password"))
                    await self.context.save_secrets({"auth_mode": "login", "cookie": session.cookie,
                                                     "csrf": session.csrf, "expires_at": str(time.time() + 1800)})
        if s.auth_mode == "oauth":
            return {"Authorization": f"Bearer {secrets['access_token']}"}
        return {"Cookie": secrets["cookie"], "BPMCSRF": secrets["csrf"]}

    # check, activate ---------------------------------------------------------------------------------------------

    async def check(self) -> CheckReport:
        """Sign in, look every lookup up by name, and confirm the owner, group, resolved status and columns exist."""
        try:
            found = await lookups.find(self.client, self.settings)
            await self.client.query("Case", "Id", top=1)
        except CreatioError as exc:
            raise self._refusal(exc) from exc
        who = "the OAuth 2.0 client" if self.settings.auth_mode == "oauth" else self.settings.username
        return CheckReport(f"Connected to {self.settings.root} as {who}; cases are readable",
                           {"lookups": found.lookup_ids, "ai_field_ids": found.ai_field_ids})

    def _refusal(self, exc: CreatioError) -> CheckFailed:
        s, what = self.settings, exc.what
        if exc.status == 0:
            setting = "token_url" if what == "get an access token" else "instance_url"
            return CheckFailed(f"Creatio cannot be reached: {exc.message}", setting=setting)
        if what == "get an access token":
            if "invalid_client" in exc.message:
                return CheckFailed("The identity service refused the client ID or client secret: copy them again "
                                   "from the OAuth 2.0 integrated application", setting="client_secret")
            return CheckFailed(f"The identity service refused the token request ({exc.message}): check the token "
                               "URL and that the application uses the client credentials grant", setting="token_url")
        if what == "sign in as the integration user":
            return CheckFailed(f"Creatio refused the user name or password: {exc.message}", setting="password")
        if exc.status == 404:
            other = "/odata" if s.odata.endswith("/0/odata") else "/0/odata"
            return CheckFailed(f"No OData 4 service at {s.odata} ({exc.message}); if the instance runs on "
                               f".NET {'8' if other == '/odata' else 'Framework'}, end the URL with {other}",
                               setting="instance_url")
        if exc.status in (401, 403):
            return CheckFailed(f"Creatio refused access ({exc.message}): the integration user needs read and "
                               "write access to cases, contacts and activities")
        return CheckFailed(f"Creatio refused the check: {exc}")

    def authorize_url(self, redirect_uri: str, state: str) -> str | None:
        """None: Creatio's client credentials need no browser step."""
        return None

    async def authorize(self, code: str, redirect_uri: str) -> None:
        """Never called: there is no authorization code to exchange."""
        raise CheckFailed("Creatio connects with client credentials or a user sign-in; no authorization step")

    async def activate(self) -> dict[str, Any]:
        """Keep the ids found by name, so every case and activity uses this tenant's records."""
        try:
            found = await lookups.find(self.client, self.settings)
        except CreatioError as exc:
            raise self._refusal(exc) from exc
        return {"lookup_ids": found.lookup_ids, "ai_field_ids": found.ai_field_ids}

    # outbound ----------------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _delivering(self) -> AsyncIterator[None]:
        """Creatio errors as delivery outcomes: retry what may pass later; flag the integration when access fails."""
        try:
            yield
        except CheckFailed as exc:
            await self.context.report_problem(exc.reason)
            raise DeliveryError(exc.reason, permanent=True) from exc
        except CreatioError as exc:
            if exc.retryable:
                raise DeliveryError(str(exc), retry_after_s=exc.retry_after_s) from exc
            if exc.status in (401, 403) or exc.what in ("get an access token", "sign in as the integration user"):
                await self.context.report_problem(f"Creatio refused relaydesk's credentials: {exc}")
            raise DeliveryError(str(exc), permanent=True) from exc

    def _lookup(self, key: str) -> str:
        found = self.settings.lookup_ids.get(key)
        if not found:
            raise DeliveryError("Creatio is not set up: save the integration again in Settings, Integrations",
                                permanent=True)
        return found

    async def start_handoff(
        self, session: SessionSnapshot, transcript: list[TranscriptMessage], trace: SessionTrace
    ) -> None:
        """Make the case, or complete the one made on the first message, then the handoff note and the transcript."""
        async with self._delivering():
            contact_id = await self._contact(session, trace)
            values = await self._handoff_values(session, transcript, contact_id)
            case_id = await self._find_case(session, trace)
            if case_id is None:
                case_id = await self._create_case(values | self._assignment())
            else:
                await self._complete(case_id, values)
            await self._link(case_id, trace)
            existing = await self._titles(case_id)
            marker = f"[{session.handoff.id[:8]}]" if session.handoff else ""
            if not any(t.startswith(f"{TITLE_PREFIX}handoff") and marker in t for t in existing):
                await self._activity(case_id, contact_id,
                                     f"{TITLE_PREFIX}handoff: {_snippet(session.visitor_name, 60)} {marker}",
                                     f"{summary_of(session)}\n\n{case_notes(session)}\n\n"
                                     f"View session in relaydesk: {session.url}")
            for message in transcript:
                await self._log(session, message, case_id, contact_id, existing)

    async def send_visitor_message(
        self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace
    ) -> None:
        async with self._delivering():
            case_id = await self._session_case(session, message, trace)
            if case_id is not None:
                existing = await self._titles(case_id, f"{TITLE_PREFIX}#{message.seq}")
                await self._log(session, message, case_id, trace.contact_external_id, existing,
                                with_attachments=False)

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
            case_id = await self._session_case(session, message, trace)
            if case_id is not None:
                existing = await self._titles(case_id, f"{TITLE_PREFIX}#{message.seq}.")
                await self._attachment(session, message, attachment, index, case_id, trace.contact_external_id,
                                       existing)

    async def acknowledge(self, session: SessionSnapshot, external_message_id: str, trace: SessionTrace) -> None:
        """Nothing to tell: Creatio keeps no delivery state for activities."""

    async def resolve(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._set_resolved(trace, None)

    async def close(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._set_resolved(trace, None)

    async def hand_back(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        """A note on the case; the case is resolved too unless it follows the whole conversation, AI part included."""
        await self._set_resolved(trace, f"{TITLE_PREFIX}handed back to the AI [{trace.operation}]",
                                 resolve=not self.settings.follow_every_conversation)

    async def _set_resolved(self, trace: SessionTrace, note: str | None, *, resolve: bool = True) -> None:
        """Move the case to the resolved status unless it is there already (Creatio may be where it was resolved)."""
        case = trace.get("case")
        if case is None:
            return
        async with self._delivering():
            if note is not None and note not in await self._titles(case.external_id):
                await self._activity(case.external_id, trace.contact_external_id, note,
                                     "The visitor's new messages go to the AI assistant.")
            resolved = self._lookup("resolved_status")
            current = await self.client.read("Case", case.external_id, "Id,StatusId") if resolve else None
            if current is not None and str(current.get("StatusId") or "").lower() != resolved:
                await self.client.update("Case", case.external_id, {"StatusId": resolved})

    # the case ----------------------------------------------------------------------------------------------------

    async def _session_case(self, session: SessionSnapshot, first: TranscriptMessage,
                            trace: SessionTrace) -> str | None:
        """The case a message goes to, with the visitor linked if they signed in since; made from this message when
        the integration follows every conversation; None when there is nothing to log to."""
        linked = trace.get("case")
        if linked is not None:
            await self._relink(session, linked.external_id, trace)
            return linked.external_id
        if not self.settings.follow_every_conversation:
            if session.session.state == "ai":
                return None  # queued while the integration followed every conversation
            raise DeliveryError("the Creatio case for this session does not exist yet: the handoff has not been "
                                "delivered (see the handoff delivery for its error)")
        contact_id = await self._contact(session, trace)
        case_id = await self._find_case(session, trace) or await self._create_case({
            "Subject": _snippet(f"Chat: {session.visitor_name}", TITLE_CHARS),
            "Symptoms": first.text or "(a file)", "Notes": case_notes(session), "ContactId": contact_id,
            "StatusId": self._lookup("new_status"), "OriginId": self._lookup("origin")})
        if not await self._titles(case_id, f"{TITLE_PREFIX}conversation"):
            await self._activity(case_id, contact_id, f"{TITLE_PREFIX}conversation: {_snippet(session.visitor_name)}",
                                 "The AI assistant is answering; every message is logged here as it happens, and "
                                 f"the case is completed if it hands off.\n\n{case_notes(session)}\n\n"
                                 f"View session in relaydesk: {session.url}")
        await self._link(case_id, trace)
        return case_id

    async def _find_case(self, session: SessionSnapshot, trace: SessionTrace) -> str | None:
        """The session's case: linked, or found by the session id in its notes (made by an attempt cut short)."""
        linked = trace.get("case")
        if linked is not None:
            return linked.external_id
        rows = await self.client.query("Case", "Id", filter=f"contains(Notes,{literal(session.id)})", top=1)
        return str(rows[0]["Id"]).lower() if rows else None

    async def _create_case(self, values: Json) -> str:
        return str((await self.client.create("Case", values))["Id"]).lower()

    async def _link(self, case_id: str, trace: SessionTrace) -> None:
        await trace.add("case", case_id, f"{self.settings.root}/0/Shell/#Card/Case_FormPage/edit/{case_id}")

    def _assignment(self) -> Json:
        """What a case made at handoff starts with: status, origin, and the default owner and group if set."""
        s = self.settings
        values: Json = {"StatusId": self._lookup("new_status"), "OriginId": self._lookup("origin")}
        if s.default_owner_id:
            values["OwnerId"] = s.default_owner_id
        if s.group_id:
            values["GroupId"] = s.group_id
        return values

    async def _handoff_values(
        self, session: SessionSnapshot, transcript: list[TranscriptMessage], contact_id: str
    ) -> Json:
        """Subject, summary, notes, contact and the AI-filled columns; lookup dropdowns as the ids found at connect."""
        s, handoff = self.settings, session.handoff
        topic = f" ({handoff.topic})" if handoff and handoff.topic else ""
        values: Json = {"Subject": _snippet(f"Chat handoff: {session.visitor_name}{topic}", TITLE_CHARS),
                        "Symptoms": summary_of(session), "Notes": case_notes(session), "ContactId": contact_id}
        filled = await fields.fill(s.ai_fields, transcript, summary_of(session), self.context.http)
        for f in s.ai_fields:
            value = filled.get(f.column)
            if value is not None and f.lookup:
                value = s.ai_field_ids.get(f.column, {}).get(value)  # never a guess: only ids found by name
            if value is not None:
                values[f.column] = value
        return values

    async def _complete(self, case_id: str, values: Json) -> None:
        """Bring a case made earlier up to the handoff: owner and group where unset, reopened if it was resolved."""
        s, patch = self.settings, dict(values)
        current = await self.client.read("Case", case_id, "Id,StatusId,OwnerId,GroupId") or {}
        if s.default_owner_id and not current.get("OwnerId"):
            patch["OwnerId"] = s.default_owner_id
        if s.group_id and not current.get("GroupId"):
            patch["GroupId"] = s.group_id
        if str(current.get("StatusId") or "").lower() == self._lookup("resolved_status"):
            patch["StatusId"] = self._lookup("new_status")
        await self.client.update("Case", case_id, patch)

    # the contact -------------------------------------------------------------------------------------------------

    async def _contact(self, session: SessionSnapshot, trace: SessionTrace, known: str | None = None) -> str:
        """The visitor's contact: by verified email; anonymous visitors get one of their own (or `known`, the case's),
        which gets the email once they sign in."""
        contact = session.contact
        known = trace.contact_external_id or known
        if contact.verified and contact.email:
            rows = await self.client.query("Contact", "Id,Email", filter=f"Email eq {literal(contact.email)}", top=1)
            if rows:
                found = str(rows[0]["Id"]).lower()
            elif known:
                await self.client.update("Contact", known, {"Email": contact.email, "Name": session.visitor_name})
                found = known
            else:
                found = str((await self.client.create("Contact", {"Name": session.visitor_name,
                                                                   "Email": contact.email}))["Id"]).lower()
        elif known:
            return known
        else:
            values = {"Name": session.visitor_name, **({"MobilePhone": contact.phone} if contact.phone else {})}
            found = str((await self.client.create("Contact", values))["Id"]).lower()
        if found != trace.contact_external_id:
            await trace.remember_contact(found)
        return found

    async def _relink(self, session: SessionSnapshot, case_id: str, trace: SessionTrace) -> None:
        """A visitor who signed in after the case was made (their verified contact has no Creatio id yet): the
        case moves to the Creatio contact with that email, or its own contact is given the email."""
        contact = session.contact
        if not (contact.verified and contact.email) or trace.contact_external_id:
            return
        case = await self.client.read("Case", case_id, "Id,ContactId") or {}
        current = str(case.get("ContactId") or "").lower() or None
        found = await self._contact(session, trace, current)
        if found != current:
            await self.client.update("Case", case_id, {"ContactId": found})

    # activities and files ----------------------------------------------------------------------------------------

    async def _titles(self, case_id: str, containing: str | None = None) -> set[str]:
        """The titles of the case's activities (those containing `containing`, when given)."""
        where = f"CaseId eq {case_id}" + (f" and contains(Title,{literal(containing)})" if containing else "")
        rows = await self.client.query("Activity", "Id,Title", filter=where)
        return {str(r.get("Title") or "") for r in rows}

    async def _activity(self, case_id: str, contact_id: str | None, title: str, text: str) -> None:
        s = self.settings
        values: Json = {"Title": title[:TITLE_CHARS], "Notes": text, "CaseId": case_id,
                        "TypeId": self._lookup("activity_type"),
                        "ActivityCategoryId": self._lookup("activity_category"),
                        "StatusId": self._lookup("activity_status")}
        if contact_id:
            values["ContactId"] = contact_id
        if s.default_owner_id:
            values["OwnerId"] = s.default_owner_id
        await self.client.create("Activity", values)

    async def _log(self, session: SessionSnapshot, message: TranscriptMessage, case_id: str,
                   contact_id: str | None, titles: set[str], *, with_attachments: bool = True) -> None:
        """One activity per message (titled by its seq, so a retry finds it), then one per attachment."""
        prefix = f"{TITLE_PREFIX}#{message.seq} "
        if message.text.strip() and not any(t.startswith(prefix) for t in titles):
            author = AUTHORS.get(message.author, message.author)
            await self._activity(case_id, contact_id, f"{prefix}{author}: {_snippet(message.text)}", message.text)
        if with_attachments:
            for index, attachment in enumerate(message.attachments):
                await self._attachment(session, message, attachment, index, case_id, contact_id, titles)

    async def _attachment(self, session: SessionSnapshot, message: TranscriptMessage,
                          attachment: TranscriptAttachment, index: int, case_id: str, contact_id: str | None,
                          titles: set[str]) -> None:
        """A file the visitor sent: stored on the case (CaseFile), then referenced by an activity with its link."""
        prefix = f"{TITLE_PREFIX}#{message.seq}.{index + 1} "
        if any(t.startswith(prefix) for t in titles):
            return
        stored = await self._store_file(session, message, attachment, index, case_id)
        details = ", ".join(x for x in (attachment.content_type or "",
                                        f"{attachment.size} bytes" if attachment.size is not None else "") if x)
        await self._activity(case_id, contact_id, f"{prefix}Attachment: {_snippet(attachment.name)}",
                             f"Attachment: {attachment.name}" + (f" ({details})" if details else "")
                             + f"\n{attachment.url}\n{stored}")

    async def _store_file(self, session: SessionSnapshot, message: TranscriptMessage,
                          attachment: TranscriptAttachment, index: int, case_id: str) -> str:
        """Copy the file into the case's attachments once (its record id is derived, so a retry finds it); what
        happened, for the activity. A file Creatio or relaydesk cannot provide stays a link, and says why."""
        file_id = str(uuid.uuid5(FILE_IDS, f"{session.id}:{message.seq}:{index}"))
        if await self.client.read("CaseFile", file_id, "Id") is not None:
            return "Saved in the case's attachments."
        if attachment.size is not None and attachment.size > MAX_FILE_BYTES:
            return f"Not saved in the case's attachments: larger than {MAX_FILE_BYTES // 1024 // 1024} MB."
        try:
            response = await self.context.http.get(attachment.url)
        except httpx2.HTTPError as exc:
            raise DeliveryError(f"download {attachment.name} from relaydesk: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise DeliveryError(f"download {attachment.name} from relaydesk: HTTP {response.status_code}")
        if not response.is_success or not response.content or len(response.content) > MAX_FILE_BYTES:
            reason = f"HTTP {response.status_code}" if not response.is_success else "empty or too large"
            return f"Not saved in the case's attachments: the file could not be copied ({reason})."
        record = FileRecord(file_id, "CaseFile", attachment.name, attachment.content_type or
                            "application/octet-stream", "Case", case_id)
        try:
            await self.client.upload_file(record, response.content)
        except CreatioError as exc:
            if exc.retryable or exc.status in (401, 403):
                raise
            return f"Not saved in the case's attachments: Creatio refused it ({exc.message})."
        return "Saved in the case's attachments."

    # inbound -----------------------------------------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> InboundBatch:
        try:
            return await webhooks.parse(request.body, webhooks.Scope(
                self.client, self.settings.resolved_status_id or self.settings.lookup_ids.get("resolved_status")))
        except CreatioError as exc:
            raise webhooks.ConfirmationFailed(f"confirming the call with Creatio failed: {exc}") from exc
