"""The widget API under /api/widget/v1: what the embedded widget calls on the visitor's behalf."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from sse_starlette.sse import EventSourceResponse

from relaydesk.core.conversations import NewMessage, contact_view, message_view, new_device_id, session_view
from relaydesk.core.errors import Conflict, NotFound, UnprocessableMessage
from relaydesk.core.models import ChatSession
from relaydesk.core.states import OPEN_STATES, State
from relaydesk.web.deps import RuntimeDep, Visitor, VisitorDep, WidgetWorkspace
from relaydesk.web.schemas import (
    ContactIn,
    ContactTokenOut,
    ErrorResponse,
    MessageList,
    PostedOut,
    SessionIn,
    SessionList,
    SessionOut,
    VisitorMessageIn,
)
from relaydesk.web.stream import parse_cursor, session_events

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422, 429)
}
router = APIRouter(prefix="/api/widget/v1", tags=["widget"], responses=ERRORS)


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
    contact = await runtime.conversations.get_contact(visitor.workspace.id, session.contact_id)
    mine = session.contact_id == visitor.contact_id or contact.merged_into_id == visitor.contact_id
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
    return {"messages": [message_view(m) for m in messages if m.kind != "note"]}


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
        {"message": message_view(posted.message), "created": posted.created}, status_code=201 if posted.created else 200
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
    return EventSourceResponse(
        session_events(runtime.conversations, visitor.workspace.id, session_id, cursor, include_notes=False),
        ping=15,
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
