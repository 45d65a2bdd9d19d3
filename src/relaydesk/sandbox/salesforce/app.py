"""The Salesforce sandbox as an ASGI app: the Messaging for In-App and Web REST API and its server-sent events,
a rep console and the sandbox admin endpoints.

Every route follows the MIAW API reference (https://developer.salesforce.com/docs/service/messaging-api/references);
error bodies carry `message`, which is what Salesforce's sample client reads from a failed call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Form, Query, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from relaydesk.sandbox.faults import ADMIN_PREFIX, FaultInjectionMiddleware, FaultPlan, fault_admin_router
from relaydesk.sandbox.salesforce.config import SalesforceConfig
from relaydesk.sandbox.salesforce.sandbox import EndUser, Event, MiawError, SalesforceSandbox

Json = dict[str, Any]
API = "/iamessage/api/v2"
REFERENCE = "https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference"
CONSOLE = "/console"

api = APIRouter(prefix=API, tags=["messaging"])
events = APIRouter(tags=["events"])
console = APIRouter(prefix=CONSOLE, tags=["console"])
admin = APIRouter(prefix=ADMIN_PREFIX, tags=["sandbox"])


def _sandbox(request: Request) -> SalesforceSandbox:
    sandbox: SalesforceSandbox = request.app.state.sandbox
    return sandbox


def _user(request: Request) -> EndUser:
    return _sandbox(request).end_user(request.headers.get("authorization"))


@api.post("/authorization/unauthenticated/access-token")
async def unauthenticated_access_token(request: Request, body: Annotated[Json, Body()]) -> Json:
    """Access token for an anonymous end user (
    https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference?meta=generateAccessTokenForUnauthenticatedUser)."""
    return _sandbox(request).unauthenticated_token(body)


@api.post("/authorization/authenticated/access-token")
async def authenticated_access_token(request: Request, body: Annotated[Json, Body()]) -> Json:
    """Access token for a verified end user from a customer identity JWT (User Verification:
    https://developer.salesforce.com/docs/service/messaging-web/guide/user-verification.html;
    https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference?meta=generateAccessTokenForAuthenticatedUser)."""
    return _sandbox(request).authenticated_token(body)


@api.get("/authorization/continuation-access-token")
async def continuation_access_token(request: Request) -> Json:
    """A new token for the same subject, keeping its conversations reachable (
    https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference?meta=generateContinuationToken)."""
    sandbox = _sandbox(request)
    return sandbox.continuation_token(_user(request))


@api.post("/conversation", status_code=201)
async def create_conversation(request: Request, body: Annotated[Json, Body()]) -> Json:
    """Create a conversation with routing attributes; Omni-Channel routes its session (
    https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference?meta=createConversation)."""
    conversation = _sandbox(request).create_conversation(_user(request), body)
    return {"conversationId": conversation.id}


@api.get("/conversation/list")
async def list_conversations(request: Request, incl_closed: Annotated[bool, Query(alias="inclClosedConvs")] = False,
                             limit: Annotated[int, Query(ge=1, le=50)] = 20) -> Json:
    """The end user's conversations (
    https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference?meta=listConversations)."""
    return _sandbox(request).list_conversations(_user(request), incl_closed, limit)


@api.post("/conversation/{conversation_id}/message", status_code=202)
async def send_message(request: Request, conversation_id: str, body: Annotated[Json, Body()]) -> Json:
    """Send a text message from the end user (
    https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference?meta=sendMessage)."""
    sandbox, user = _sandbox(request), _user(request)
    entry = sandbox.send_message(user, sandbox.conversation(user, conversation_id), body)
    return {"conversationEntries": [{"id": entry.identifier, "clientTimestamp": entry.timestamp}]}


@api.post("/conversation/{conversation_id}/file", status_code=202)
async def send_file(request: Request, conversation_id: str) -> Json:
    """Send a file as multipart form data: `messageEntry` (JSON) and `fileData` (
    https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference?meta=sendFile)."""
    sandbox, user = _sandbox(request), _user(request)
    conversation = sandbox.conversation(user, conversation_id)
    form = await request.form()
    entry_part, file_part = form.get("messageEntry"), form.get("fileData")
    if entry_part is None or file_part is None or isinstance(file_part, str):
        raise MiawError(400, "The messageEntry and fileData parts are required.")
    try:
        message_entry = json.loads(entry_part if isinstance(entry_part, str) else await entry_part.read())
    except ValueError as exc:
        raise MiawError(400, "messageEntry is not JSON.") from exc
    content = await file_part.read()
    entry = sandbox.send_file(user, conversation, message_entry, file_part.filename or "file",
                              file_part.content_type or "application/octet-stream", content)
    return {"conversationEntries": [{"id": entry.identifier, "clientTimestamp": entry.timestamp}]}


@api.get("/conversation/{conversation_id}/entries")
async def list_entries(
    request: Request, conversation_id: str, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    direction: Annotated[str, Query(pattern="^(FromStart|FromEnd)$")] = "FromEnd",
    entry_type_filter: Annotated[str | None, Query(alias="entryTypeFilter")] = None,
    start: Annotated[int | None, Query(alias="startTimestamp")] = None,
    end: Annotated[int | None, Query(alias="endTimestamp")] = None,
) -> Json:
    """The conversation's entries, payloads as objects (
    https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference?meta=listConversationEntries)."""
    sandbox, user = _sandbox(request), _user(request)
    types = [t for t in (entry_type_filter or "").split(",") if t] or None
    found = sandbox.entries(sandbox.conversation(user, conversation_id), limit=limit, direction=direction,
                            types=types, start=start, end=end)
    return {"conversationEntries": found}


@api.post("/conversation/{conversation_id}/acknowledge-entries", status_code=202)
async def acknowledge_entries(request: Request, conversation_id: str, body: Annotated[Json, Body()]) -> Response:
    """Delivery and read receipts for entries (
    https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference?meta=acknowledgeEntries)."""
    sandbox, user = _sandbox(request), _user(request)
    acks = body.get("acks")
    if not isinstance(acks, list) or not all(isinstance(a, dict) and a.get("conversationEntryId") for a in acks):
        raise MiawError(400, "acks must list objects with id, entryType and conversationEntryId.")
    sandbox.acknowledge(sandbox.conversation(user, conversation_id), acks)
    return Response(status_code=202)


@api.delete("/conversation/{conversation_id}/session", status_code=204)
async def end_session(request: Request, conversation_id: str,
                      es_name: Annotated[str, Query(alias="esDeveloperName")]) -> Response:
    """End the conversation's current messaging session (
    https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference?meta=endMessagingSession)."""
    sandbox, user = _sandbox(request), _user(request)
    sandbox.check_es_name(es_name)
    sandbox.end_session(sandbox.conversation(user, conversation_id), "EndUser")
    return Response(status_code=204)


@api.delete("/conversation/{conversation_id}", status_code=204)
async def close_conversation(request: Request, conversation_id: str,
                             es_name: Annotated[str, Query(alias="esDeveloperName")]) -> Response:
    """Close the conversation, ending its session (
    https://developer.salesforce.com/docs/service/messaging-api/references/miaw-api-reference?meta=closeConversation)."""
    sandbox, user = _sandbox(request), _user(request)
    sandbox.check_es_name(es_name)
    sandbox.close_conversation(sandbox.conversation(user, conversation_id))
    return Response(status_code=204)


@events.get("/eventrouter/v1/sse")
async def server_sent_events(request: Request) -> StreamingResponse:
    """The end user's event stream: Authorization, X-Org-Id (the 15-character org id) and Last-Event-Id
    (https://developer.salesforce.com/docs/service/messaging-api/references/about/server-sent-events.html)."""
    sandbox = _sandbox(request)
    user = _user(request)
    org_id = request.headers.get("x-org-id") or ""
    if not org_id:
        raise MiawError(400, "The X-Org-Id header is required.")
    if org_id[:15] != sandbox.config.org_id_15:
        raise MiawError(403, "The X-Org-Id header does not match the access token's org.")
    last = request.headers.get("last-event-id") or "0"
    if not last.isdigit():
        raise MiawError(400, "Last-Event-Id must be an event id.")
    queue = sandbox.subscribe(user, int(last))
    return StreamingResponse(_stream(sandbox, user, queue), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


async def _stream(sandbox: SalesforceSandbox, user: EndUser, queue: asyncio.Queue[Event | None]) -> AsyncIterator[str]:
    try:
        yield ": connected\n\n"
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), sandbox.config.ping_interval_s)
            except TimeoutError:
                yield "event: ping\ndata: {}\n\n"
                continue
            if event is None:
                return
            yield f"id: {event.id}\nevent: {event.name}\ndata: {json.dumps(event.data, separators=(',', ':'))}\n\n"
    finally:
        sandbox.unsubscribe(user, queue)


