"""Freshchat as a hosted channel, against the sandbox with the AI running: customers write in Freshchat, the AI
answers there as the default agent in either mode, escalates with a private note, resolves with one, and rep
resolves, reopens and replies travel back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from relaydesk.sandbox.freshchat.state import Conversation, User
from tests.connectors.contract import FreshchatDriver, Stack, stack_with

AI_AGENT = "2f6a8b1e-0b59-4b1b-9d62-000000000001"
REP = FreshchatDriver.rep
AI_WAIT_S = 30.0  # the AI's first answer loads its language model, slow on a busy machine


async def save(relaydesk: Stack, driver: FreshchatDriver, **settings: Any) -> dict[str, Any]:
    saved = await relaydesk.client.put("/api/v1/integrations/freshchat", headers=relaydesk.admin,
                                       json={"settings": {**driver.settings(), **settings},
                                             "is_handoff_target": False})
    assert saved.status_code == 200 and saved.json()["status"] == "active", saved.text
    body: dict[str, Any] = saved.json()
    driver.sandbox.webhook_url = body["webhook_url"]
    return body


@pytest.fixture
async def freshchat(tmp_path: Path) -> AsyncIterator[tuple[Stack, FreshchatDriver]]:
    async with stack_with("freshchat", f"sqlite:///{tmp_path}/relaydesk.db", tmp_path, with_agent=True) as pair:
        relaydesk, driver = pair
        await save(relaydesk, driver)
        yield relaydesk, driver


def ai_replies(conversation: Conversation) -> list[str]:
    return [m.text for m in conversation.messages if m.actor_id == AI_AGENT and m.message_type == "normal"]


def notes(conversation: Conversation) -> list[str]:
    return [m.text for m in conversation.messages if m.message_type == "private"]


def customer(driver: FreshchatDriver, email: str = "jane@acme.example") -> User:
    return driver.sandbox.create_user(email, "Jane", "Doe", properties=[{"name": "plan", "value": "pro"}])


async def session_of(relaydesk: Stack, conversation_id: str) -> str | None:
    response = await relaydesk.client.get("/api/v1/sessions", headers=relaydesk.admin)
    for session in response.json()["sessions"]:
        detail = await relaydesk.session(session["id"])
        if any(link["external_id"] == conversation_id for link in detail["links"]):
            return str(session["id"])
    return None


async def answered(relaydesk: Stack, driver: FreshchatDriver, text: str, conversation: Conversation | None = None,
                   **routing: Any) -> tuple[Conversation, str]:
    """The customer writes; the session relaydesk opened (or continued), once the AI's reply is in Freshchat."""
    before = len(ai_replies(conversation)) if conversation else 0
    user = driver.sandbox.user(conversation.user_ids[0]) if conversation else customer(driver)
    conversation = driver.sandbox.customer_writes(user, text, conversation, **routing)
    await driver.drain()
    session_id = await relaydesk.wait_for(lambda: session_of(relaydesk, conversation.id))
    await relaydesk.wait_for(lambda: len(ai_replies(conversation)) > before, within_s=AI_WAIT_S)
    await relaydesk.settled(session_id, within_s=AI_WAIT_S)
    await driver.drain()
    return conversation, session_id


async def state(relaydesk: Stack, session_id: str) -> Any:
    return (await relaydesk.session(session_id))["session"]["state"]


async def sessions(relaydesk: Stack) -> list[Any]:
    return list((await relaydesk.client.get("/api/v1/sessions", headers=relaydesk.admin)).json()["sessions"])


async def test_auto_handle_claims_an_unassigned_chat_and_the_ai_answers_as_the_default_agent(
    freshchat: tuple[Stack, FreshchatDriver],
) -> None:
    relaydesk, driver = freshchat
    conversation, session_id = await answered(relaydesk, driver, "How do I create an API token?")
    assert conversation.assigned_agent_id == AI_AGENT and conversation.status == "assigned"
    detail = await relaydesk.session(session_id)
    assert detail["session"]["channel"] == "freshchat" and detail["session"]["state"] == "ai"
    link = next(link for link in detail["links"] if link["kind"] == "conversation")
    assert link["url"] == f"{driver.url}/a/153370844780746/open/conversation/{conversation.id}"
    first = next(m for m in await relaydesk.messages(session_id) if m["kind"] == "text")
    assert (first["author"], first["text"]) == ("visitor", "How do I create an API token?")
    assert len(ai_replies(conversation)) == 1  # the echo of the AI's own message changed nothing

    await answered(relaydesk, driver, "And can I revoke it later?", conversation)
    texts = [m["text"] for m in await relaydesk.messages(session_id) if m["author"] == "visitor"]
    assert texts == ["How do I create an API token?", "And can I revoke it later?"]
    assert len(await sessions(relaydesk)) == 1


