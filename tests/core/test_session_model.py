"""The session lifecycle against a model, driven by Hypothesis: random messages, replies and state changes.

After every step the stored session matches the model: its state, who resolved it, a gap-free seq that counts every
message (event messages included), and each refused transition changed nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import select

from relaydesk.core.bus import Bus
from relaydesk.core.conversations import Conversations, NewMessage
from relaydesk.core.db import Database, upgrade
from relaydesk.core.errors import Conflict, IllegalTransition
from relaydesk.core.models import Message
from relaydesk.core.states import Action, State

OPEN = {State.AI, State.HANDED_OFF, State.HUMAN}
ENDED = {State.RESOLVED, State.CLOSED}
# The lifecycle as the design states it, written out here rather than read from the code under test.
MODEL: dict[Action, tuple[set[State], State | None]] = {
    Action.HAND_OFF: ({State.AI}, State.HANDED_OFF),
    Action.REP_JOIN: ({State.AI, State.HANDED_OFF}, State.HUMAN),
    Action.HAND_BACK: ({State.HANDED_OFF, State.HUMAN}, State.AI),
    Action.RESOLVE: (OPEN, State.RESOLVED),
    Action.CLOSE: (OPEN, State.CLOSED),
    Action.REOPEN: (ENDED, None),  # to the AI, or to a person when a rep reopens it for themselves
}


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.path = Path(TMP) / f"session-{id(self)}.db"
        url = f"sqlite+aiosqlite:///{self.path}"
        self.run(upgrade(url))
        self.db = Database(url)
        self.conversations = Conversations(self.db, Bus())
        workspace, _ = self.run(self.conversations.create_workspace("model"))
        contact = self.run(self.conversations.create_contact(workspace.id))
        self.workspace_id = workspace.id
        self.session_id = self.run(self.conversations.open_session(workspace.id, contact.id)).id
        self.state = State.AI
        self.resolved_by: str | None = None
        self.messages = 0
        self.client_ids: set[str] = set()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    @rule(client_id=st.sampled_from(["a", "b", "c", None]))
    def visitor_writes(self, client_id: str | None) -> None:
        posted = self.run(self.conversations.post_message(
            self.workspace_id, self.session_id, NewMessage("visitor", "hello", client_id=client_id)))
        repeat = client_id is not None and client_id in self.client_ids
        assert posted.created is not repeat
        if not repeat:
            self.messages += 1
            if client_id:
                self.client_ids.add(client_id)

    @rule(kind=st.sampled_from(["text", "note"]))
    def rep_writes(self, kind: str) -> None:
        try:
            self.run(self.conversations.rep_reply(self.workspace_id, self.session_id, text="on it", kind=kind,
                                                  author_name="Ana"))
        except Conflict:
            assert kind == "text" and self.state in ENDED
            return
        if kind == "text" and self.state in (State.AI, State.HANDED_OFF):
            self.state = State.HUMAN
            self.messages += 1  # the rep_joined event
        assert kind == "note" or self.state in OPEN
        self.messages += 1

    @rule(action=st.sampled_from(list(Action)), actor=st.sampled_from(["ai", "rep", "visitor"]),
          reopen_to=st.sampled_from([State.AI, State.HUMAN]))
    def transition(self, action: Action, actor: str, reopen_to: State) -> None:
        allowed, target = MODEL[action]
        try:
            self.run(self.conversations.transition(self.workspace_id, self.session_id, action, actor=actor,
                                                   reopen_to=reopen_to))
        except IllegalTransition:
            assert self.state not in allowed, f"{action} from {self.state} was refused"
            return
        assert self.state in allowed, f"{action} from {self.state} was allowed"
        self.state = target or reopen_to
        self.messages += 1
        if action is Action.RESOLVE:
            self.resolved_by = {"visitor": "visitor", "ai": "ai"}.get(actor, "rep")
        elif action is Action.REOPEN:
            self.resolved_by = None

    @invariant()
    def stored_session_matches_the_model(self) -> None:
        session = self.run(self.conversations.get_session(self.workspace_id, self.session_id))
        assert session.state == self.state
        assert session.resolved_by == (self.resolved_by if self.state is State.RESOLVED else None)
        assert session.last_seq == self.messages
        assert (session.ended_at is not None) == (self.state in ENDED)

    @invariant()
    def sequence_numbers_are_gap_free(self) -> None:
        async def seqs() -> list[int]:
            async with self.db.read() as db:
                return list((await db.scalars(select(Message.seq).where(Message.session_id == self.session_id)
                                              .order_by(Message.seq))).all())
        assert self.run(seqs()) == list(range(1, self.messages + 1))


TMP = ""


def test_session_lifecycle_matches_its_model(tmp_path: Path) -> None:
    global TMP
    TMP = str(tmp_path)
    SessionMachine.TestCase.settings = settings(
        max_examples=30, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
    )
    SessionMachine.TestCase().runTest()
