"""More of the admin REST API: contacts, handoffs, the AI's rules, knowledge, and API keys.

An API key acts for its workspace with the admin role: it may change rules, knowledge and keys, never revoke itself.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, Field, HttpUrl
from sqlalchemy import select

from relaydesk.agent.policy import HandoffSettings
from relaydesk.core.conversations import contact_view, session_view
from relaydesk.core.errors import Conflict, Unauthorized
from relaydesk.core.models import ApiKey, ChatSession, Contact, Handoff
from relaydesk.crypto import hash_api_key
from relaydesk.web.admin_api import ERRORS
from relaydesk.web.dashboard.workspace_admin import (
    AgentRules,
    agent_rules,
    create_api_key,
    ingest_source,
    knowledge_documents,
    load_workspace,
    masked_action,
    revoke_api_key,
    save_agent_rules,
    search_knowledge,
)
from relaydesk.web.deps import ApiWorkspace, RuntimeDep
from relaydesk.web.schemas import ContactOut, SessionOut, Strict

router = APIRouter(prefix="/api/v1", tags=["admin"], responses=ERRORS)


async def _api_key(
    workspace: ApiWorkspace, runtime: RuntimeDep, authorization: Annotated[str | None, Header(include_in_schema=False)]
    = None,
) -> ApiKey:
    """The API key row this request is authenticated with (the workspace check has passed already)."""
    key = (authorization or "").partition(" ")[2].strip()
    async with runtime.db.read() as db:
        row = (await db.scalars(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key)))).first()
    if row is None or row.workspace_id != workspace.id:
        raise Unauthorized("unknown or revoked API key")
    return row


ApiKeyDep = Annotated[ApiKey, Depends(_api_key)]


def _actor(key: ApiKey) -> str:
    return f"api key {key.name} (…{key.hint})"


# -- contacts and handoffs --------------------------------------------------------------------------------------


class ContactList(BaseModel):
    contacts: list[ContactOut]


class ContactDetail(BaseModel):
    contact: ContactOut
    sessions: list[SessionOut]


@router.get("/contacts", response_model=ContactList)
async def list_contacts(
    workspace: ApiWorkspace,
    runtime: RuntimeDep,
    email: Annotated[str | None, Query(max_length=320)] = None,
    verified: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Contacts, newest first; merged anonymous contacts are left out (their sessions moved to the identified one)."""
    query = select(Contact).where(Contact.workspace_id == workspace.id, Contact.merged_into_id.is_(None))
    if email:
        query = query.where(Contact.email == email.strip().lower())
    if verified is not None:
        query = query.where(Contact.verified.is_(verified))
    async with runtime.db.read() as db:
        rows = await db.scalars(query.order_by(Contact.created_at.desc(), Contact.id).limit(limit))
        return {"contacts": [contact_view(c) for c in rows]}


