"""The Inbox: sessions with filters and live updates, and a session's page where reps answer and act."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import Select, exists, func, select
from sse_starlette.sse import EventSourceResponse
from starlette.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.connectors.registry import CONNECTORS
from relaydesk.core.conversations import workspace_channel
from relaydesk.core.models import ChatSession, Contact, ExternalLink, Handoff, Message, OutboxJob, utcnow
from relaydesk.core.states import Action, State
from relaydesk.web.dashboard.auth import FormDep, SignedInDep
from relaydesk.web.dashboard.i18n import t
from relaydesk.web.dashboard.pages import done, page
from relaydesk.web.dashboard.render import render
from relaydesk.web.deps import RuntimeDep
from relaydesk.web.runtime import Runtime
from relaydesk.web.stream import parse_cursor, session_events

router = APIRouter()

INBOX_LIMIT = 100
RESYNC_IDLE_S = 30.0
STATES = [state.value for state in State]
SENTIMENTS = ("positive", "neutral", "negative")
CSAT_CHOICES = ("low", "mid", "high", "none")
NO_INTEGRATION = "inbox"


@dataclass(frozen=True, slots=True)
class InboxFilters:
    """The Inbox's filters, as they come in the query string; empty means any."""

    state: str = ""
    channel: str = ""
    integration: str = ""
    language: str = ""
    sentiment: str = ""
    tag: str = ""
    verified: str = ""
    csat: str = ""

    @property
    def active(self) -> bool:
        return any((self.state, self.channel, self.integration, self.language, self.sentiment, self.tag,
                    self.verified, self.csat))


@dataclass
class InboxRow:
    session: ChatSession
    contact: Contact
    preview: Message | None
    integrations: list[str] = field(default_factory=list)


def _filtered(query: Select[ChatSession, Contact], f: InboxFilters) -> Select[ChatSession, Contact]:
    if f.state in STATES:
        query = query.where(ChatSession.state == f.state)
    if f.channel:
        query = query.where(ChatSession.channel == f.channel)
    if f.language:
        query = query.where(ChatSession.language == f.language)
    if f.sentiment in SENTIMENTS:
        query = query.where(ChatSession.sentiment == f.sentiment)
    if f.verified in ("yes", "no"):
        query = query.where(Contact.verified.is_(f.verified == "yes"))
    if f.csat == "low":
        query = query.where(ChatSession.csat_score <= 2)
    elif f.csat == "mid":
        query = query.where(ChatSession.csat_score == 3)
    elif f.csat == "high":
        query = query.where(ChatSession.csat_score >= 4)
    elif f.csat == "none":
        query = query.where(ChatSession.csat_score.is_(None))
    linked = select(ExternalLink.id).where(ExternalLink.session_id == ChatSession.id)
    if f.integration == NO_INTEGRATION:
        query = query.where(~exists(linked))
    elif f.integration:
        query = query.where(exists(linked.where(ExternalLink.integration.like(f"{f.integration}:%"))))
    return query


async def inbox_rows(runtime: Runtime, workspace_id: str, filters: InboxFilters) -> list[InboxRow]:
    """The sessions the filters select, newest activity first, with their last message and integrations."""
    query = (
        select(ChatSession, Contact)
        .join(Contact, Contact.id == ChatSession.contact_id)
        .where(ChatSession.workspace_id == workspace_id)
    )
    # Tags live in a JSON list, which SQLite and PostgreSQL query differently: that one filter runs here.
    limit = INBOX_LIMIT * 5 if filters.tag else INBOX_LIMIT
    query = _filtered(query, filters).order_by(ChatSession.updated_at.desc(), ChatSession.id).limit(limit)
    async with runtime.db.read() as db:
        pairs = [(s, c) for s, c in (await db.execute(query)).all()
                 if not filters.tag or filters.tag in (s.tags or [])][:INBOX_LIMIT]
        ids = [s.id for s, _ in pairs]
        if not ids:
            return []
        latest = (
            select(Message.session_id, func.max(Message.seq).label("seq"))
            .where(Message.session_id.in_(ids), Message.kind == "text")
            .group_by(Message.session_id)
            .subquery()
        )
        previews = {
            m.session_id: m
            for m in await db.scalars(
                select(Message).join(
                    latest, (Message.session_id == latest.c.session_id) & (Message.seq == latest.c.seq)
                )
            )
        }
        links: dict[str, list[str]] = {}
        for session_id, integration in await db.execute(
            select(ExternalLink.session_id, ExternalLink.integration).where(ExternalLink.session_id.in_(ids))
        ):
            name = integration.split(":", 1)[0]
            if name not in links.setdefault(session_id, []):
                links[session_id].append(name)
    return [InboxRow(s, c, previews.get(s.id), links.get(s.id, [])) for s, c in pairs]


