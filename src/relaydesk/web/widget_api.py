"""The widget API under /api/widget/v1: what the embedded widget calls on the visitor's behalf."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import ValidationError
from sse_starlette.sse import EventSourceResponse
from starlette.exceptions import HTTPException

from relaydesk.agent.policy import OfficeHours
from relaydesk.channels.widget.copy import RTL, accepted_languages, choose_language, strings_for
from relaydesk.channels.widget.cors import WidgetRoute
from relaydesk.channels.widget.csat import submit_csat
from relaydesk.channels.widget.limits import Rate, RateLimiter, WidgetRates, retry_after_header
from relaydesk.channels.widget.settings import UPLOAD_TYPES, widget_settings
from relaydesk.channels.widget.uploads import UploadRefused, UploadStore
from relaydesk.core.conversations import NewMessage, contact_view, message_view, new_device_id, session_view
from relaydesk.core.errors import Conflict, NotFound, UnprocessableMessage
from relaydesk.core.models import ChatSession, Workspace
from relaydesk.core.states import OPEN_STATES, Action, State
from relaydesk.web.deps import RuntimeDep, Visitor, WidgetWorkspace, widget_visitor
from relaydesk.web.schemas import (
    ContactIn,
    ContactTokenOut,
    CsatIn,
    ErrorResponse,
    MessageList,
    PostedOut,
    SessionIn,
    SessionList,
    SessionOut,
    UploadOut,
    VisitorMessageIn,
    WidgetConfigOut,
)
from relaydesk.web.stream import parse_cursor, resanitized, session_events

log = structlog.get_logger(__name__)


def rate_limiter(request: Request) -> RateLimiter:
    """The process's widget rate limiter, made on first use (tests may put their own on `app.state`)."""
    limiter: RateLimiter | None = getattr(request.app.state, "widget_rate_limiter", None)
    if limiter is None:
        settings = request.app.state.runtime.settings
        rates = WidgetRates(
            per_ip=Rate(settings.widget_ip_burst, settings.widget_ip_per_second),
            per_contact=Rate(settings.widget_contact_burst, settings.widget_contact_per_second),
        )
        limiter = request.app.state.widget_rate_limiter = RateLimiter(rates)
    return limiter


def _charge(limiter: RateLimiter, key: str, rate: Rate, who: str) -> None:
    wait_s = limiter.take(key, rate)
    if wait_s > 0:
        retry = retry_after_header(wait_s)
        raise HTTPException(429, f"too many requests from this {who}; retry in {retry} s", {"Retry-After": retry})


def limit_ip(request: Request) -> None:
    """Every widget request counts against its client address."""
    limiter = rate_limiter(request)
    _charge(limiter, f"ip:{request.client.host if request.client else '-'}", limiter.rates.per_ip, "address")


async def limited_visitor(request: Request, visitor: Annotated[Visitor, Depends(widget_visitor)]) -> Visitor:
    """The visitor, once their request is counted against their contact."""
    limiter = rate_limiter(request)
    _charge(limiter, f"contact:{visitor.contact_id}", limiter.rates.per_contact, "contact")
    return visitor


VisitorDep = Annotated[Visitor, Depends(limited_visitor)]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}
router = APIRouter(
    prefix="/api/widget/v1",
    tags=["widget"],
    responses=ERRORS,
    route_class=WidgetRoute,
    dependencies=[Depends(limit_ip)],
)


def office_hours_open(workspace: Workspace, now: datetime) -> bool | None:
    """Whether people answer now by the workspace's handoff office hours; None when it keeps none."""
    raw = (((workspace.settings or {}).get("agent") or {}).get("handoff") or {}).get("office_hours")
    if not raw:
        return None
    try:
        return OfficeHours.model_validate(raw).is_open(now)
    except ValidationError:
        return None