@router.get("/contacts/{contact_id}", response_model=ContactDetail)
async def get_contact(contact_id: str, workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    """A contact with their sessions, newest first."""
    contact = await runtime.conversations.get_contact(workspace.id, contact_id)
    sessions = await runtime.conversations.list_sessions(workspace.id, contact_id=contact_id, limit=200)
    return {"contact": contact_view(contact), "sessions": [session_view(s) for s in sessions]}


class HandoffOut(BaseModel):
    id: str
    session_id: str
    reason: str
    topic: str | None
    summary: str | None
    sentiment: str | None
    sentiment_score: float | None
    language: str | None
    target: str
    created_at: str


class HandoffList(BaseModel):
    handoffs: list[HandoffOut]


@router.get("/handoffs", response_model=HandoffList)
async def list_handoffs(
    workspace: ApiWorkspace,
    runtime: RuntimeDep,
    session_id: Annotated[str | None, Query(max_length=32)] = None,
    reason: Annotated[str | None, Query(max_length=20)] = None,
    state: Annotated[Literal["ai", "handed_off", "human", "resolved", "closed"] | None,
                     Query(description="the session's state now")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Handoffs with what they carried (reason, topic, summary, sentiment, language), newest first."""
    query = select(Handoff).where(Handoff.workspace_id == workspace.id)
    if session_id:
        query = query.where(Handoff.session_id == session_id)
    if reason:
        query = query.where(Handoff.reason == reason)
    if state:
        query = query.join(ChatSession, ChatSession.id == Handoff.session_id).where(ChatSession.state == state)
    async with runtime.db.read() as db:
        rows = await db.scalars(query.order_by(Handoff.created_at.desc(), Handoff.id).limit(limit))
        return {"handoffs": [
            {"id": h.id, "session_id": h.session_id, "reason": h.reason, "topic": h.topic, "summary": h.summary,
             "sentiment": h.sentiment, "sentiment_score": h.sentiment_score, "language": h.language,
             "target": h.target, "created_at": h.created_at.isoformat()}
            for h in rows
        ]}


# -- rules ------------------------------------------------------------------------------------------------------


class RulesOut(BaseModel):
    """The AI's settings; action header values are shown as •••• and kept as they are when sent back so."""

    brain: Literal["offline", "llm"]
    instructions: str
    handoff: HandoffSettings
    actions: list[dict[str, Any]]


def _rules_view(rules: AgentRules) -> dict[str, Any]:
    return {"brain": rules.brain, "instructions": rules.instructions, "handoff": rules.handoff,
            "actions": [masked_action(a) for a in rules.actions]}


@router.get("/rules", response_model=RulesOut)
async def get_rules(workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    """Brain, instructions, handoff rules (level, triggers, topics, office hours) and AI actions."""
    return _rules_view(agent_rules(await load_workspace(runtime, workspace.id)))


@router.put("/rules", response_model=RulesOut)
async def put_rules(body: AgentRules, workspace: ApiWorkspace, runtime: RuntimeDep, key: ApiKeyDep) -> dict[str, Any]:
    """Replace the AI's settings, validated as a whole; the change is written to the audit log. An action header
    sent back as `••••` keeps its saved value; sent so for an action or header with none saved, it is refused."""
    return _rules_view(await save_agent_rules(runtime, workspace.id, body, actor=_actor(key)))


# -- knowledge --------------------------------------------------------------------------------------------------


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    url: str | None
    kind: str
    language: str
    source: str
    passages: int


class DocumentList(BaseModel):
    documents: list[DocumentOut]


class IngestIn(Strict):
    url: HttpUrl = Field(description="a website's start page or a sitemap; same-site links are followed")


class IngestOut(BaseModel):
    outcome: str = Field(description="documents added, updated and unchanged")


class PassageHit(BaseModel):
    doc_id: str
    title: str
    url: str | None
    heading: str | None
    text: str
    score: float


class SearchOut(BaseModel):
    confidence: float = Field(description="how sure the index is about the best passage, 0 to 1")
    hits: list[PassageHit]


@router.get("/knowledge/documents", response_model=DocumentList)
async def list_documents(workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    return {"documents": knowledge_documents(runtime, workspace.id)}


@router.post("/knowledge/ingest", response_model=IngestOut)
async def ingest(body: IngestIn, workspace: ApiWorkspace, runtime: RuntimeDep, key: ApiKeyDep) -> dict[str, Any]:
    """Crawl a website into the knowledge base (up to 100 pages); again later to re-sync it."""
    url = str(body.url)
    return {"outcome": await ingest_source(runtime, workspace.id, url, url, actor=_actor(key))}


@router.get("/knowledge/search", response_model=SearchOut)
async def search(
    workspace: ApiWorkspace,
    runtime: RuntimeDep,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    k: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict[str, Any]:
    """The passages the AI would answer `q` from, best first."""
    result = await search_knowledge(runtime, workspace.id, q, k)
    return {
        "confidence": result.confidence,
        "hits": [{"doc_id": h.passage.doc_id, "title": h.passage.title, "url": h.passage.url,
                  "heading": h.passage.heading, "text": h.passage.text, "score": h.score} for h in result.hits],
    }


# -- API keys ---------------------------------------------------------------------------------------------------


class ApiKeyOut(BaseModel):
    id: str
    name: str
    hint: str = Field(description="the key's last four characters")
    created_at: str
    revoked_at: str | None
    key: str | None = Field(default=None, description="the key itself: only in the answer that creates it")


class ApiKeyIn(Strict):
    # At least one visible character: a name of only spaces or control characters names nothing.
    name: str = Field(min_length=1, max_length=200, pattern=r"[^\s\u0000-\u001f\u007f-\u009f]")


def _key_view(row: ApiKey, key: str | None = None) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "hint": row.hint, "created_at": row.created_at.isoformat(),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None, "key": key}


@router.get("/api-keys", response_model=list[ApiKeyOut])
async def list_keys(workspace: ApiWorkspace, runtime: RuntimeDep) -> list[dict[str, Any]]:
    """The workspace's keys, newest first; only hashes are stored, so no key is ever shown again."""
    async with runtime.db.read() as db:
        rows = await db.scalars(
            select(ApiKey).where(ApiKey.workspace_id == workspace.id).order_by(ApiKey.created_at.desc())
        )
        return [_key_view(row) for row in rows]


@router.post("/api-keys", response_model=ApiKeyOut, status_code=201)
async def create_key(body: ApiKeyIn, workspace: ApiWorkspace, runtime: RuntimeDep, key: ApiKeyDep) -> dict[str, Any]:
    """A new key, returned once in `key`."""
    row, secret = await create_api_key(runtime, workspace.id, body.name, actor=_actor(key))
    return _key_view(row, secret)


@router.delete("/api-keys/{key_id}", status_code=204)
async def revoke_key(key_id: str, workspace: ApiWorkspace, runtime: RuntimeDep, key: ApiKeyDep) -> Response:
    """Revoke a key at once; the key making this request cannot revoke itself."""
    if key_id == key.id:
        raise Conflict("a key cannot revoke itself; use another key or the dashboard")
    await revoke_api_key(runtime, workspace.id, key_id, actor=_actor(key))
    return Response(status_code=204)