async def _filter_choices(runtime: Runtime, workspace_id: str) -> dict[str, list[str]]:
    async with runtime.db.read() as db:
        channels = await db.scalars(
            select(ChatSession.channel).where(ChatSession.workspace_id == workspace_id).distinct()
        )
        languages = await db.scalars(
            select(ChatSession.language)
            .where(ChatSession.workspace_id == workspace_id, ChatSession.language.is_not(None))
            .distinct()
        )
        return {
            "channels": sorted(channels.all()),
            "languages": sorted(lang for lang in languages.all() if lang),
            "integrations": [NO_INTEGRATION, *sorted(CONNECTORS)],
        }


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(
    request: Request,
    runtime: RuntimeDep,
    signed: SignedInDep,
    state: Annotated[str, Query(max_length=20)] = "",
    channel: Annotated[str, Query(max_length=40)] = "",
    integration: Annotated[str, Query(max_length=40)] = "",
    language: Annotated[str, Query(max_length=35)] = "",
    sentiment: Annotated[str, Query(max_length=10)] = "",
    tag: Annotated[str, Query(max_length=100)] = "",
    verified: Annotated[str, Query(max_length=3)] = "",
    csat: Annotated[str, Query(max_length=4)] = "",
    partial: Annotated[bool, Query()] = False,
) -> Response:
    """Every session of the workspace, filtered; `partial` returns just the rows for the live refresh."""
    filters = InboxFilters(state, channel, integration, language, sentiment, tag.strip(), verified, csat)
    workspace_id = signed.session.workspace_id
    cursor = utcnow()
    rows = await inbox_rows(runtime, workspace_id, filters)
    if partial:
        return render("inbox_rows.html", {"rows": rows, "filters": filters})
    waiting = sum(1 for row in rows if row.session.state == State.HANDED_OFF)
    return await page(
        runtime, signed, "inbox.html", "inbox", rows=rows, filters=filters, waiting=waiting, cursor=cursor,
        choices=await _filter_choices(runtime, workspace_id), states=STATES, sentiments=SENTIMENTS,
        csat_choices=CSAT_CHOICES,
    )


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


async def workspace_events(runtime: Runtime, workspace_id: str, cursor: datetime | None) -> AsyncIterator[
    dict[str, Any]
]:
    """A session event whenever a session of the workspace changes or gets a message; the id is a time cursor.

    A reconnect with Last-Event-ID gets every session that changed since; a lagged or quiet subscription makes the
    stream look in the database, as the session stream does."""
    async with runtime.bus.subscribe(workspace_channel(workspace_id)) as subscription:
        if cursor is None:
            cursor = utcnow()
            yield {"id": cursor.isoformat(), "event": "ready", "data": "{}"}
        else:
            for item, stamp in await _changed_since(runtime, workspace_id, cursor):
                cursor = stamp
                yield item
        while True:
            event = await subscription.get(wait_s=RESYNC_IDLE_S)
            if event is None or subscription.take_lag():
                for item, stamp in await _changed_since(runtime, workspace_id, cursor):
                    cursor = stamp
                    yield item
                continue
            session = event.get("session") or {}
            session_id = session.get("id") or event.get("session_id")
            changed_at = _parse_time(session.get("updated_at") or (event.get("message") or {}).get("created_at"))
            if not session_id:
                continue
            cursor = max(cursor, changed_at) if changed_at else cursor
            yield {"id": cursor.isoformat(), "event": "session",
                   "data": json.dumps({"session_id": session_id, "type": event.get("type")})}


async def _changed_since(
    runtime: Runtime, workspace_id: str, cursor: datetime
) -> list[tuple[dict[str, Any], datetime]]:
    async with runtime.db.read() as db:
        rows = await db.execute(
            select(ChatSession.id, ChatSession.updated_at)
            .where(ChatSession.workspace_id == workspace_id, ChatSession.updated_at > cursor)
            .order_by(ChatSession.updated_at)
            .limit(500)
        )
        changed = list(rows.all())
    return [
        ({"id": updated_at.isoformat(), "event": "session",
          "data": json.dumps({"session_id": session_id, "type": "session"})}, updated_at)
        for session_id, updated_at in changed
    ]


