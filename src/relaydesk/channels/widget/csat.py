"""The visitor's satisfaction rating of a resolved session.

The `csat_submitted` event message is the record: it is written once per session (its client_id is fixed), and the
session's `csat_score` and `csat_comment` are set from it on every call, so a retry after a crash between the two
writes still ends with both.
"""

from __future__ import annotations

from sqlalchemy import update

from relaydesk.channels.widget.settings import WidgetSettings
from relaydesk.core.conversations import Conversations, NewMessage
from relaydesk.core.errors import Conflict, UnprocessableMessage
from relaydesk.core.models import ChatSession
from relaydesk.core.states import State

LOW_SCORES = frozenset({1, 2})


async def submit_csat(
    conversations: Conversations,
    session: ChatSession,
    *,
    score: int,
    comment: str | None,
    settings: WidgetSettings,
) -> ChatSession:
    """Store a 1–5 rating (and comment) on a resolved session, with a `csat_submitted` event in its transcript."""
    if not settings.csat_enabled:
        raise Conflict("satisfaction ratings are turned off for this workspace")
    if session.state != State.RESOLVED:
        raise Conflict(f"a session can be rated once it is resolved; this one is {session.state}")
    comment = (comment or "").strip() or None
    if score in LOW_SCORES and comment is None and settings.csat_low_score_comment == "require":
        raise UnprocessableMessage("a score of 1 or 2 needs a comment saying what went wrong")
    text = f"Rated {score}/5" + (f": {comment}" if comment else "")
    posted = await conversations.post_message(
        session.workspace_id,
        session.id,
        NewMessage(
            author="visitor",
            kind="event",
            event="csat_submitted",
            text=text,
            data={"score": score, "comment": comment},
            client_id=f"csat-{session.id}",
        ),
    )
    stored = posted.message.data
    if not posted.created and (stored.get("score"), stored.get("comment")) != (score, comment):
        raise Conflict("this session has already been rated")
    async with conversations.db.transaction() as tx:
        await tx.execute(
            update(ChatSession)
            .where(ChatSession.id == session.id, ChatSession.workspace_id == session.workspace_id)
            .values(csat_score=stored["score"], csat_comment=stored.get("comment"))
        )
    return await conversations.get_session(session.workspace_id, session.id)
