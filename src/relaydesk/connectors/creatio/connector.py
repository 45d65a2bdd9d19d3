"""The Creatio connector: a handoff becomes a case, every message an activity on its timeline.

The case carries the summary (Symptoms, the case description), the session id and the customer in Notes, the
contact, owner, group, origin and the AI-filled columns. The first activity is the handoff note with the link to
the session; then one activity per message, titled `relaydesk · #<seq> …`. Creatio has no idempotency keys, so
each write is checked first: the case by the session id in its notes, activities by their title on the case.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar, cast

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
from relaydesk.connectors.creatio import fields, webhooks
from relaydesk.connectors.creatio.client import CreatioClient, CreatioError, Json, literal
from relaydesk.connectors.creatio.settings import CreatioSettings
from relaydesk.connectors.creatio.webhooks import TITLE_PREFIX
from relaydesk.core.delivery import DeliveryError

REFRESH_MARGIN_S = 60.0
TITLE_CHARS = 250
LOOKUPS = (  # key in lookup_ids, entity, setting naming the record
    ("new_status", "CaseStatus", "new_status"),
    ("resolved_status", "CaseStatus", "resolved_status"),
    ("origin", "CaseOrigin", "case_origin"),
    ("activity_type", "ActivityType", "activity_type"),
    ("activity_category", "ActivityCategory", "activity_category"),
    ("activity_status", "ActivityStatus", "activity_status"),
)
AUTHORS = {"visitor": "Visitor", "ai": "AI assistant"}
_sign_in_locks: dict[str, asyncio.Lock] = {}


def _snippet(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def case_notes(session: SessionSnapshot) -> str:
    """The case's notes: the session id relaydesk finds the case by, reason, sentiment, language, visitor."""
    handoff, chat, contact = session.handoff, session.session, session.contact
    reason = (handoff.reason.replace("_", " ") if handoff else "handed off") + (
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
        """Sign in, read the lookups by name, and confirm the owner, group and resolved status exist."""
        try:
            lookups = await self._find_lookups()
        except CreatioError as exc:
            raise self._refusal(exc) from exc
        await self.client.query("Case", "Id", top=1)
        who = "the OAuth 2.0 client" if self.settings.auth_mode == "oauth" else self.settings.username
        return CheckReport(f"Connected to {self.settings.root} as {who}; cases are readable", {"lookups": lookups})

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

    async def _find_lookups(self) -> dict[str, str]:
        """Each lookup's id by its configured name (tenants differ), and the configured ids proven to exist."""
        s, found = self.settings, {}
        for key, entity, setting in LOOKUPS:
            if key == "resolved_status" and s.resolved_status_id:
                rows = await self.client.query(entity, "Id,Name", filter=f"Id eq {s.resolved_status_id}")
                if not rows:
                    raise CheckFailed(f"No case status {s.resolved_status_id} in Creatio",
                                      setting="resolved_status_id")
            else:
                name = str(getattr(s, setting))
                rows = await self.client.query(entity, "Id,Name", filter=f"Name eq {literal(name)}", top=1)
                if not rows:
                    names = ", ".join(str(r.get("Name")) for r in await self.client.query(entity, "Id,Name"))
                    raise CheckFailed(f"No {entity} named {name!r} in Creatio; there are: {names or 'none'}",
                                      setting=setting)
            found[key] = str(rows[0]["Id"]).lower()
        if s.default_owner_id and not await self.client.read("Contact", s.default_owner_id, "Id"):
            raise CheckFailed(f"No contact {s.default_owner_id} in Creatio to own cases", setting="default_owner_id")
        if s.group_id and not await self.client.read("SysAdminUnit", s.group_id, "Id"):
            raise CheckFailed(f"No group (role) {s.group_id} in Creatio", setting="group_id")
        return found

    def authorize_url(self, redirect_uri: str, state: str) -> str | None:
        """None: Creatio's client credentials need no browser step."""
        return None

    async def authorize(self, code: str, redirect_uri: str) -> None:
        """Never called: there is no authorization code to exchange."""
        raise CheckFailed("Creatio connects with client credentials or a user sign-in; no authorization step")

    async def activate(self) -> dict[str, Any]:
        """Keep the lookup ids found by name, so every case and activity uses this tenant's records."""
        try:
            return {"lookup_ids": await self._find_lookups()}
        except CreatioError as exc:
            raise self._refusal(exc) from exc

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
        async with self._delivering():
            contact_id = await self._contact(session, trace)
            case_id = await self._case(session, transcript, contact_id, trace)
            existing = await self._titles(case_id)
            note_title = f"{TITLE_PREFIX}handoff: {_snippet(session.visitor_name, 60)}"
            if not any(t.startswith(f"{TITLE_PREFIX}handoff") for t in existing):
                await self._activity(case_id, contact_id, note_title, f"{summary_of(session)}\n\n"
                                     f"{case_notes(session)}\n\nView session in relaydesk: {session.url}")
            for message in transcript:
                await self._log(message, case_id, contact_id, existing)

    async def send_visitor_message(
        self, session: SessionSnapshot, message: TranscriptMessage, trace: SessionTrace
    ) -> None:
        async with self._delivering():
            case_id = self._case_id(trace)
            await self._log(message, case_id, trace.contact_external_id, await self._titles(case_id),
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
            case_id = self._case_id(trace)
            titles = await self._titles(case_id)
            await self._attachment(message, attachment, index, case_id, trace.contact_external_id, titles)

    async def acknowledge(self, session: SessionSnapshot, external_message_id: str, trace: SessionTrace) -> None:
        """Nothing to tell: Creatio keeps no delivery state for activities."""

    async def resolve(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._set_resolved(trace, None)

    async def close(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._set_resolved(trace, None)

    async def hand_back(self, session: SessionSnapshot, trace: SessionTrace) -> None:
        await self._set_resolved(trace, f"{TITLE_PREFIX}handed back to the AI [{trace.operation}]")

    async def _set_resolved(self, trace: SessionTrace, note: str | None) -> None:
        """Move the case to the resolved status unless it is there already (Creatio may be where it was resolved)."""
        case = trace.get("case")
        if case is None:
            return
        async with self._delivering():
            if note is not None and note not in await self._titles(case.external_id):
                await self._activity(case.external_id, trace.contact_external_id, note,
                                     "The visitor's new messages go to the AI assistant.")
            resolved = self._lookup("resolved_status")
            current = await self.client.read("Case", case.external_id, "Id,StatusId")
            if current is not None and str(current.get("StatusId") or "").lower() != resolved:
                await self.client.update("Case", case.external_id, {"StatusId": resolved})

    def _case_id(self, trace: SessionTrace) -> str:
        case = trace.get("case")
        if case is None:
            raise DeliveryError("the Creatio case for this session does not exist yet: the handoff has not been "
                                "delivered (see the handoff delivery for its error)")
        return case.external_id

    async def _contact(self, session: SessionSnapshot, trace: SessionTrace) -> str:
        """The visitor's contact: by verified email; anonymous visitors get one of their own, linked once verified."""
        contact, known = session.contact, trace.contact_external_id
        if contact.verified and contact.email:
            rows = await self.client.query("Contact", "Id,Email", filter=f"Email eq {literal(contact.email)}", top=1)
            if rows:
                found = str(rows[0]["Id"]).lower()
            elif known:
                await self.client.update("Contact", known, {"Email": contact.email})
                found = known
            else:
                found = str((await self.client.create("Contact", {"Name": session.visitor_name,
                                                                   "Email": contact.email}))["Id"]).lower()
        elif known:
            return known
        else:
            values = {"Name": session.visitor_name, **({"MobilePhone": contact.phone} if contact.phone else {})}
            found = str((await self.client.create("Contact", values))["Id"]).lower()
        if found != known:
            await trace.remember_contact(found)
        return found

    async def _case(
        self, session: SessionSnapshot, transcript: list[TranscriptMessage], contact_id: str, trace: SessionTrace
    ) -> str:
        """The session's case: linked, or found by the session id in its notes, or created now."""
        linked = trace.get("case")
        if linked is not None:
            return linked.external_id
        rows = await self.client.query("Case", "Id,Number", filter=f"contains(Notes,{literal(session.id)})", top=1)
        if rows:
            case = rows[0]
        else:
            s, handoff = self.settings, session.handoff
            topic = f" ({handoff.topic})" if handoff and handoff.topic else ""
            values: Json = {
                "Subject": _snippet(f"Chat handoff: {session.visitor_name}{topic}", TITLE_CHARS),
                "Symptoms": summary_of(session), "Notes": case_notes(session), "ContactId": contact_id,
                "StatusId": self._lookup("new_status"), "OriginId": self._lookup("origin"),
            }
            if s.default_owner_id:
                values["OwnerId"] = s.default_owner_id
            if s.group_id:
                values["GroupId"] = s.group_id
            values.update(await fields.fill(s.ai_fields, transcript, summary_of(session), self.context.http))
            case = await self.client.create("Case", values)
        case_id = str(case["Id"]).lower()
        await trace.add("case", case_id, f"{self.settings.root}/0/Shell/#Card/Case_FormPage/edit/{case_id}")
        return case_id

    async def _titles(self, case_id: str) -> set[str]:
        rows = await self.client.query("Activity", "Id,Title", filter=f"CaseId eq {case_id}")
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

    async def _log(self, message: TranscriptMessage, case_id: str, contact_id: str | None, titles: set[str],
                   *, with_attachments: bool = True) -> None:
        """One activity per message (titled by its seq, so a retry finds it), then one per attachment."""
        prefix = f"{TITLE_PREFIX}#{message.seq} "
        if message.text.strip() and not any(t.startswith(prefix) for t in titles):
            author = AUTHORS.get(message.author, message.author)
            await self._activity(case_id, contact_id, f"{prefix}{author}: {_snippet(message.text)}", message.text)
        if with_attachments:
            for index, attachment in enumerate(message.attachments):
                await self._attachment(message, attachment, index, case_id, contact_id, titles)

    async def _attachment(self, message: TranscriptMessage, attachment: TranscriptAttachment, index: int,
                          case_id: str, contact_id: str | None, titles: set[str]) -> None:
        """A file the visitor sent, referenced by its link in relaydesk (Creatio keeps no copy)."""
        prefix = f"{TITLE_PREFIX}#{message.seq}.{index + 1} "
        if any(t.startswith(prefix) for t in titles):
            return
        details = ", ".join(x for x in (attachment.content_type or "",
                                        f"{attachment.size} bytes" if attachment.size is not None else "") if x)
        await self._activity(case_id, contact_id, f"{prefix}Attachment: {_snippet(attachment.name)}",
                             f"Attachment: {attachment.name}" + (f" ({details})" if details else "")
                             + f"\n{attachment.url}")

    # inbound -----------------------------------------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> InboundBatch:
        try:
            return await webhooks.parse(request.body, webhooks.Scope(
                self.client, self.settings.resolved_status_id or self.settings.lookup_ids.get("resolved_status")))
        except CreatioError as exc:
            raise webhooks.ConfirmationFailed(f"confirming the call with Creatio failed: {exc}") from exc
