"""The session state machine, as a table and against random walks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relaydesk.core.errors import IllegalTransition
from relaydesk.core.states import ENDED_STATES, Action, State, next_state

LEGAL = [
    (State.AI, Action.HAND_OFF, State.HANDED_OFF),
    (State.HANDED_OFF, Action.REP_JOIN, State.HUMAN),
    (State.AI, Action.REP_JOIN, State.HUMAN),
    (State.HUMAN, Action.HAND_BACK, State.AI),
    (State.HANDED_OFF, Action.HAND_BACK, State.AI),
    (State.HUMAN, Action.RESOLVE, State.RESOLVED),
    (State.AI, Action.RESOLVE, State.RESOLVED),
    (State.HANDED_OFF, Action.CLOSE, State.CLOSED),
    (State.RESOLVED, Action.REOPEN, State.AI),
    (State.CLOSED, Action.REOPEN, State.AI),
]


@pytest.mark.parametrize(("start", "action", "end"), LEGAL)
def test_legal_transitions_lead_where_the_design_says(start: State, action: Action, end: State) -> None:
    assert next_state(start, action) is end


@pytest.mark.parametrize(
    ("start", "action"),
    [
        (State.RESOLVED, Action.HAND_OFF),
        (State.CLOSED, Action.REP_JOIN),
        (State.HUMAN, Action.HAND_OFF),
        (State.AI, Action.HAND_BACK),
        (State.AI, Action.REOPEN),
        (State.RESOLVED, Action.RESOLVE),
    ],
)
def test_illegal_transitions_are_refused_naming_state_and_action(start: State, action: Action) -> None:
    with pytest.raises(IllegalTransition) as refused:
        next_state(start, action)
    assert start.value in refused.value.message
    assert action.value in refused.value.message
    assert refused.value.status == 409


def test_a_rep_reopening_can_take_the_session_straight_to_human() -> None:
    assert next_state(State.RESOLVED, Action.REOPEN, reopen_to=State.HUMAN) is State.HUMAN
    with pytest.raises(IllegalTransition):
        next_state(State.RESOLVED, Action.REOPEN, reopen_to=State.HANDED_OFF)


@given(st.lists(st.sampled_from(list(Action)), max_size=30))
def test_random_walks_never_leave_the_state_set_and_ended_sessions_only_reopen(actions: list[Action]) -> None:
    state = State.AI
    for action in actions:
        try:
            after = next_state(state, action)
        except IllegalTransition:
            continue
        if state in ENDED_STATES:
            assert action is Action.REOPEN
        assert after in State
        state = after
