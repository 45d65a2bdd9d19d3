"""The session state machine: which action may move a session from which state to which."""

from __future__ import annotations

from enum import StrEnum

from relaydesk.core.errors import IllegalTransition


class State(StrEnum):
    AI = "ai"
    HANDED_OFF = "handed_off"
    HUMAN = "human"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Action(StrEnum):
    HAND_OFF = "hand_off"  # the AI (or its policy) asks for a person
    REP_JOIN = "rep_join"  # a rep engages: replies, takes over, or is assigned
    HAND_BACK = "hand_back"  # a rep gives the session back to the AI
    RESOLVE = "resolve"
    CLOSE = "close"  # ended without resolution
    REOPEN = "reopen"


OPEN_STATES = frozenset({State.AI, State.HANDED_OFF, State.HUMAN})
ENDED_STATES = frozenset({State.RESOLVED, State.CLOSED})

TRANSITIONS: dict[Action, tuple[frozenset[State], State | None]] = {
    Action.HAND_OFF: (frozenset({State.AI}), State.HANDED_OFF),
    Action.REP_JOIN: (frozenset({State.AI, State.HANDED_OFF}), State.HUMAN),
    Action.HAND_BACK: (frozenset({State.HANDED_OFF, State.HUMAN}), State.AI),
    Action.RESOLVE: (OPEN_STATES, State.RESOLVED),
    Action.CLOSE: (OPEN_STATES, State.CLOSED),
    # Reopen goes to the AI unless the caller names a human target (a rep reopening from the Inbox).
    Action.REOPEN: (ENDED_STATES, None),
}


def next_state(current: State | str, action: Action | str, *, reopen_to: State = State.AI) -> State:
    """The state `action` leads to from `current`, or IllegalTransition with both named."""
    state, act = State(current), Action(action)
    allowed_from, target = TRANSITIONS[act]
    if state not in allowed_from:
        allowed = ", ".join(sorted(s.value for s in allowed_from))
        raise IllegalTransition(
            f"cannot {act.value} a session that is {state.value}; allowed from: {allowed}",
            state=state.value,
            action=act.value,
        )
    if target is None:
        if reopen_to not in (State.AI, State.HUMAN):
            raise IllegalTransition(f"a session reopens to ai or human, not {reopen_to.value}")
        return reopen_to
    return target