# the rep console -------------------------------------------------------------------------------------------------


@console.get("", response_class=HTMLResponse)
async def console_page(request: Request) -> str:
    """Every conversation Omni-Channel routed, with its routing attributes and entries, and the rep's actions."""
    sandbox = _sandbox(request)
    blocks = []
    for c in reversed(list(sandbox.conversations.values())):
        attributes = "".join(f"<li>{escape(k)} = {escape(v)}</li>" for k, v in c.routing_attributes.items())
        lines = "".join(f"<li><b>{escape(e.display_name)}</b> ({e.role}): <pre>{escape(e.text)}</pre></li>"
                        for e in c.messages())
        actions = "".join(f"<form method='post' action='{CONSOLE}/{c.id}/{a}'><button>{a}</button></form>"
                          for a in ("accept", "typing", "end"))
        blocks.append(f"<section><h2>MessagingSession {c.session_id} · {c.session_status}"
                      f"{' · closed' if c.closed else ''}</h2><ul>{attributes}</ul><ol>{lines}</ol>{actions}"
                      f"<form method='post' action='{CONSOLE}/{c.id}/reply'><textarea name='text'></textarea>"
                      "<button>reply</button></form></section>")
    return f"<!doctype html><title>Salesforce console</title><h1>Omni-Channel</h1>{''.join(blocks) or 'No work.'}"


