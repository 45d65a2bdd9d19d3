"""The agent in the conversation: each visitor message while the AI owns a session becomes an `agent.respond` job.

The job goes through the outbox like any delivery, so an answer survives a crash between the visitor's message and
the reply, and is never given twice: the AI's message carries a client_id derived from the visitor message it answers.
A job finds the session handed off (the AI stays silent) or a newer visitor message waiting (that one's job answers
with the whole context) and does nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.agent import action_headers, analyzers
from relaydesk.agent.actions import ActionDefinition
from relaydesk.agent.decision import AgentContext, Answer, Brain, Citation, Decision, HandOff, Resolve, Turn
from relaydesk.agent.knowledge import KnowledgeBase, collect_documents
from relaydesk.agent.offline import OfflineBrain
from relaydesk.agent.policy import HandoffSettings
from relaydesk.agent.retrieval import PassageIndex
from relaydesk.config import Settings
from relaydesk.core import outbox
from relaydesk.core.conversations import MAX_REPLY_DELAY_S, REPLY_DELAY, Conversations, NewMessage, session_channel
from relaydesk.core.delivery import DeliveryError, DeliveryResult
from relaydesk.core.errors import IllegalTransition
from relaydesk.core.models import ChatSession, Handoff, Message, Workspace
from relaydesk.core.producers import Change
from relaydesk.core.states import Action, State
from relaydesk.crypto import SecretBox

log = structlog.get_logger(__name__)

KIND = "agent.respond"
TARGET = "agent"
TRANSCRIPT_TURNS = 40


def knowledge_dir(settings: Settings, workspace_id: str) -> Path:
    """Where a workspace's knowledge base and its index live."""
    return settings.data_dir / "knowledge" / workspace_id


async def ingest_documents(
    settings: Settings, workspace_id: str, source: str, *, max_pages: int = 200, max_depth: int = 3
) -> tuple[int, int, int]:
    """Ingest a file, folder or website into a workspace's knowledge base: (added, updated, unchanged) documents.
    A re-crawled website's pages that disappeared are removed; the search index is rebuilt and saved."""
    found = await collect_documents(source, max_pages=max_pages, max_depth=max_depth)
    knowledge = KnowledgeBase(knowledge_dir(settings, workspace_id))
    crawled = source.startswith(("http://", "https://"))
    report = knowledge.ingest(found.documents, prune_source=source if crawled else None)
    await asyncio.to_thread(PassageIndex.for_knowledge_base, knowledge)
    return len(report.added), len(report.updated), len(report.unchanged)


@dataclass
class _Loaded:
    fingerprint_mtime: float
    index: PassageIndex