async def test_the_customer_links_to_one_contact_by_email(freshchat: tuple[Stack, FreshchatDriver]) -> None:
    relaydesk, driver = freshchat
    _, first = await answered(relaydesk, driver, "How do I create an API token?")
    second_user = customer(driver)  # another Freshchat user with the same email
    conversation = driver.sandbox.customer_writes(second_user, "How do I change my plan?")
    await driver.drain()
    second = await relaydesk.wait_for(lambda: session_of(relaydesk, conversation.id))
    one, other = (await relaydesk.session(first))["session"], (await relaydesk.session(second))["session"]
    assert one["contact_id"] == other["contact_id"]
    found = await relaydesk.client.get(f"/api/v1/contacts/{one['contact_id']}", headers=relaydesk.admin)
    contact = found.json()["contact"]
    assert contact["email"] == "jane@acme.example" and contact["name"] == "Jane Doe"
    assert len(found.json()["sessions"]) == 2


async def test_assigned_only_answers_what_routing_gave_the_ai_and_leaves_the_rest(
    freshchat: tuple[Stack, FreshchatDriver],
) -> None:
    relaydesk, driver = freshchat
    await save(relaydesk, driver, mode="assigned_only")
    unassigned = driver.sandbox.customer_writes(customer(driver), "How do I create an API token?")
    to_a_rep = driver.sandbox.customer_writes(customer(driver), "How do I create an API token?", routed_to=REP)
    routed, session_id = await answered(relaydesk, driver, "How do I change my plan?", routed_to=AI_AGENT)
    assert routed.assigned_agent_id == AI_AGENT and len(ai_replies(routed)) == 1
    assert [s["id"] for s in await sessions(relaydesk)] == [session_id]
    assert ai_replies(unassigned) == [] and ai_replies(to_a_rep) == []
    assert unassigned.assigned_agent_id is None and to_a_rep.assigned_agent_id == REP


async def test_a_mode_change_applies_to_new_chats_and_chats_in_flight_keep_their_assignment(
    freshchat: tuple[Stack, FreshchatDriver],
) -> None:
    relaydesk, driver = freshchat
    in_flight, session_id = await answered(relaydesk, driver, "How do I create an API token?")
    await save(relaydesk, driver, mode="assigned_only")
    await answered(relaydesk, driver, "And can I revoke it later?", in_flight)
    assert len(ai_replies(in_flight)) == 2
    new = driver.sandbox.customer_writes(customer(driver), "How do I change my plan?")
    await driver.drain()
    await relaydesk.settled(session_id)
    assert ai_replies(new) == [] and new.assigned_agent_id is None
    assert len(await sessions(relaydesk)) == 1


async def test_escalation_unassigns_and_leaves_a_private_note_and_rep_replies_are_not_customer_messages(
    freshchat: tuple[Stack, FreshchatDriver],
) -> None:
    relaydesk, driver = freshchat
    conversation, session_id = await answered(relaydesk, driver, "How do I create an API token?")
    user = driver.sandbox.user(conversation.user_ids[0])
    driver.sandbox.customer_writes(user, "This is useless, I want to talk to a human now", conversation)
    await driver.drain()
    await relaydesk.wait_for(lambda: notes(conversation), within_s=AI_WAIT_S)
    await relaydesk.settled(session_id)
    await driver.drain()
    assert conversation.assigned_agent_id is None and conversation.status == "new"
    [note] = notes(conversation)
    assert note.startswith("relaydesk handoff") and f"/app/sessions/{session_id}" in note
    assert all(label in note for label in ("Reason: the visitor asked for a person", "Summary: ", "Sentiment: neg"))
    assert await state(relaydesk, session_id) == "handed_off"  # our own note and unassignment echo back unapplied

    driver.sandbox.reply(conversation, REP, "Hi Jane, Ada here. Let me help.")
    await driver.drain()
    driver.sandbox.customer_writes(user, "Thanks Ada!", conversation)
    await driver.drain()
    await relaydesk.settled(session_id)
    assert await state(relaydesk, session_id) == "human"
    texts = [(m["author"], m["text"]) for m in await relaydesk.messages(session_id) if m["kind"] == "text"]
    assert texts[-2:] == [("rep", "Hi Jane, Ada here. Let me help."), ("visitor", "Thanks Ada!")]
    assert len(notes(conversation)) == 1 and ai_replies(conversation)[-1] == texts[-3][1]