@router.get("/config", response_model=WidgetConfigOut, response_model_by_alias=True)
async def widget_config(
    workspace: WidgetWorkspace,
    runtime: RuntimeDep,
    lang: Annotated[str | None, Query(max_length=35, description="the page's choice of language")] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> dict[str, Any]:
    """The workspace's widget settings and copy: names, colours, greeting, questions, office hours and limits.

    The language is the page's choice (`?lang=`), else the workspace's, else the browser's (Accept-Language), else
    English, among the languages the workspace offers.
    """
    settings = widget_settings(workspace)
    language = choose_language([lang, settings.language, *accepted_languages(accept_language)], settings.languages)
    types = [t for t in settings.upload_types if t in UPLOAD_TYPES]
    return {
        "title": settings.title or workspace.name,
        "bot": {"name": settings.bot_name, "avatar_url": settings.bot_avatar_url},
        "agent": {"name": settings.agent_name, "avatar_url": settings.agent_avatar_url},
        "theme": {"brand_color": settings.brand_color, "mode": settings.theme, "position": settings.position},
        "greeting": settings.greeting,
        "suggested_questions": settings.suggested_questions,
        "language": language,
        "direction": "rtl" if language in RTL else "ltr",
        "languages": settings.languages,
        "copy": strings_for(language, settings.copy_overrides),
        "office_hours": {
            "open": office_hours_open(workspace, datetime.now(UTC)),
            "notice": settings.office_hours_notice,
        },
        "csat": {"enabled": settings.csat_enabled, "low_score_comment": settings.csat_low_score_comment},
        "uploads": {
            "max_bytes": _upload_limit(settings.max_upload_bytes, runtime.settings.max_upload_bytes),
            "types": types,
            "extensions": [ext for t in types for ext in UPLOAD_TYPES[t]],
        },
        "max_message_chars": runtime.settings.max_message_chars,
    }


UPLOAD_PATH = "/api/widget/v1/uploads"


def _upload_limit(configured: int, server_limit: int) -> int:
    """The largest file a visitor may send: the workspace's limit, within the server's."""
    return min(configured, server_limit)


@router.post("/contacts", response_model=ContactTokenOut, status_code=201)
async def create_contact(body: ContactIn, workspace: WidgetWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    """An anonymous or self-declared (unverified) contact, and the device token the widget keeps."""
    contact = await runtime.conversations.create_contact(
        workspace.id,
        name=body.name,
        email=str(body.email) if body.email else None,
        phone=body.phone,
        unverified_custom_data=dict(body.custom_data),
    )
    token = runtime.box.sign_token({"ws": workspace.id, "sub": contact.id, "dev": new_device_id(), "ver": False})
    return {"token": token, "contact": contact_view(contact)}


async def _visible_session(runtime: RuntimeDep, visitor: Visitor, session_id: str) -> ChatSession:
    """The session if this visitor may see it: verified contacts see all theirs, others only this device's."""
    session = await runtime.conversations.get_session(visitor.workspace.id, session_id)
    mine = session.contact_id == visitor.contact_id
    if not mine:
        contact = await runtime.conversations.get_contact(visitor.workspace.id, session.contact_id)
        mine = contact.merged_into_id == visitor.contact_id
    if not mine or (not visitor.verified and session.device_id != visitor.device_id):
        raise NotFound(f"no session {session_id} for this contact")
    return session


@router.post("/sessions", response_model=SessionOut, status_code=201)
async def open_session(body: SessionIn, visitor: VisitorDep, runtime: RuntimeDep) -> dict[str, Any]:
    session = await runtime.conversations.open_session(
        visitor.workspace.id, visitor.contact_id, channel="widget", device_id=visitor.device_id, language=body.language
    )
    return session_view(session)


@router.get("/sessions", response_model=SessionList)
async def list_sessions(visitor: VisitorDep, runtime: RuntimeDep) -> dict[str, Any]:
    sessions = await runtime.conversations.list_sessions(
        visitor.workspace.id, contact_id=visitor.contact_id, device_id=None if visitor.verified else visitor.device_id
    )
    return {"sessions": [session_view(s) for s in sessions]}


@router.get("/sessions/{session_id}/messages", response_model=MessageList)
async def list_messages(
    session_id: str, visitor: VisitorDep, runtime: RuntimeDep, after: Annotated[int, Query(ge=0)] = 0
) -> dict[str, Any]:
    await _visible_session(runtime, visitor, session_id)
    messages = await runtime.conversations.messages_after(visitor.workspace.id, session_id, after)
    return {"messages": [resanitized(message_view(m)) for m in messages if m.kind != "note"]}


@router.post(
    "/sessions/{session_id}/messages",
    response_model=PostedOut,
    status_code=201,
    responses={200: {"model": PostedOut, "description": "a repeat of an earlier client_id"}},
)
async def post_message(session_id: str, body: VisitorMessageIn, visitor: VisitorDep, runtime: RuntimeDep) -> Any:
    """A visitor message, committed before this answers; a retry with the same client_id returns the first."""
    session = await _visible_session(runtime, visitor, session_id)
    if not body.text.strip() and not body.attachments:
        raise UnprocessableMessage("a message needs text or an attachment")
    if len(body.text) > runtime.settings.max_message_chars:
        raise UnprocessableMessage(f"a message may be at most {runtime.settings.max_message_chars} characters")
    new = NewMessage(
        author="visitor",
        text=body.text,
        client_id=body.client_id,
        attachments=[a.model_dump() for a in body.attachments],
        data={"context": body.context},
    )
    if State(session.state) not in OPEN_STATES:
        repeat = await runtime.conversations.find_repeat(visitor.workspace.id, session_id, new)
        if repeat is None:
            raise Conflict(f"this session is {session.state}; open a new session to write again")
        posted = repeat
    else:
        posted = await runtime.conversations.post_message(visitor.workspace.id, session_id, new)
    return JSONResponse(
        {"message": resanitized(message_view(posted.message)), "created": posted.created},
        status_code=201 if posted.created else 200,
    )


@router.get(
    "/sessions/{session_id}/events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "messages as server-sent events"}},
)
async def stream_events(
    session_id: str,
    visitor: VisitorDep,
    runtime: RuntimeDep,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> EventSourceResponse:
    """Every message after the cursor (`Last-Event-ID`, or `?after=`), then live ones; each event's id is its seq."""
    await _visible_session(runtime, visitor, session_id)
    cursor = parse_cursor(last_event_id, after)
    events = session_events(runtime.conversations, visitor.workspace.id, session_id, cursor, include_notes=False)
    return EventSourceResponse(
        events, ping=15, headers={"cache-control": "no-store", "x-accel-buffering": "no"}
    )


@router.post("/sessions/{session_id}/resolve", response_model=SessionOut)
async def resolve_session(session_id: str, visitor: VisitorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The visitor marks their question answered; resolving an already resolved session changes nothing."""
    session = await _visible_session(runtime, visitor, session_id)
    if session.state == State.RESOLVED:
        return session_view(session)
    session = await runtime.conversations.transition(
        visitor.workspace.id, session_id, Action.RESOLVE, actor="visitor"
    )
    return session_view(session)


@router.post("/sessions/{session_id}/csat", response_model=SessionOut)
async def rate_session(session_id: str, body: CsatIn, visitor: VisitorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """A 1–5 satisfaction score for a resolved session, with a comment (required for 1–2 where the site says so)."""
    session = await _visible_session(runtime, visitor, session_id)
    rated = await submit_csat(
        runtime.conversations,
        session,
        score=body.score,
        comment=body.comment,
        settings=widget_settings(visitor.workspace),
    )
    return session_view(rated)


def upload_store(runtime: RuntimeDep) -> UploadStore:
    return UploadStore(runtime.settings.data_dir / "uploads")


UploadStoreDep = Annotated[UploadStore, Depends(upload_store)]


@router.post("/uploads", response_model=UploadOut, status_code=201)
async def upload_file(
    request: Request,
    visitor: VisitorDep,
    runtime: RuntimeDep,
    store: UploadStoreDep,
    file: Annotated[UploadFile, File(description="one file, sent as multipart/form-data field `file`")],
) -> dict[str, Any]:
    """Store a file the visitor attaches; the answer is the attachment to send with their next message."""
    settings = widget_settings(visitor.workspace)
    limit = _upload_limit(settings.max_upload_bytes, runtime.settings.max_upload_bytes)
    types = [t for t in settings.upload_types if t in UPLOAD_TYPES]
    try:
        upload = await asyncio.to_thread(
            store.store, file.file, workspace_id=visitor.workspace.id, name=file.filename, max_bytes=limit, types=types
        )
    except UploadRefused as exc:
        raise HTTPException(exc.status, exc.message) from exc
    finally:
        await file.close()
    # The name is percent-encoded: raw, a name such as `a?b#<x>.png` would end the path early or carry markup into
    # every page and helpdesk that shows the link.
    url = str(request.url_for("download_file", ref=upload.ref, name=quote(upload.name, safe="")))
    log.info("widget.uploaded", ref=upload.ref, size=upload.size, content_type=upload.content_type)
    return {
        "name": upload.name,
        "url": url,
        "content_type": upload.content_type,
        "size": upload.size,
        "preview_url": url if upload.is_image else None,
    }


@router.get("/files/{ref}/{name}", response_class=FileResponse, include_in_schema=False)
async def download_file(ref: str, name: str, store: UploadStoreDep) -> FileResponse:
    """An uploaded file, by the random ref in its URL; images inline, anything else as a download."""
    found = await asyncio.to_thread(store.find, ref)
    if found is None:
        raise NotFound("no such file")
    upload, path = found
    return FileResponse(
        path,
        media_type=upload.content_type,
        filename=upload.name,
        content_disposition_type="inline" if upload.is_image else "attachment",
        headers={
            "cache-control": "private, max-age=31536000, immutable",
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
            "cross-origin-resource-policy": "cross-origin",
        },
    )