class Responder:
    """Produces `agent.respond` jobs and runs them with the workspace's brain."""

    def __init__(self, conversations: Conversations, settings: Settings, http: Any, box: SecretBox) -> None:
        self.conversations = conversations
        self.settings = settings
        self.http = http
        self.box = box
        self._indexes: dict[str, _Loaded] = {}
        self._lock = asyncio.Lock()

    async def produce(self, tx: AsyncSession, change: Change) -> int:
        """A job for each visitor message in a session the AI owns."""
        message = change.message
        if change.type != "message.created" or message is None:
            return 0
        if message.author != "visitor" or message.kind != "text" or change.session.state != State.AI:
            return 0
        outbox.enqueue(
            tx,
            workspace_id=change.workspace_id,
            session_id=change.session.id,
            target=TARGET,
            kind=KIND,
            payload={"seq": message.seq},
            idempotency_key=f"agent_{change.session.id}_{message.seq}",
            delay_s=_reply_delay(message),
        )
        return 1

    async def handle(self, job: outbox.Job) -> DeliveryResult:
        """Decide on the visitor message the job names, and act on the decision."""
        assert job.session_id is not None
        workspace_id, session_id, seq = job.workspace_id, job.session_id, int(job.payload["seq"])
        conversations = self.conversations
        session = await conversations.get_session(workspace_id, session_id)
        if session.state != State.AI:
            return DeliveryResult({"skipped": f"session is {session.state}; the AI stays silent"})
        messages = await conversations.messages_after(workspace_id, session_id, max(0, session.last_seq - 200))
        visitor_message = next((m for m in messages if m.seq == seq), None)
        if visitor_message is None:
            raise DeliveryError(f"visitor message {seq} not found", permanent=True)
        if any(m.author == "visitor" and m.kind == "text" and m.seq > seq for m in messages):
            return DeliveryResult({"skipped": "a newer visitor message will be answered"})
        if any(m.client_id == _reply_id(seq) for m in messages):
            return DeliveryResult({"skipped": "already answered"})
        await conversations.bus.publish(session_channel(session_id),
                                        {"type": "typing", "author": "ai", "session_id": session_id})
        workspace = await self._workspace(workspace_id)
        contact = await conversations.get_contact(workspace_id, session.contact_id)
        agent_settings = workspace.settings.get("agent", {})
        handoff_settings = HandoffSettings.model_validate(agent_settings.get("handoff", {}))
        # After a hand-back the AI starts afresh: what came before was the rep's conversation, and a question the
        # visitor repeated while the AI stayed silent is not a sign of frustration with the AI.
        since = max((m.seq for m in messages if m.event == "handed_back" and m.seq < seq), default=0)
        transcript = tuple(_turn(m) for m in messages if since < m.seq < seq and m.kind == "text")[-TRANSCRIPT_TURNS:]
        context = AgentContext(
            workspace_id=workspace_id,
            session_id=session_id,
            message=visitor_message.text,
            transcript=transcript,
            language=session.language,
            instructions=str(agent_settings.get("instructions", "")),
            custom_data=dict(contact.custom_data) if contact.verified else {},
            unverified_custom_data=dict(contact.unverified_custom_data),
            page_context=dict(visitor_message.data.get("context") or {}),
            attributes=dict(contact.helpdesk_attributes or {}),
        )
        started = time.perf_counter()
        decision = await self._decide(workspace, handoff_settings, agent_settings, context)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        outcome = await self._act(workspace_id, session_id, seq, decision, transcript, visitor_message)
        return DeliveryResult({"decision": decision.kind, "outcome": outcome, "decide_ms": elapsed_ms})

    async def _workspace(self, workspace_id: str) -> Workspace:
        async with self.conversations.db.read() as db:
            workspace = await db.get(Workspace, workspace_id)
        if workspace is None:
            raise DeliveryError(f"workspace {workspace_id} is gone", permanent=True)
        return workspace

    async def _decide(
        self, workspace: Workspace, handoff: HandoffSettings, agent_settings: dict[str, Any], context: AgentContext
    ) -> Decision:
        index = await self._index(workspace.id)
        offline = OfflineBrain(index, handoff)
        brain: Brain = _ThreadedBrain(offline)
        if agent_settings.get("brain") == "llm" and self.settings.llm_base_url and self.settings.llm_model:
            # Imported here: the offline default needs no model SDK (it comes with the `llm` extra).
            from relaydesk.agent.llm import LLMBrain, LLMSettings

            llm = LLMSettings(
                base_url=self.settings.llm_base_url,
                model=self.settings.llm_model,
                api_key=self.settings.llm_api_key.get_secret_value() if self.settings.llm_api_key else "none",
            )

            async def retrieve(query: str) -> list[Citation]:
                result = index.search(query, k=4)
                return [Citation(h.passage.title, h.passage.url, h.passage.text) for h in result.hits]

            # The rules come first even with a model: explicit requests, topics and frustration are never left
            # to the model's judgement.
            ruled = await asyncio.to_thread(lambda: offline.rule_decision(context, offline.language_of(context)))
            if ruled is not None:
                return ruled
            bus = self.conversations.bus
            channel = session_channel(context.session_id)

            async def draft(delta: str) -> None:
                # Live only: the widget shows the answer growing; the committed message replaces the draft.
                await bus.publish(channel, {"type": "draft", "session_id": context.session_id, "delta": delta})

            actions = [ActionDefinition.model_validate(a) for a in agent_settings.get("actions", [])]
            return await LLMBrain(
                llm, http_client=self.http, retrieve=retrieve, fallback=brain, actions=actions, action_client=self.http,
                open_headers=action_headers.HeaderOpener.of(self.box, workspace.settings),
            ).decide(context, on_token=draft)
        return await brain.decide(context)

    async def _index(self, workspace_id: str) -> PassageIndex:
        """The workspace's search index, reloaded when its knowledge base changed on disk."""
        directory = knowledge_dir(self.settings, workspace_id)
        store = directory / "knowledge.json"
        mtime = store.stat().st_mtime if store.exists() else 0.0
        loaded = self._indexes.get(workspace_id)
        if loaded is not None and loaded.fingerprint_mtime == mtime:
            return loaded.index
        async with self._lock:
            loaded = self._indexes.get(workspace_id)
            if loaded is not None and loaded.fingerprint_mtime == mtime:
                return loaded.index
            knowledge = await asyncio.to_thread(KnowledgeBase, directory if store.exists() else None)
            index = await asyncio.to_thread(PassageIndex.for_knowledge_base, knowledge)
            self._indexes[workspace_id] = _Loaded(mtime, index)
            return index

    async def _act(
        self,
        workspace_id: str,
        session_id: str,
        seq: int,
        decision: Decision,
        transcript: Sequence[Turn],
        visitor_message: Message,
    ) -> str:
        conversations = self.conversations
        if isinstance(decision, Answer):
            component = None
            if decision.component is not None:
                component = {"key": decision.component.key, "data": decision.component.data,
                             "text": decision.component.text}
            await conversations.post_message(workspace_id, session_id, NewMessage(
                author="ai", text=decision.text, component=component, client_id=_reply_id(seq),
                data={"confidence": round(decision.confidence, 3),
                      "citations": [{"title": c.title, "url": c.url} for c in decision.citations]},
            ))
            return "answered"
        if isinstance(decision, HandOff):
            if decision.message:
                await conversations.post_message(workspace_id, session_id, NewMessage(
                    author="ai", text=decision.message, client_id=_reply_id(seq)))
            analysis = analyzers.analyze_conversation(transcript, visitor_message.text)
            handoff = Handoff(
                reason=decision.reason, topic=decision.topic, summary=analysis.summary.text,
                language=analysis.language, sentiment=analysis.sentiment.label,
                sentiment_score=analysis.sentiment.score,
            )
            try:
                await conversations.transition(workspace_id, session_id, Action.HAND_OFF, actor="ai", handoff=handoff)
            except IllegalTransition:
                return "already handed off"
            return "handed_off"
        assert isinstance(decision, Resolve)
        if decision.message:
            await conversations.post_message(workspace_id, session_id, NewMessage(
                author="ai", text=decision.message, client_id=_reply_id(seq)))
        await self._keep_analysis(session_id, analyzers.analyze_conversation(transcript, visitor_message.text))
        try:
            await conversations.transition(workspace_id, session_id, Action.RESOLVE, actor="ai")
        except IllegalTransition:
            return "already ended"
        return "resolved"


    async def _keep_analysis(self, session_id: str, analysis: analyzers.ConversationAnalysis) -> None:
        """Keep the summary, sentiment and language on a session the AI is about to resolve, as a handoff keeps
        them: the helpdesk's resolution note and the Inbox show them."""
        async with self.conversations.db.transaction() as tx:
            session = await tx.get(ChatSession, session_id)
            if session is None or session.state != State.AI:
                return
            session.summary = analysis.summary.text
            session.sentiment, session.sentiment_score = analysis.sentiment.label, analysis.sentiment.score
            session.language = analysis.language or session.language