@router.get("/stream")
async def inbox_stream(
    runtime: RuntimeDep,
    signed: SignedInDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """Server-sent events for the Inbox: which sessions changed, resumable by Last-Event-ID."""
    events = workspace_events(runtime, signed.session.workspace_id, _parse_time(last_event_id))
    return EventSourceResponse(events, ping=15, headers={"cache-control": "no-store", "x-accel-buffering": "no"})


# -- a session --------------------------------------------------------------------------------------------------


async def _session_context(runtime: Runtime, workspace_id: str, session_id: str) -> dict[str, Any]:
    conversations = runtime.conversations
    session = await conversations.get_session(workspace_id, session_id)
    contact = await conversations.get_contact(workspace_id, session.contact_id)
    messages = await conversations.messages_after(workspace_id, session_id, 0, limit=5000)
    async with runtime.db.read() as db:
        handoffs = list(
            await db.scalars(select(Handoff).where(Handoff.session_id == session_id).order_by(Handoff.created_at))
        )
        deliveries = list(
            await db.scalars(
                select(OutboxJob)
                .where(OutboxJob.workspace_id == workspace_id, OutboxJob.session_id == session_id)
                .order_by(OutboxJob.id)
            )
        )
    return {
        "session": session,
        "contact": contact,
        "messages": messages,
        "handoff": handoffs[-1] if handoffs else None,
        "links": await conversations.links(workspace_id, session_id),
        "timeline": await conversations.timeline(workspace_id, session_id),
        "deliveries": deliveries,
    }


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
async def session_page(
    session_id: str, runtime: RuntimeDep, signed: SignedInDep, partial: Annotated[bool, Query()] = False
) -> Response:
    """The transcript, handoff card, contact, CSAT and trace of one session, with the rep's tools."""
    context = await _session_context(runtime, signed.session.workspace_id, session_id)
    if partial:
        return render("session_live.html", {**context, "csrf": signed.session.csrf_token})
    return await page(runtime, signed, "session.html", "inbox", **context)


@router.get("/sessions/{session_id}/stream")
async def session_stream(
    session_id: str,
    runtime: RuntimeDep,
    signed: SignedInDep,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> EventSourceResponse:
    """The session's messages, notes included, after the Last-Event-ID (or `after`) seq."""
    workspace_id = signed.session.workspace_id
    await runtime.conversations.get_session(workspace_id, session_id)
    cursor = parse_cursor(last_event_id, after)
    events = session_events(runtime.conversations, workspace_id, session_id, cursor, include_notes=True)
    return EventSourceResponse(events, ping=15, headers={"cache-control": "no-store", "x-accel-buffering": "no"})


@router.post("/sessions/{session_id}/messages")
async def post_message(session_id: str, runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    """A reply the visitor sees, or an internal note only the team sees."""
    text = str(form.get("text") or "").strip()
    kind: Literal["text", "note"] = "note" if form.get("kind") == "note" else "text"
    if not text:
        return await done(runtime, signed, f"/sessions/{session_id}", t("session.empty_message"), kind="error")
    await runtime.conversations.rep_reply(signed.session.workspace_id, session_id, text=text[:10_000],
                      kind=kind, author_name=signed.user.display_name,
                      client_id=str(form.get("client_id") or "")[:100] or None)
    return RedirectResponse(f"/app/sessions/{session_id}#composer", status_code=303)


ACTIONS = {
    "take-over": (Action.REP_JOIN, State.AI),
    "hand-back": (Action.HAND_BACK, State.AI),
    "resolve": (Action.RESOLVE, State.AI),
    "close": (Action.CLOSE, State.AI),
    "reopen": (Action.REOPEN, State.HUMAN),
}


@router.post("/sessions/{session_id}/{action}")
async def session_action(
    session_id: str, action: str, runtime: RuntimeDep, signed: SignedInDep, form: FormDep
) -> Response:
    """Take over, hand back, resolve, close or reopen, through the conversation core like the admin API."""
    if action not in ACTIONS:
        return await done(runtime, signed, f"/sessions/{session_id}", t("session.unknown_action"), kind="error")
    move, reopen_to = ACTIONS[action]
    await runtime.conversations.transition(
        signed.session.workspace_id, session_id, move, actor="rep", actor_name=signed.user.display_name,
        reopen_to=reopen_to,
    )
    return await done(runtime, signed, f"/sessions/{session_id}", t(f"session.done.{action}"))
