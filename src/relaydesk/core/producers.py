"""Outbox producers: what turns a change in a conversation into outbound jobs, inside the change's transaction.

The core knows no helpdesk and no agent. Whatever must happen elsewhere after a change (an outgoing webhook, an AI
answer, a helpdesk call) registers a producer; the core calls every producer with each change, in the transaction that
commits it, so a job exists exactly when its cause does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.core.models import ChatSession, Message


@dataclass(frozen=True, slots=True)
class Change:
    """One committed-together change: `type` is an event name such as `message.created` or `session.handed_off`."""

    type: str
    workspace_id: str
    session: ChatSession
    data: dict[str, Any]
    key: str  # unique per change; producers derive idempotency keys from it
    message: Message | None = None
    previous_state: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # what the caller said about a transition, e.g. its origin


class Producer(Protocol):
    """Adds outbox jobs for a change to the caller's transaction; returns how many."""

    async def __call__(self, tx: AsyncSession, change: Change) -> int: ...
