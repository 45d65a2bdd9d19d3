"""Workspace administration shared by the dashboard and the admin API: rep replies, AI rules, knowledge, API keys."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from relaydesk.agent import action_headers
from relaydesk.agent.actions import ActionDefinition
from relaydesk.agent.decision import AgentContext, Answer, Decision, HandOff
from relaydesk.agent.knowledge import KnowledgeBase, read_path
from relaydesk.agent.offline import OfflineBrain
from relaydesk.agent.policy import HandoffSettings
from relaydesk.agent.responder import ingest_documents, knowledge_dir
from relaydesk.agent.retrieval import PassageIndex, SearchResult
from relaydesk.core.errors import Conflict, DomainError, NotFound
from relaydesk.core.models import ApiKey, Workspace, utcnow
from relaydesk.core.users import Users
from relaydesk.crypto import hash_api_key, new_api_key
from relaydesk.web.runtime import Runtime

UPLOADS_DIR = "uploads"
UPLOAD_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".jsonl")
MAX_SOURCES = 50

# -- sessions ---------------------------------------------------------------------------------------------------


# -- workspace settings -----------------------------------------------------------------------------------------


async def load_workspace(runtime: Runtime, workspace_id: str) -> Workspace:
    async with runtime.db.read() as db:
        workspace = await db.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound(f"no workspace {workspace_id}")
    return workspace


async def save_settings(
    runtime: Runtime, workspace_id: str, changes: dict[str, Any], *, actor: str, action: str,
    shown: dict[str, Any] | None = None,
) -> None:
    """Replace top-level keys of the workspace's settings (a None value removes the key) and audit the change.

    `shown` is what the audit log keeps of the new values when they carry secrets."""
    async with runtime.db.transaction() as tx:
        workspace = await tx.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFound(f"no workspace {workspace_id}")
        current = dict(workspace.settings or {})
        before = {key: current.get(key) for key in changes}
        for key, value in changes.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        workspace.settings = current
    runtime.conversations.forget_credentials()
    await Users(runtime.db).audit(
        workspace_id, actor, action, before=_redact_actions(before), after=shown or _redact_actions(changes)
    )


def _redact_actions(values: dict[str, Any]) -> dict[str, Any]:
    """Action headers may carry credentials: the audit log keeps their names only, and none of their ciphertext."""
    values = {key: value for key, value in values.items() if key != action_headers.SEALED_KEY}
    agent = values.get("agent")
    if not isinstance(agent, dict) or not agent.get("actions"):
        return values
    actions = [
        {**action, "headers": dict.fromkeys(action.get("headers") or {}, action_headers.MASK)}
        for action in agent["actions"] if isinstance(action, dict)
    ]
    return {**values, "agent": {**agent, "actions": actions}}


class AgentRules(BaseModel):
    """What the AI does: its brain, the team's instructions, the handoff rules and the actions it may call."""

    model_config = ConfigDict(extra="forbid")

    brain: Literal["offline", "llm"] = "offline"
    instructions: str = Field(default="", max_length=20_000)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    actions: list[ActionDefinition] = Field(default_factory=list, max_length=50)


def agent_rules(workspace: Workspace) -> AgentRules:
    """The workspace's agent settings as a validated model (defaults where nothing is set)."""
    return AgentRules.model_validate((workspace.settings or {}).get("agent") or {})


async def save_agent_rules(runtime: Runtime, workspace_id: str, rules: AgentRules, *, actor: str) -> AgentRules:
    """Save the AI's settings with the actions' header values encrypted; a masked value (as pages and answers show
    it) keeps the value saved for that header of the action of the same name. Returns the rules as stored."""
    names = [action.name for action in rules.actions]
    if len(names) != len(set(names)):
        raise DomainError("two actions have the same name; action names must be unique")
    workspace = await load_workspace(runtime, workspace_id)
    actions, sealed = action_headers.seal(runtime.box, rules.actions, workspace.settings or {})
    stored = rules.model_copy(update={"actions": actions})
    await save_settings(runtime, workspace_id,
                        {"agent": stored.model_dump(mode="json"), action_headers.SEALED_KEY: sealed or None},
                        actor=actor, action="agent.rules_changed")
    return stored


def masked_action(action: ActionDefinition) -> dict[str, Any]:
    """An action as pages and API answers show it: header values hidden."""
    return action_headers.masked(action).model_dump(mode="json")


# -- knowledge --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """One document of the knowledge base as the Knowledge page lists it."""

    doc_id: str
    title: str
    url: str | None
    kind: str
    language: str
    source: str
    passages: int


def _source_label(source: str, directory_name: str) -> str:
    if source.startswith(("http://", "https://")):
        return source
    return source.rsplit("/", 1)[-1] or directory_name


def knowledge_documents(runtime: Runtime, workspace_id: str) -> list[DocumentRow]:
    directory = knowledge_dir(runtime.settings, workspace_id)
    knowledge = KnowledgeBase(directory)
    counts: dict[str, int] = {}
    for passage in knowledge.passages:
        counts[passage.doc_id] = counts.get(passage.doc_id, 0) + 1
    return [
        DocumentRow(d.doc_id, d.title, d.url, d.kind, d.language, _source_label(d.source, directory.name),
                    counts.get(d.doc_id, 0))
        for d in knowledge.documents
    ]


def knowledge_sources(workspace: Workspace) -> list[dict[str, Any]]:
    """The websites and uploads the knowledge base was fed from, with the outcome of their last sync."""
    raw = ((workspace.settings or {}).get("knowledge") or {}).get("sources") or []
    return [item for item in raw if isinstance(item, dict) and isinstance(item.get("source"), str)]


