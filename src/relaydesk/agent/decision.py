"""What the agent is given for one visitor message, and the one decision it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Author = Literal["visitor", "ai", "rep", "system"]
HandoffReason = Literal[
    "explicit_request", "topic", "frustration", "unproductive", "ai_decision", "office_hours", "rep_takeover"
]


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of the transcript, oldest first."""

    author: Author
    text: str
    at: datetime | None = None
    confidence: float | None = None  # set on AI answers, so the policy can count unproductive turns


@dataclass(frozen=True, slots=True)
class AgentContext:
    """Everything the agent may use to decide. `message` is the visitor's new message (not yet in `transcript`)."""

    workspace_id: str
    session_id: str
    message: str
    transcript: tuple[Turn, ...] = ()
    language: str | None = None  # the widget's language (BCP-47), a hint only
    instructions: str = ""  # the workspace's AI instructions
    custom_data: dict[str, Any] = field(default_factory=dict)  # trusted: from a verified contact
    unverified_custom_data: dict[str, Any] = field(default_factory=dict)  # self-declared: never trusted
    page_context: dict[str, Any] = field(default_factory=dict)  # what the widget reports about the page
    attributes: dict[str, Any] = field(default_factory=dict)  # synced from a helpdesk
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class Citation:
    title: str
    url: str | None
    passage: str


@dataclass(frozen=True, slots=True)
class Component:
    """Structured data for a custom widget renderer; `text` is the plain fallback reps always see."""

    key: str
    data: dict[str, Any]
    text: str


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    confidence: float
    citations: tuple[Citation, ...] = ()
    component: Component | None = None
    kind: Literal["answer"] = "answer"


@dataclass(frozen=True, slots=True)
class HandOff:
    reason: HandoffReason
    topic: str | None = None
    message: str | None = None  # what the visitor is told, in their language
    kind: Literal["handoff"] = "handoff"


@dataclass(frozen=True, slots=True)
class Resolve:
    message: str | None = None
    kind: Literal["resolve"] = "resolve"


Decision = Answer | HandOff | Resolve


class Brain(Protocol):
    """One decision per visitor message. Never raises for a model or network failure: it falls back instead."""

    async def decide(self, context: AgentContext) -> Decision: ...
