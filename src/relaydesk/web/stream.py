"""A session's live stream: every message from a cursor on, once, then live events as they come.

The stream subscribes to the bus before it reads the backlog, so nothing falls between the two. Bus events are hints:
a message event that follows the cursor is sent as is, anything else (a gap, a lagged subscription, a quiet minute)
makes the stream read what it missed from the database.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from relaydesk.core.conversations import Conversations, message_view, session_channel
from relaydesk.core.html import sanitize_rep_html

RESYNC_IDLE_S = 30.0


async def session_events(
    conversations: Conversations, workspace_id: str, session_id: str, cursor: int, *, include_notes: bool
) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events for one session, resuming after `cursor` (a message seq). Visitors get no internal notes:
    the cursor passes over them without sending them."""
    async with conversations.bus.subscribe(session_channel(session_id)) as subscription:
        async for item in _backlog(conversations, workspace_id, session_id, cursor, include_notes):
            cursor = int(item["id"])
            yield item
        while True:
            event = await subscription.get(wait_s=RESYNC_IDLE_S)
            if event is None or subscription.take_lag():
                async for item in _backlog(conversations, workspace_id, session_id, cursor, include_notes):
                    cursor = int(item["id"])
                    yield item
                continue
            kind = event.get("type")
            if kind == "message":
                seq = int(event["seq"])
                if seq <= cursor:
                    continue
                if seq == cursor + 1:
                    cursor = seq
                    if include_notes or event["message"]["kind"] != "note":
                        yield _message_event(event["message"])
                    continue
                async for item in _backlog(conversations, workspace_id, session_id, cursor, include_notes):
                    cursor = int(item["id"])
                    yield item
            elif kind in ("typing", "presence", "draft"):
                yield {"event": kind, "data": json.dumps(event, separators=(",", ":"))}


async def _backlog(
    conversations: Conversations, workspace_id: str, session_id: str, cursor: int, include_notes: bool
) -> AsyncIterator[dict[str, Any]]:
    while True:
        messages = await conversations.messages_after(workspace_id, session_id, cursor, limit=500)
        for message in messages:
            if include_notes or message.kind != "note":
                yield _message_event(message_view(message))
        if len(messages) < 500:
            return
        cursor = messages[-1].seq


def resanitized(view: dict[str, Any]) -> dict[str, Any]:
    """A message view with its rep HTML sanitized once more on the way out: whatever path stored a message, nothing
    unsanitized reaches a page that shows it."""
    return {**view, "html": sanitize_rep_html(view["html"])} if view.get("html") else view


def _message_event(view: dict[str, Any]) -> dict[str, Any]:
    data = json.dumps(resanitized(view), separators=(",", ":"))
    return {"id": str(view["seq"]), "event": "message", "data": data}


def parse_cursor(last_event_id: str | None, after: int | None) -> int:
    """The seq to resume after: Last-Event-ID wins over ?after=, anything unreadable means from the start."""
    if last_event_id and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    return max(after or 0, 0)