async def ingest_source(runtime: Runtime, workspace_id: str, source: str, label: str, *, actor: str) -> str:
    """Ingest a website or an uploaded file, remember it as a source with its outcome, and say what changed."""
    try:
        added, updated, unchanged = await ingest_documents(runtime.settings, workspace_id, source, max_pages=100)
    except (OSError, ValueError) as exc:
        outcome, ok = f"{type(exc).__name__}: {exc}"[:500], False
    else:
        outcome, ok = f"{added} added, {updated} updated, {unchanged} unchanged", True
    workspace = await load_workspace(runtime, workspace_id)
    sources = [s for s in knowledge_sources(workspace) if s["source"] != source]
    sources.insert(0, {"source": source, "label": label, "synced_at": utcnow().isoformat(), "ok": ok,
                       "outcome": outcome})
    knowledge = {**((workspace.settings or {}).get("knowledge") or {}), "sources": sources[:MAX_SOURCES]}
    await save_settings(runtime, workspace_id, {"knowledge": knowledge}, actor=actor, action="knowledge.synced",
                        shown={"source": label, "outcome": outcome})
    if not ok:
        raise DomainError(f"could not read {label}: {outcome}")
    return outcome


async def ingest_upload(runtime: Runtime, workspace_id: str, filename: str, data: bytes, *, actor: str) -> str:
    """Keep an uploaded file beside the knowledge base and ingest it."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", filename.rsplit("/", 1)[-1]).strip(".-")[:120]
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        raise DomainError(f"{filename or 'this file'}: upload Markdown, text, HTML, PDF or Q&A JSONL files")
    directory = knowledge_dir(runtime.settings, workspace_id) / UPLOADS_DIR
    path = directory / name

    def write() -> None:
        directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        read_path(path)

    try:
        await asyncio.to_thread(write)
    except (OSError, ValueError) as exc:
        raise DomainError(f"{name} could not be read: {exc}") from exc
    return await ingest_source(runtime, workspace_id, str(path), name, actor=actor)


async def remove_document(runtime: Runtime, workspace_id: str, doc_id: str, *, actor: str) -> None:
    directory = knowledge_dir(runtime.settings, workspace_id)

    def remove() -> bool:
        knowledge = KnowledgeBase(directory)
        removed = knowledge.remove(doc_id)
        if removed:
            PassageIndex.for_knowledge_base(knowledge)
        return removed

    if not await asyncio.to_thread(remove):
        raise NotFound(f"no document {doc_id} in the knowledge base")
    await Users(runtime.db).audit(workspace_id, actor, "knowledge.document_removed", target=doc_id)


@dataclass(frozen=True, slots=True)
class Trial:
    """What the AI would do with a question, and what the search found."""

    decision: Decision
    search: SearchResult

    @property
    def answer(self) -> str | None:
        if isinstance(self.decision, Answer):
            return self.decision.text
        return self.decision.message

    @property
    def hands_off(self) -> bool:
        return isinstance(self.decision, HandOff)


async def try_question(runtime: Runtime, workspace: Workspace, question: str) -> Trial:
    """Ask the offline brain as a visitor would, without a session: answer, passages and confidence."""
    directory = knowledge_dir(runtime.settings, workspace.id)
    rules = agent_rules(workspace)

    def run() -> Trial:
        index = PassageIndex.for_knowledge_base(KnowledgeBase(directory))
        brain = OfflineBrain(index, rules.handoff)
        context = AgentContext(workspace_id=workspace.id, session_id="try", message=question,
                               instructions=rules.instructions)
        return Trial(brain.decide_now(context), index.search(question, k=5))

    return await asyncio.to_thread(run)


async def search_knowledge(runtime: Runtime, workspace_id: str, query: str, k: int) -> SearchResult:
    directory = knowledge_dir(runtime.settings, workspace_id)
    return await asyncio.to_thread(
        lambda: PassageIndex.for_knowledge_base(KnowledgeBase(directory)).search(query, k=k)
    )


# -- API keys ---------------------------------------------------------------------------------------------------


async def api_keys(runtime: Runtime, workspace_id: str) -> list[ApiKey]:
    async with runtime.db.read() as db:
        rows = await db.scalars(
            select(ApiKey).where(ApiKey.workspace_id == workspace_id).order_by(ApiKey.created_at.desc())
        )
        return list(rows.all())


async def create_api_key(runtime: Runtime, workspace_id: str, name: str, *, actor: str) -> tuple[ApiKey, str]:
    """A new key: the caller shows the returned secret once; only its hash is kept."""
    name = name.strip()
    if not name:
        raise DomainError("name the key after what will use it")
    key = new_api_key()
    async with runtime.db.transaction() as tx:
        row = ApiKey(workspace_id=workspace_id, name=name[:200], key_hash=hash_api_key(key), hint=key[-4:])
        tx.add(row)
    await Users(runtime.db).audit(workspace_id, actor, "api_key.created", target=row.id,
                                  after={"name": row.name, "hint": row.hint})
    return row, key


async def revoke_api_key(runtime: Runtime, workspace_id: str, key_id: str, *, actor: str) -> ApiKey:
    async with runtime.db.transaction() as tx:
        row = await tx.get(ApiKey, key_id)
        if row is None or row.workspace_id != workspace_id:
            raise NotFound(f"no API key {key_id} in this workspace")
        if row.revoked_at is not None:
            raise Conflict(f"the key {row.name} is already revoked")
        row.revoked_at = utcnow()
    runtime.conversations.forget_credentials()
    await Users(runtime.db).audit(workspace_id, actor, "api_key.revoked", target=row.id,
                                  before={"name": row.name, "hint": row.hint})
    return row