async def resolved_by_the_ai(relaydesk: Stack, driver: FreshchatDriver) -> tuple[Conversation, str]:
    """A conversation the AI answered, then resolved when the customer said the answer worked."""
    conversation, session_id = await answered(relaydesk, driver, "How do I create an API token?")
    driver.sandbox.customer_writes(driver.sandbox.user(conversation.user_ids[0]), "That worked, thanks!",
                                   conversation)
    await driver.drain()
    await relaydesk.wait_for(lambda: conversation.status == "resolved", within_s=AI_WAIT_S)
    await relaydesk.settled(session_id)
    await driver.drain()
    return conversation, session_id


async def test_an_ai_resolution_resolves_the_conversation_with_a_private_note(
    freshchat: tuple[Stack, FreshchatDriver],
) -> None:
    relaydesk, driver = freshchat
    conversation, session_id = await resolved_by_the_ai(relaydesk, driver)
    session = (await relaydesk.session(session_id))["session"]
    assert session["state"] == "resolved" and session["resolved_by"] == "ai"
    assert session["summary"].startswith("Wants: How do I create an API token?")
    assert session["sentiment"] == "positive" and session["sentiment_score"] > 0  # "That worked, thanks!"
    [note] = notes(conversation)
    assert note.startswith("relaydesk resolution: resolved by the AI")
    lines = note.splitlines()
    assert "Summary: Wants: How do I create an API token?" in lines
    assert f"Sentiment: positive ({session['sentiment_score']:+.2f})" in lines
    assert "no summary" not in note and "not analysed" not in note
    assert f"/app/sessions/{session_id}" in note
    assert [d["kind"] for d in await relaydesk.settled(session_id)].count("connector.resolve") == 1


async def test_the_customer_writing_after_an_ai_resolution_reopens_the_session_to_the_ai(
    freshchat: tuple[Stack, FreshchatDriver],
) -> None:
    relaydesk, driver = freshchat
    conversation, session_id = await resolved_by_the_ai(relaydesk, driver)
    replies = len(ai_replies(conversation))
    await answered(relaydesk, driver, "And can I revoke a token later?", conversation)
    assert conversation.status == "reopened" and conversation.assigned_agent_id == AI_AGENT
    session = (await relaydesk.session(session_id))["session"]
    assert (session["state"], session["resolved_by"]) == ("ai", None)
    assert len(ai_replies(conversation)) == replies + 1 and len(await sessions(relaydesk)) == 1


async def test_the_customer_writing_after_a_rep_resolution_reopens_the_session_to_the_rep(
    freshchat: tuple[Stack, FreshchatDriver],
) -> None:
    relaydesk, driver = freshchat
    conversation, session_id = await answered(relaydesk, driver, "How do I create an API token?")
    driver.sandbox.resolve(conversation, by=("agent", REP))
    await driver.drain()
    assert await state(relaydesk, session_id) == "resolved"
    driver.sandbox.customer_writes(driver.sandbox.user(conversation.user_ids[0]), "One more question, please",
                                   conversation)
    await driver.drain()
    await relaydesk.settled(session_id, within_s=AI_WAIT_S)
    assert await state(relaydesk, session_id) == "human"
    visitor = [m["text"] for m in await relaydesk.messages(session_id) if m["author"] == "visitor"]
    assert visitor[-1] == "One more question, please" and len(ai_replies(conversation)) == 1