@console.post("/{conversation_id}/{action}")
async def console_action(request: Request, conversation_id: str, action: str,
                         text: Annotated[str, Form()] = "") -> Response:
    """accept (the agent joins), reply, typing, end (the rep ends the session)."""
    sandbox = _sandbox(request)
    if conversation_id not in sandbox.conversations:
        return JSONResponse({"message": "no such conversation"}, status_code=404)
    if action == "accept":
        sandbox.accept(conversation_id)
    elif action == "reply" and text.strip():
        sandbox.rep_message(conversation_id, text)
    elif action == "typing":
        sandbox.rep_typing(conversation_id)
    elif action == "end":
        sandbox.rep_end(conversation_id)
    else:
        return JSONResponse({"message": f"unknown action {action}"}, status_code=400)
    return RedirectResponse(f"{request.scope.get('root_path', '')}{CONSOLE}", status_code=303)


@admin.post("/drop-streams")
async def drop_streams(request: Request) -> Json:
    """Close every open event stream, as a network failure would."""
    return {"dropped": _sandbox(request).drop_streams()}


@admin.get("/settings")
async def settings(request: Request) -> Json:
    """What to paste into relaydesk's settings (the private key is the sandbox's own test key pair)."""
    config = _sandbox(request).config
    base = str(request.base_url).rstrip("/")
    return {"instance_url": base, "scrt_url": base, "org_id": config.org_id,
            "es_developer_name": config.es_developer_name, "auth_key_id": config.auth_key_id,
            "private_key": config.private_key_pem, "issuer": config.keyset.issuer}


def _fault_plan(request: Request) -> FaultPlan:
    return _sandbox(request).faults


async def _on_miaw_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, MiawError)
    return JSONResponse({"message": exc.message}, status_code=exc.status, headers=exc.headers)


def create_app(config: SalesforceConfig | None = None, *, sandbox: SalesforceSandbox | None = None) -> FastAPI:
    """Build the sandbox app around a new (or the given) SalesforceSandbox, reachable as `app.state.sandbox`."""
    org = sandbox or SalesforceSandbox(config)
    app = FastAPI(title="Salesforce sandbox", summary="An emulator of the Messaging for In-App and Web API")
    app.state.sandbox = org
    for router in (api, events, console, admin, fault_admin_router(_fault_plan)):
        app.include_router(router)
    app.add_exception_handler(MiawError, _on_miaw_error)
    app.add_middleware(FaultInjectionMiddleware, plan=org.faults)
    return app
