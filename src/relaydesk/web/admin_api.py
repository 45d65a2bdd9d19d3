"""The admin REST API under /api/v1, authenticated by a workspace API key."""

from __future__ import annotations

import time
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from relaydesk.core import outbox, webhooks_out
from relaydesk.core.conversations import contact_view, message_view, session_view
from relaydesk.core.delivery import notify_outbox
from relaydesk.core.errors import Conflict, NotFound
from relaydesk.core.models import Handoff, OutboxJob, WebhookEndpoint
from relaydesk.core.states import Action, State
from relaydesk.web.deps import ApiWorkspace, RuntimeDep
from relaydesk.web.schemas import (
    AuthenticateIn,
    ContactTokenOut,
    DeliveryList,
    DeliveryOut,
    ErrorResponse,
    HandoffIn,
    MessageList,
    PostedOut,
    RepMessageIn,
    SessionDetail,
    SessionList,
    SessionOut,
    TransitionIn,
    WebhookEndpointIn,
    WebhookEndpointOut,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422)
}
router = APIRouter(prefix="/api/v1", tags=["admin"], responses=ERRORS)
JobId = Annotated[int, Path(ge=1, le=2**63 - 1, description="a delivery's id")]

VERIFIED_TOKEN_DAYS = 30


@router.post("/contacts/authenticate", response_model=ContactTokenOut)
async def authenticate_contact(body: AuthenticateIn, workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    """Server to server: vouch for a visitor's identity and get the token their widget uses as a verified contact."""
    merge_id: str | None = None
    if body.anonymous_token:
        try:
            claims = runtime.box.verify_token(body.anonymous_token)
        except jwt.InvalidTokenError as exc:
            raise Conflict(f"anonymous_token is not valid: {exc}") from exc
        if claims.get("ws") == workspace.id and not claims.get("ver"):
            merge_id = str(claims.get("sub"))
    contact = await runtime.conversations.authenticate_contact(
        workspace.id,
        email=str(body.email),
        name=body.name,
        phone=body.phone,
        external_user_id=body.external_user_id,
        custom_data=dict(body.custom_data),
        merge_contact_id=merge_id,
    )
    token = runtime.box.sign_token(
        {"ws": workspace.id, "sub": contact.id, "ver": True, "exp": int(time.time()) + VERIFIED_TOKEN_DAYS * 86400}
    )
    return {"token": token, "contact": contact_view(contact)}


@router.get("/sessions", response_model=SessionList)
async def list_sessions(
    workspace: ApiWorkspace,
    runtime: RuntimeDep,
    state: Annotated[State | None, Query()] = None,
    contact_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    sessions = await runtime.conversations.list_sessions(
        workspace.id, state=state.value if state else None, contact_id=contact_id, limit=limit
    )
    return {"sessions": [session_view(s) for s in sessions]}


@router.get("/sessions/{session_id}", response_model=SessionDetail)
async def get_session(session_id: str, workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    """A session with its contact, its timeline (every change and external call) and its external links."""
    conversations = runtime.conversations
    session = await conversations.get_session(workspace.id, session_id)
    contact = await conversations.get_contact(workspace.id, session.contact_id)
    timeline = await conversations.timeline(workspace.id, session_id)
    links = await conversations.links(workspace.id, session_id)
    return {
        "session": session_view(session),
        "contact": contact_view(contact),
        "timeline": [
            {"id": t.id, "actor": t.actor, "action": t.action, "detail": t.detail, "at": t.at.isoformat()}
            for t in timeline
        ],
        "links": [
            {"integration": link.integration, "kind": link.kind, "external_id": link.external_id, "url": link.url}
            for link in links
        ],
    }


@router.get("/sessions/{session_id}/messages", response_model=MessageList)
async def list_messages(
    session_id: str, workspace: ApiWorkspace, runtime: RuntimeDep, after: Annotated[int, Query(ge=0)] = 0
) -> dict[str, Any]:
    await runtime.conversations.get_session(workspace.id, session_id)
    messages = await runtime.conversations.messages_after(workspace.id, session_id, after)
    return {"messages": [message_view(m) for m in messages]}


@router.post(
    "/sessions/{session_id}/messages",
    response_model=PostedOut,
    status_code=201,
    responses={200: {"model": PostedOut, "description": "a repeat of an earlier client_id"}},
)
async def post_rep_message(
    session_id: str, body: RepMessageIn, workspace: ApiWorkspace, runtime: RuntimeDep
) -> JSONResponse:
    """A rep's reply (the rep takes the session from the AI) or an internal note the visitor never sees."""
    posted = await runtime.conversations.rep_reply(
        workspace.id, session_id, text=body.text, kind=body.kind, author_name=body.author_name,
        client_id=body.client_id,
    )
    return JSONResponse(
        {"message": message_view(posted.message), "created": posted.created}, status_code=201 if posted.created else 200
    )


async def _transition(
    runtime: RuntimeDep,
    workspace_id: str,
    session_id: str,
    action: Action,
    body: TransitionIn | None,
    *,
    handoff: Handoff | None = None,
) -> dict[str, Any]:
    session = await runtime.conversations.transition(
        workspace_id,
        session_id,
        action,
        actor="rep",
        actor_name=body.actor_name if body else None,
        reopen_to=State(body.reopen_to) if body else State.AI,
        handoff=handoff,
    )
    return session_view(session)


@router.post("/sessions/{session_id}/take-over", response_model=SessionOut)
async def take_over(
    session_id: str, workspace: ApiWorkspace, runtime: RuntimeDep, body: TransitionIn | None = None
) -> dict[str, Any]:
    """A rep takes the session from the AI (or from the handoff queue)."""
    return await _transition(runtime, workspace.id, session_id, Action.REP_JOIN, body)


@router.post("/sessions/{session_id}/hand-back", response_model=SessionOut)
async def hand_back(
    session_id: str, workspace: ApiWorkspace, runtime: RuntimeDep, body: TransitionIn | None = None
) -> dict[str, Any]:
    """The rep gives the session back to the AI, which answers again."""
    return await _transition(runtime, workspace.id, session_id, Action.HAND_BACK, body)


@router.post("/sessions/{session_id}/handoff", response_model=SessionOut)
async def hand_off(session_id: str, body: HandoffIn, workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    """Hand an AI session to the team's queue, with a reason."""
    handoff = Handoff(reason=body.reason, topic=body.topic, summary=body.summary)
    return await _transition(runtime, workspace.id, session_id, Action.HAND_OFF, None, handoff=handoff)


@router.post("/sessions/{session_id}/resolve", response_model=SessionOut)
async def resolve(
    session_id: str, workspace: ApiWorkspace, runtime: RuntimeDep, body: TransitionIn | None = None
) -> dict[str, Any]:
    return await _transition(runtime, workspace.id, session_id, Action.RESOLVE, body)


@router.post("/sessions/{session_id}/close", response_model=SessionOut)
async def close(
    session_id: str, workspace: ApiWorkspace, runtime: RuntimeDep, body: TransitionIn | None = None
) -> dict[str, Any]:
    """End the session without resolving it."""
    return await _transition(runtime, workspace.id, session_id, Action.CLOSE, body)


@router.post("/sessions/{session_id}/reopen", response_model=SessionOut)
async def reopen(
    session_id: str, workspace: ApiWorkspace, runtime: RuntimeDep, body: TransitionIn | None = None
) -> dict[str, Any]:
    return await _transition(runtime, workspace.id, session_id, Action.REOPEN, body)


def _delivery_view(job: OutboxJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "session_id": job.session_id,
        "target": job.target,
        "kind": job.kind,
        "state": job.state,
        "attempts": job.attempts,
        "next_attempt_at": job.next_attempt_at.isoformat(),
        "last_error": job.last_error,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


@router.get("/deliveries", response_model=DeliveryList)
async def list_deliveries(
    workspace: ApiWorkspace,
    runtime: RuntimeDep,
    state: Annotated[str | None, Query(pattern="^(pending|running|done|dead|discarded)$")] = None,
    session_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The outbox: what is waiting, retrying, delivered or dead, newest first."""
    query = select(OutboxJob).where(OutboxJob.workspace_id == workspace.id)
    if state:
        query = query.where(OutboxJob.state == state)
    if session_id:
        query = query.where(OutboxJob.session_id == session_id)
    async with runtime.db.read() as db:
        jobs = (await db.scalars(query.order_by(OutboxJob.id.desc()).limit(limit))).all()
    return {"deliveries": [_delivery_view(job) for job in jobs]}


@router.post("/deliveries/{job_id}/retry", response_model=DeliveryOut)
async def retry_delivery(job_id: JobId, workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    """Put a dead-lettered delivery back in line."""
    async with runtime.db.transaction() as tx:
        job = await outbox.retry_dead(tx, workspace.id, job_id)
        view = _delivery_view(job)
    await notify_outbox(runtime.bus)
    return view


@router.post("/deliveries/{job_id}/discard", response_model=DeliveryOut)
async def discard_delivery(job_id: JobId, workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        job = await outbox.discard(tx, workspace.id, job_id)
        return _delivery_view(job)


@router.post("/webhooks", response_model=WebhookEndpointOut, status_code=201)
async def create_webhook(body: WebhookEndpointIn, workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    """Subscribe a URL of yours to relaydesk's events; the signing secret is shown only in this answer."""
    secret = webhooks_out.new_secret()
    async with runtime.db.transaction() as tx:
        endpoint = WebhookEndpoint(
            workspace_id=workspace.id,
            url=str(body.url),
            secret_encrypted=runtime.box.encrypt(secret),
            events=list(body.events),
        )
        tx.add(endpoint)
    return {"id": endpoint.id, "url": endpoint.url, "events": endpoint.events, "enabled": True, "secret": secret}


@router.get("/webhooks", response_model=list[WebhookEndpointOut])
async def list_webhooks(workspace: ApiWorkspace, runtime: RuntimeDep) -> list[dict[str, Any]]:
    async with runtime.db.read() as db:
        rows = (await db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.workspace_id == workspace.id))).all()
    return [{"id": e.id, "url": e.url, "events": e.events, "enabled": e.enabled} for e in rows]


@router.delete("/webhooks/{endpoint_id}", status_code=204)
async def delete_webhook(endpoint_id: str, workspace: ApiWorkspace, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        endpoint = await tx.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or endpoint.workspace_id != workspace.id:
            raise NotFound(f"no webhook endpoint {endpoint_id} in this workspace")
        await tx.delete(endpoint)
    return Response(status_code=204)
