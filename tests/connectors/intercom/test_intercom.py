"""Intercom as a hosted channel, against the sandbox with the AI running: the customer writes in Intercom, the AI
answers there as its admin, reps take over, and closes travel both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from relaydesk.sandbox.intercom.state import Conversation
from tests.connectors.contract import IntercomDriver, Stack, stack_with

AI_ADMIN = "991267001"
REP = "991267002"


@pytest.fixture
async def intercom(tmp_path: Path) -> AsyncIterator[tuple[Stack, IntercomDriver]]:
    async with stack_with("intercom", f"sqlite:///{tmp_path}/relaydesk.db", tmp_path, with_agent=True) as pair:
        relaydesk, driver = pair
        saved = await relaydesk.client.put("/api/v1/integrations/intercom", headers=relaydesk.admin,
                                           json={"settings": driver.settings(), "is_handoff_target": False})
        assert saved.status_code == 200 and saved.json()["status"] == "active", saved.text
        driver.sandbox.webhook_url = saved.json()["webhook_url"]
        yield relaydesk, driver


def ai_replies(conversation: Conversation) -> list[str]:
    return [p.body or "" for p in conversation.parts if p.part_type == "comment" and p.author["id"] == AI_ADMIN]


async def customer_writes(relaydesk: Stack, driver: IntercomDriver, text: str) -> tuple[Conversation, str]:
    """A customer starts a Messenger conversation; the session relaydesk opened for it, once the AI answered."""
    contact = driver.sandbox.create_contact("user", "jane@acme.example", "Jane Doe")
    conversation = driver.sandbox.start_conversation(contact.id, f"<p>{text}</p>")
    await driver.drain()
    session_id = await relaydesk.wait_for(lambda: session_of(relaydesk, conversation.id))
    await relaydesk.wait_for(lambda: ai_replies(conversation))
    await relaydesk.settled(session_id)
    return conversation, session_id


async def session_of(relaydesk: Stack, conversation_id: str) -> str | None:
    response = await relaydesk.client.get("/api/v1/sessions", headers=relaydesk.admin)
    for session in response.json()["sessions"]:
        detail = await relaydesk.session(session["id"])
        if any(link["external_id"] == conversation_id for link in detail["links"]):
            return str(session["id"])
    return None


async def state(relaydesk: Stack, session_id: str) -> Any:
    return (await relaydesk.session(session_id))["session"]["state"]


async def test_a_customer_message_in_intercom_is_answered_there_by_the_ai_admin(
    intercom: tuple[Stack, IntercomDriver],
) -> None:
    relaydesk, driver = intercom
    conversation, session_id = await customer_writes(relaydesk, driver, "How long do refunds take?")
    detail = await relaydesk.session(session_id)
    assert detail["session"]["channel"] == "intercom" and detail["session"]["state"] == "ai"
    transcript = [(m["author"], m["text"]) for m in await relaydesk.messages(session_id) if m["kind"] == "text"]
    assert transcript[0] == ("visitor", "How long do refunds take?")
    assert [a for a, _ in transcript] == ["visitor", "ai"]
    assert len(ai_replies(conversation)) == 1  # the echo of the AI's own reply changed nothing

    driver.sandbox.user_reply(conversation, conversation.contact_id, "<p>And for <b>annual</b> plans?</p>")
    await driver.drain()
    await relaydesk.wait_for(lambda: len(ai_replies(conversation)) == 2)
    texts = [m["text"] for m in await relaydesk.messages(session_id) if m["author"] == "visitor"]
    assert texts == ["How long do refunds take?", "And for annual plans?"]


async def test_a_repeated_customer_webhook_posts_the_message_once(intercom: tuple[Stack, IntercomDriver]) -> None:
    relaydesk, driver = intercom
    _, session_id = await customer_writes(relaydesk, driver, "Where is my order?")
    first = driver.sandbox.deliveries[0]
    again = await relaydesk.webhook_client.post(first.url, content=first.body, headers=first.headers)
    assert again.status_code == 200 and again.json()["duplicates"]
    texts = [m["text"] for m in await relaydesk.messages(session_id) if m["author"] == "visitor"]
    assert texts == ["Where is my order?"]


async def test_a_rep_reply_in_intercom_takes_over_and_the_ai_stays_silent(
    intercom: tuple[Stack, IntercomDriver],
) -> None:
    relaydesk, driver = intercom
    conversation, session_id = await customer_writes(relaydesk, driver, "How long do refunds take?")
    driver.sandbox.admin_reply(conversation, REP, "<p>Hi Jane, Ada here.</p>")
    await driver.drain()
    assert await state(relaydesk, session_id) == "human"
    driver.sandbox.user_reply(conversation, conversation.contact_id, "Thanks Ada!")
    await driver.drain()
    await relaydesk.settled(session_id)
    messages = await relaydesk.messages(session_id)
    assert [m["author"] for m in messages if m["kind"] == "text"] == ["visitor", "ai", "rep", "visitor"]
    assert len(ai_replies(conversation)) == 1


async def test_handoff_posts_the_note_tags_and_assigns_the_team(intercom: tuple[Stack, IntercomDriver]) -> None:
    relaydesk, driver = intercom
    conversation, session_id = await customer_writes(relaydesk, driver, "My invoice is wrong")
    await relaydesk.hand_off(session_id, summary="Invoice charged twice")
    await relaydesk.settled(session_id)
    notes = [p.body or "" for p in conversation.parts if p.part_type == "note"]
    assert len(notes) == 1 and "Invoice charged twice" in notes[0] and "billing" in notes[0]
    assert all(label in notes[0] for label in ("Sentiment", "Language", f"/app/sessions/{session_id}"))
    assert [driver.sandbox.state.tags[t] for t in conversation.tag_ids] == ["relaydesk_handed_off"]
    assert conversation.team_assignee_id == "5001" and conversation.admin_assignee_id is None
    assert await state(relaydesk, session_id) == "handed_off"  # our own note, tag and assignment echo back unapplied


async def test_a_close_in_intercom_resolves_the_session(intercom: tuple[Stack, IntercomDriver]) -> None:
    relaydesk, driver = intercom
    conversation, session_id = await customer_writes(relaydesk, driver, "How long do refunds take?")
    driver.sandbox.set_state(conversation, REP, "closed")
    await driver.drain()
    assert await state(relaydesk, session_id) == "resolved"


async def test_resolving_in_relaydesk_closes_the_intercom_conversation(
    intercom: tuple[Stack, IntercomDriver],
) -> None:
    relaydesk, driver = intercom
    conversation, session_id = await customer_writes(relaydesk, driver, "How long do refunds take?")
    response = await relaydesk.client.post(f"/api/v1/sessions/{session_id}/resolve", headers=relaydesk.admin)
    assert response.status_code == 200
    await relaydesk.wait_for(lambda: conversation.state == "closed")
    await driver.drain()
    assert await state(relaydesk, session_id) == "resolved"
    assert [p.author["id"] for p in conversation.parts if p.part_type == "close"] == [AI_ADMIN]


async def test_conversations_intercom_started_open_no_session(intercom: tuple[Stack, IntercomDriver]) -> None:
    relaydesk, driver = intercom
    contact = driver.sandbox.create_contact("user", "jane@acme.example", "Jane Doe")
    driver.sandbox.start_conversation(contact.id, "<p>Welcome aboard!</p>", delivered_as="automated")
    await driver.drain()
    sessions = (await relaydesk.client.get("/api/v1/sessions", headers=relaydesk.admin)).json()["sessions"]
    assert sessions == []


async def test_check_names_an_unknown_ai_admin(intercom: tuple[Stack, IntercomDriver]) -> None:
    relaydesk, driver = intercom
    tested = await relaydesk.client.post("/api/v1/integrations/intercom/test", headers=relaydesk.admin,
                                         json={"settings": {**driver.settings(), "ai_admin_id": "42"}})
    assert tested.json()["ok"] is False and tested.json()["setting"] == "ai_admin_id"
    assert "991267001 (AI Assistant)" in tested.json()["reason"]