async def test_a_rep_resolve_closes_the_session_and_a_reopen_syncs(freshchat: tuple[Stack, FreshchatDriver]) -> None:
    relaydesk, driver = freshchat
    conversation, session_id = await answered(relaydesk, driver, "How do I create an API token?")
    driver.sandbox.resolve(conversation, by=("agent", REP))
    await driver.drain()
    assert await state(relaydesk, session_id) == "resolved"
    assert notes(conversation) == []  # nothing is echoed back to Freshchat
    driver.sandbox.reopen(conversation, by=("agent", REP))
    await driver.drain()
    assert await state(relaydesk, session_id) == "human"


async def test_duplicate_and_forged_webhooks_change_nothing(freshchat: tuple[Stack, FreshchatDriver]) -> None:
    relaydesk, driver = freshchat
    conversation, session_id = await answered(relaydesk, driver, "How do I create an API token?")
    first = driver.sandbox.deliveries[0]
    assert first.payload["action"] == "message_create"
    again = await relaydesk.webhook_client.post(first.url, content=first.body, headers=first.headers)
    assert again.status_code == 200 and again.json()["duplicates"]
    forged = first.body.replace(b"API token", b"refund now")
    refused = await relaydesk.webhook_client.post(first.url, content=forged, headers=first.headers)
    assert refused.status_code == 401 and "X-Freshchat-Signature" in refused.json()["error"]["message"]
    await relaydesk.settled(session_id)
    texts = [m["text"] for m in await relaydesk.messages(session_id) if m["author"] == "visitor"]
    assert texts == ["How do I create an API token?"] and len(ai_replies(conversation)) == 1


async def test_a_429_is_retried_after_its_retry_after(freshchat: tuple[Stack, FreshchatDriver]) -> None:
    relaydesk, driver = freshchat
    driver.sandbox.faults.rate_limit_next(1, retry_after=1, path="/v2/conversations/", method="POST")
    conversation, session_id = await answered(relaydesk, driver, "How do I create an API token?")
    delivery = next(d for d in await relaydesk.deliveries(session_id) if d["kind"] == "connector.send_message")
    assert delivery["state"] == "done" and delivery["attempts"] == 2
    assert len(ai_replies(conversation)) == 1


async def test_a_rotated_token_flags_the_integration(freshchat: tuple[Stack, FreshchatDriver]) -> None:
    relaydesk, driver = freshchat
    conversation, _ = await answered(relaydesk, driver, "How do I create an API token?")
    driver.sandbox.config = replace(driver.sandbox.config, api_token="rotated")
    driver.sandbox.customer_writes(driver.sandbox.user(conversation.user_ids[0]), "Hello?", conversation)
    await driver.drain()
    assert set(driver.sandbox.deliveries[-1].statuses) == {503}  # Freshchat is asked to deliver it again
    shown = (await relaydesk.client.get("/api/v1/integrations/freshchat", headers=relaydesk.admin)).json()
    assert shown["status"] == "error" and "API token" in shown["status_reason"]


async def test_check_names_the_setting_to_fix(freshchat: tuple[Stack, FreshchatDriver]) -> None:
    relaydesk, driver = freshchat

    async def tested(**settings: Any) -> dict[str, Any]:
        response = await relaydesk.client.post("/api/v1/integrations/freshchat/test", headers=relaydesk.admin,
                                               json={"settings": {**driver.settings(), **settings}})
        body: dict[str, Any] = response.json()
        return body

    unknown = await tested(default_agent_email="nobody@acme.example")
    assert unknown["ok"] is False and unknown["setting"] == "default_agent_email"
    assert "ai-assistant@acme.example" in unknown["reason"]
    assert (await tested(webhook_public_key="not a key"))["setting"] == "webhook_public_key"
    assert (await tested(channel_id="nope"))["setting"] == "channel_id"
    assert (await tested(api_base_url="http://127.0.0.1:9/v2"))["setting"] == "domain"
    shown = (await relaydesk.client.get("/api/v1/integrations/freshchat", headers=relaydesk.admin)).json()
    assert shown["settings"]["domain"] == "acme.freshchat.com"
    assert shown["settings"]["default_agent_id"] == AI_AGENT
