"""The agent inside a running relaydesk: answers, hands off, stays silent while a person owns the session."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2

from relaydesk.agent import responder
from relaydesk.agent.sample import SAMPLE_KB_DIR
from relaydesk.config import Settings
from relaydesk.core import outbox
from tests.conftest import app_client
from tests.helpers import Visitor, api, create_workspace, new_session, new_visitor


async def say(client: httpx2.AsyncClient, visitor: Visitor, session_id: str, text: str, client_id: str) -> int:
    response = await client.post(f"/api/widget/v1/sessions/{session_id}/messages",
                                 json={"text": text, "client_id": client_id}, headers=visitor.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["message"]["seq"])


async def transcript(client: httpx2.AsyncClient, visitor: Visitor, session_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers)
    return list(response.json()["messages"])


async def wait_for(client: httpx2.AsyncClient, visitor: Visitor, session_id: str, after: int,
                   predicate: Any, timeout_s: float = 15) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        messages = [m for m in await transcript(client, visitor, session_id) if m["seq"] > after]
        if predicate(messages):
            return messages
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out; messages after {after}: {messages}")


async def test_the_ai_answers_hands_off_on_request_and_answers_again_after_hand_back(settings: Settings) -> None:
    async with app_client(settings) as (client, app):
        workspace_id, widget_token, key = await create_workspace(app)
        await responder.ingest_documents(settings, workspace_id, str(SAMPLE_KB_DIR))
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)

        asked = await say(client, visitor, session_id, "How do I restore a file I deleted last week?", "q1")
        answer = (await wait_for(client, visitor, session_id, asked, lambda ms: any(m["author"] == "ai" for m in ms)))
        ai = next(m for m in answer if m["author"] == "ai")
        assert "restore" in ai["text"].lower() or "deleted" in ai["text"].lower()
        detail = (await client.get(f"/api/v1/sessions/{session_id}/messages", headers=api(key))).json()
        assert detail["messages"][-1]["author"] == "ai"

        asked = await say(client, visitor, session_id, "I want to talk to a real person please", "q2")
        await wait_for(client, visitor, session_id, asked,
                       lambda ms: any(m["kind"] == "event" and m["event"] == "handed_off" for m in ms))
        session = (await client.get(f"/api/v1/sessions/{session_id}", headers=api(key))).json()
        assert session["session"]["state"] == "handed_off"
        assert session["session"]["language"] == "en"
        assert session["session"]["summary"]
        assert session["session"]["sentiment"] in ("positive", "neutral", "negative")
        handed = [m for m in await transcript(client, visitor, session_id) if m["event"] == "handed_off"]
        assert handed[0]["kind"] == "event"

        silent = await say(client, visitor, session_id, "Hello? How do I share a folder?", "q3")
        await asyncio.sleep(1.0)
        assert not [m for m in await transcript(client, visitor, session_id) if m["seq"] > silent]

        back = await client.post(f"/api/v1/sessions/{session_id}/hand-back", headers=api(key), json={})
        assert back.json()["state"] == "ai"
        asked = await say(client, visitor, session_id, "How do I share a folder?", "q4")
        again = await wait_for(client, visitor, session_id, asked, lambda ms: any(m["author"] == "ai" for m in ms))
        replies = [m["text"] for m in again if m["author"] == "ai"]
        assert any("shar" in text.lower() for text in replies), replies


async def test_a_job_run_twice_answers_once_and_only_the_latest_message_is_answered(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        runtime = app.state.runtime
        workspace_id, widget_token, _ = await create_workspace(app)
        await responder.ingest_documents(settings, workspace_id, str(SAMPLE_KB_DIR))
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)
        first = await say(client, visitor, session_id, "hi", "a")
        second = await say(client, visitor, session_id, "How much does the Plus plan cost per month?", "b")
        async with runtime.db.transaction() as tx:
            jobs = await outbox.claim(tx, worker_id="test", limit=10, lease_s=30)
        assert [job.payload["seq"] for job in jobs] == [first], "one job per session at a time, oldest first"
        skipped = await runtime.handlers[responder.KIND](jobs[0])
        assert skipped.detail["skipped"] == "a newer visitor message will be answered"
        async with runtime.db.transaction() as tx:
            assert await outbox.complete(tx, jobs[0])
            jobs = await outbox.claim(tx, worker_id="test", limit=10, lease_s=30)
        assert [job.payload["seq"] for job in jobs] == [second]
        handled = await runtime.handlers[responder.KIND](jobs[0])
        assert handled.detail["decision"] == "answer"
        repeated = await runtime.handlers[responder.KIND](jobs[0])
        assert repeated.detail["skipped"] == "already answered"
        answers = [m for m in await transcript(client, visitor, session_id) if m["author"] == "ai"]
        assert len(answers) == 1 and "7.99" in answers[0]["text"]


async def test_a_workspace_without_a_knowledge_base_still_gets_an_answer(settings: Settings) -> None:
    async with app_client(settings) as (client, app):
        _, widget_token, _ = await create_workspace(app)
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)
        asked = await say(client, visitor, session_id, "Do you ship to Norway?", "q1")
        replies = await wait_for(client, visitor, session_id, asked, lambda ms: any(m["author"] == "ai" for m in ms))
        assert [m["author"] for m in replies] == ["ai"]

