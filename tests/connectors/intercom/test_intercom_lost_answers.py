"""Widget handoffs to Intercom when Intercom does the work but its answer comes after relaydesk's timeout: the retried
job must recognise what the lost attempt wrote instead of writing it again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from relaydesk.connectors.intercom.webhooks import plain_text
from tests.conftest import make_settings
from tests.connectors.contract import IntercomDriver, Stack, stack_with

LATE_S = make_settings("sqlite://", Path()).delivery_timeout_s + 0.5


class AnswerLate:
    """The sandbox app, except that the next request armed with `lose` is served in full (Intercom does the work)
    and its answer held past relaydesk's timeout (the answer is lost)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.armed: list[str] = []

    def lose(self, path: str) -> None:
        self.armed.append(path)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = next((p for p in self.armed if scope["type"] == "http" and scope["method"] == "POST"
                     and scope["path"].startswith(p)), None)
        if path is None:
            await self.app(scope, receive, send)
            return
        self.armed.remove(path)
        held: list[Any] = []

        async def hold(message: Any) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        await asyncio.sleep(LATE_S)
        for message in held:
            await send(message)


@pytest.fixture
async def handed_to_intercom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Stack, IntercomDriver, AnswerLate]]:
    """relaydesk with Intercom as the handoff target of widget chats, its sandbox able to lose an answer."""
    late: list[AnswerLate] = []
    serve = IntercomDriver.serve

    def served(**options: Any) -> AnswerLate:
        late.append(AnswerLate(serve(**options)))
        return late[-1]

    monkeypatch.setattr(IntercomDriver, "serve", staticmethod(served))
    async with stack_with("intercom", f"sqlite:///{tmp_path}/relaydesk.db", tmp_path) as (relaydesk, driver):
        await driver.connect(relaydesk)
        yield relaydesk, driver, late[-1]


async def test_a_lost_answer_to_creating_the_conversation_adopts_it_instead_of_creating_another(
    handed_to_intercom: tuple[Stack, IntercomDriver, AnswerLate],
) -> None:
    relaydesk, driver, intercom = handed_to_intercom
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "My invoice is wrong"), ("ai", "Let me check."))
    intercom.lose("/conversations")
    await relaydesk.hand_off(session_id)
    deliveries = await relaydesk.settled(session_id, within_s=20)
    assert all(d["state"] == "done" for d in deliveries), deliveries
    marker = f"/app/sessions/{session_id})"
    opened = [c for c in driver.sandbox.state.conversations.values() if marker in c.source["body"]]
    assert len(opened) == 1, [c.id for c in opened]
    comments = [plain_text(p.body) for p in opened[0].parts if p.part_type == "comment"]
    assert comments == ["My invoice is wrong", "Let me check."]


async def test_a_retried_ai_answer_with_blank_lines_is_posted_once(
    handed_to_intercom: tuple[Stack, IntercomDriver, AnswerLate],
) -> None:
    relaydesk, driver, intercom = handed_to_intercom
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "How do refunds work?"))
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    conversation = driver.conversation(session_id)
    intercom.lose(f"/conversations/{conversation.id}/reply")
    answer = "Refunds take 5 business days.\n\nAsk again if yours has not arrived."
    await relaydesk.say(visitor, session_id, "ai", answer)
    deliveries = await relaydesk.settled(session_id, within_s=20)
    assert all(d["state"] == "done" for d in deliveries), deliveries
    comments = [plain_text(p.body) for p in conversation.parts if p.part_type == "comment"]
    assert comments == ["How do refunds work?", "Refunds take 5 business days.\nAsk again if yours has not arrived."]


async def test_a_handoff_turn_whose_answer_was_lost_is_not_posted_again(
    handed_to_intercom: tuple[Stack, IntercomDriver, AnswerLate],
) -> None:
    relaydesk, driver, intercom = handed_to_intercom
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "My invoice is wrong"),
                                      ("ai", "Which invoice?\n\nThe number is at the top."), ("visitor", "INV-7"))
    intercom.lose("/conversations/")  # the first reply: the visitor's first turn
    await relaydesk.hand_off(session_id)
    deliveries = await relaydesk.settled(session_id, within_s=20)
    assert all(d["state"] == "done" for d in deliveries), deliveries
    conversation = driver.conversation(session_id)
    comments = [plain_text(p.body) for p in conversation.parts if p.part_type == "comment"]
    assert comments == ["My invoice is wrong", "Which invoice?\nThe number is at the top.", "INV-7"]