class _ThreadedBrain:
    """Runs the offline brain off the event loop: its first call loads the language model."""

    def __init__(self, brain: OfflineBrain) -> None:
        self.brain = brain

    async def decide(self, context: AgentContext) -> Decision:
        return await asyncio.to_thread(self.brain.decide_now, context)


def _reply_delay(message: Message) -> float:
    """How long the AI waits before answering a message: a channel's settle time, if the message asks for one."""
    asked = (message.data or {}).get(REPLY_DELAY)
    return min(float(asked), MAX_REPLY_DELAY_S) if isinstance(asked, int | float) and asked > 0 else 0.0


def _reply_id(seq: int) -> str:
    return f"ai-reply-{seq}"


def _turn(message: Message) -> Turn:
    confidence = message.data.get("confidence") if message.author == "ai" else None
    return Turn(author=message.author, text=message.text, at=message.created_at,  # type: ignore[arg-type]
                confidence=float(confidence) if isinstance(confidence, int | float) else None)


async def install(runtime: Any) -> None:
    """Add the agent to a process: its producer and its job handler; action header values saved plain by an
    earlier version are encrypted first."""
    await action_headers.seal_plain_values(runtime.db, runtime.box)
    responder = Responder(runtime.conversations, runtime.settings, runtime.http, runtime.box)
    runtime.add_producer(responder.produce)
    runtime.handlers[KIND] = responder.handle
