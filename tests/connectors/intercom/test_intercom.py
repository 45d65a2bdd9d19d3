"""Intercom as a hosted channel, against the sandbox with the AI running: the customer writes in Intercom, the AI
answers there as its admin, reps take over, and closes travel both ways."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from relaydesk.agent.analyzers import language_detector
from relaydesk.agent.decision import AgentContext, Decision
from relaydesk.agent.offline import OfflineBrain
from relaydesk.core.models import Contact
from relaydesk.sandbox.intercom.state import Conversation
from tests.connectors.contract import IntercomDriver, Stack, stack_with

AI_ADMIN = "991267001"
REP = "991267002"
OTHER_REP = "991267003"
NO_WAIT = {"web_settle_s": 0, "email_settle_s": 0}


async def connect(relaydesk: Stack, driver: IntercomDriver, **changes: Any) -> dict[str, Any]:
    """Save the Intercom integration as a hosted channel (not the handoff target) with these settings changed."""
    saved = await relaydesk.client.put("/api/v1/integrations/intercom", headers=relaydesk.admin,
                                       json={"settings": {**driver.settings(), **NO_WAIT, **changes},
                                             "is_handoff_target": False})
    assert saved.status_code == 200 and saved.json()["status"] == "active", saved.text
    driver.sandbox.webhook_url = saved.json()["webhook_url"]
    body: dict[str, Any] = saved.json()
    return body


@pytest.fixture
async def started(tmp_path: Path) -> AsyncIterator[tuple[Stack, IntercomDriver]]:
    """relaydesk with the AI, and the Intercom sandbox, not connected yet. The AI's language model is loaded first:
    loading it holds the interpreter for seconds, which would stall the servers in the middle of a test."""
    language_detector()
    async with stack_with("intercom", f"sqlite:///{tmp_path}/relaydesk.db", tmp_path, with_agent=True) as pair:
        yield pair


@pytest.fixture
async def intercom(started: tuple[Stack, IntercomDriver]) -> tuple[Stack, IntercomDriver]:
    await connect(*started)
    return started


@pytest.fixture
def contexts(monkeypatch: pytest.MonkeyPatch) -> list[AgentContext]:
    """Every context the AI decided on, in order (the AI still decides as it would)."""
    seen: list[AgentContext] = []
    decide = OfflineBrain.decide_now

    def recording(brain: OfflineBrain, context: AgentContext) -> Decision:
        seen.append(context)
        return decide(brain, context)

    monkeypatch.setattr(OfflineBrain, "decide_now", recording)
    return seen


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


async def test_the_customer_writing_after_an_ai_resolution_reopens_the_session_to_the_ai(
    intercom: tuple[Stack, IntercomDriver],
) -> None:
    relaydesk, driver = intercom
    conversation, session_id = await customer_writes(relaydesk, driver, "How long do refunds take?")
    driver.sandbox.user_reply(conversation, conversation.contact_id, "<p>That worked, thanks!</p>")
    await driver.drain()
    await relaydesk.wait_for(lambda: conversation.state == "closed")
    await relaydesk.settled(session_id)
    await driver.drain()
    assert (await relaydesk.session(session_id))["session"]["resolved_by"] == "ai"
    replies = len(ai_replies(conversation))
    driver.sandbox.user_reply(conversation, conversation.contact_id, "<p>And how long for annual plans?</p>")
    await driver.drain()
    await relaydesk.wait_for(lambda: len(ai_replies(conversation)) > replies)
    session = (await relaydesk.session(session_id))["session"]
    assert (session["state"], session["resolved_by"]) == ("ai", None)


async def test_the_customer_writing_after_a_rep_close_reopens_the_session_to_the_rep(
    intercom: tuple[Stack, IntercomDriver],
) -> None:
    relaydesk, driver = intercom
    conversation, session_id = await customer_writes(relaydesk, driver, "How long do refunds take?")
    driver.sandbox.set_state(conversation, REP, "closed")
    await driver.drain()
    assert await state(relaydesk, session_id) == "resolved"
    driver.sandbox.user_reply(conversation, conversation.contact_id, "<p>One more question, please</p>")
    await driver.drain()
    await relaydesk.settled(session_id)
    assert await state(relaydesk, session_id) == "human"
    visitor = [m["text"] for m in await relaydesk.messages(session_id) if m["author"] == "visitor"]
    assert visitor[-1] == "One more question, please" and len(ai_replies(conversation)) == 1


async def test_a_contact_update_refreshes_only_contacts_relaydesk_knows(intercom: tuple[Stack, IntercomDriver]) -> None:
    relaydesk, driver = intercom
    conversation, session_id = await customer_writes(relaydesk, driver, "How long do refunds take?")
    stranger = driver.sandbox.create_contact("user", "sam@acme.example", "Sam Stranger")
    driver.sandbox.update_contact(stranger.id, {"plan_tier": "Starter"})
    driver.sandbox.update_contact(conversation.contact_id, {"plan_tier": "Enterprise"})
    await driver.drain()
    updates = [d for d in driver.sandbox.deliveries if d.payload["topic"] == "contact.user.updated"]
    assert [d.statuses for d in updates] == [[200], [200]]
    listed = await relaydesk.client.get("/api/v1/contacts", headers=relaydesk.admin)
    assert [c["email"] for c in listed.json()["contacts"]] == ["jane@acme.example"]
    async with relaydesk.app.state.runtime.db.read() as db:
        contact = await db.get(Contact, (await relaydesk.session(session_id))["contact"]["id"])
    assert contact is not None
    assert [attributes["contact"] for attributes in contact.helpdesk_attributes.values()] == [
        {"plan_tier": "Enterprise"}]


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


async def test_reassigning_to_the_ai_admin_hands_the_conversation_back_to_the_ai(
    intercom: tuple[Stack, IntercomDriver],
) -> None:
    relaydesk, driver = intercom
    conversation, session_id = await customer_writes(relaydesk, driver, "My invoice is wrong")
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    driver.sandbox.admin_reply(conversation, REP, "<p>Fixed it, anything else?</p>")
    await driver.drain()
    assert await state(relaydesk, session_id) == "human"
    driver.sandbox.assign(conversation, REP, "admin", AI_ADMIN)
    await driver.drain()
    assert await state(relaydesk, session_id) == "ai"
    assert conversation.admin_assignee_id == AI_ADMIN  # the hand-back did not bounce back to Intercom
    driver.sandbox.user_reply(conversation, conversation.contact_id, "How long do refunds take?")
    await driver.drain()
    await relaydesk.wait_for(lambda: len(ai_replies(conversation)) == 2)


async def test_an_assignment_to_another_teammate_is_recorded_and_silences_the_ai(
    intercom: tuple[Stack, IntercomDriver],
) -> None:
    relaydesk, driver = intercom
    conversation, session_id = await customer_writes(relaydesk, driver, "How long do refunds take?")
    driver.sandbox.assign(conversation, REP, "admin", OTHER_REP)
    await driver.drain()
    detail = await relaydesk.session(session_id)
    assert detail["session"]["state"] == "human" and detail["session"]["assignee"] == "Grace Hopper"
    notes = [m["text"] for m in await relaydesk.messages(session_id) if m["kind"] == "note"]
    assert notes == ["Intercom: Ada Lovelace assigned the conversation to Grace Hopper."]
    driver.sandbox.user_reply(conversation, conversation.contact_id, "Hello?")
    await driver.drain()
    await relaydesk.settled(session_id)
    assert len(ai_replies(conversation)) == 1


async def test_the_ai_waits_for_the_routing_of_a_new_conversation(
    started: tuple[Stack, IntercomDriver],
) -> None:
    relaydesk, driver = started
    await connect(relaydesk, driver, web_settle_s=1.5)
    contact = driver.sandbox.create_contact("user", "jane@acme.example", "Jane Doe")
    routed = driver.sandbox.start_conversation(contact.id, "<p>How long do refunds take?</p>")
    await driver.drain()
    driver.sandbox.assign(routed, REP, "admin", REP)  # the workspace's assignment rules, within the settle time
    await driver.drain()
    session_id = await relaydesk.wait_for(lambda: session_of(relaydesk, routed.id))
    unrouted = driver.sandbox.start_conversation(contact.id, "<p>And for annual plans?</p>")
    await driver.drain()
    started_at = time.monotonic()
    await relaydesk.wait_for(lambda: ai_replies(unrouted))
    assert time.monotonic() - started_at >= 1.0
    await relaydesk.settled(session_id, allow_none=True)
    assert ai_replies(routed) == [] and await state(relaydesk, session_id) == "human"


async def test_an_email_conversation_keeps_its_files_and_is_answered(intercom: tuple[Stack, IntercomDriver]) -> None:
    relaydesk, driver = intercom
    contact = driver.sandbox.create_contact("user", "jane@acme.example", "Jane Doe")
    pdf = {"type": "upload", "name": "invoice.pdf", "url": "https://files.example.com/invoice.pdf",
           "content_type": "application/pdf", "filesize": 2048}
    conversation = driver.sandbox.start_conversation(
        contact.id, "<div>How long do refunds take?<br><img src='https://files.example.com/shot.png'></div>"
        "<script>alert(1)</script>", channel="email", attachments=[pdf])
    await driver.drain()
    session_id = await relaydesk.wait_for(lambda: session_of(relaydesk, conversation.id))
    await relaydesk.wait_for(lambda: ai_replies(conversation))
    [first] = [m for m in await relaydesk.messages(session_id) if m["author"] == "visitor"]
    assert first["text"] == "How long do refunds take?"
    assert [(a["name"], a["url"]) for a in first["attachments"]] == [
        ("invoice.pdf", "https://files.example.com/invoice.pdf"), ("shot.png", "https://files.example.com/shot.png")]


async def test_attributes_of_the_contact_and_its_companies_reach_the_ai_and_follow_changes(
    intercom: tuple[Stack, IntercomDriver], contexts: list[AgentContext],
) -> None:
    relaydesk, driver = intercom
    contact = driver.sandbox.create_contact("user", "jane@acme.example", "Jane Doe",
                                            custom_attributes={"plan_tier": "Enterprise"})
    driver.sandbox.attach_company(contact.id, "Acme Corp", {"account_manager": "Grace Hopper"})
    conversation = driver.sandbox.start_conversation(contact.id, "<p>How long do refunds take?</p>")
    await driver.drain()
    session_id = await relaydesk.wait_for(lambda: session_of(relaydesk, conversation.id))
    await relaydesk.wait_for(lambda: ai_replies(conversation))
    integration = (await relaydesk.client.get("/api/v1/integrations/intercom", headers=relaydesk.admin)).json()
    key = f"intercom:{integration['id']}"
    assert contexts[-1].attributes == {key: {"contact": {"plan_tier": "Enterprise"},
                                             "companies": {"Acme Corp": {"account_manager": "Grace Hopper"}}}}
    detail = await relaydesk.session(session_id)
    assert detail["contact"]["email"] == "jane@acme.example"  # matched by the contact's email

    driver.sandbox.update_contact(contact.id, {"plan_tier": "Starter"})
    await driver.drain()
    driver.sandbox.user_reply(conversation, contact.id, "And for annual plans?")
    await driver.drain()
    await relaydesk.wait_for(lambda: len(ai_replies(conversation)) == 2)
    assert contexts[-1].attributes[key]["contact"] == {"plan_tier": "Starter"}
    assert contexts[-1].attributes[key]["companies"] == {"Acme Corp": {"account_manager": "Grace Hopper"}}


async def test_process_on_assignment_waits_then_reads_the_whole_thread(
    started: tuple[Stack, IntercomDriver],
) -> None:
    relaydesk, driver = started
    await connect(relaydesk, driver, process_on_assignment=True)
    contact = driver.sandbox.create_contact("user", "jane@acme.example", "Jane Doe")
    conversation = driver.sandbox.start_conversation(contact.id, "<p>Hi there</p>")
    driver.sandbox.user_reply(conversation, contact.id, "<p>How long do refunds take?</p>")
    await driver.drain()
    assert await session_of(relaydesk, conversation.id) is None and ai_replies(conversation) == []
    driver.sandbox.assign(conversation, REP, "admin", AI_ADMIN)
    await driver.drain()
    session_id = await relaydesk.wait_for(lambda: session_of(relaydesk, conversation.id))
    await relaydesk.wait_for(lambda: ai_replies(conversation))
    await relaydesk.settled(session_id)
    transcript = [(m["author"], m["text"]) for m in await relaydesk.messages(session_id) if m["kind"] == "text"]
    assert transcript[:2] == [("visitor", "Hi there"), ("visitor", "How long do refunds take?")]
    assert len(ai_replies(conversation)) == 1  # one answer to the whole thread


async def sync(relaydesk: Stack) -> dict[str, Any]:
    response = await relaydesk.client.post("/api/v1/integrations/intercom/knowledge/sync", headers=relaydesk.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_knowledge_sync_imports_articles_and_answered_conversations_then_only_what_changed(
    started: tuple[Stack, IntercomDriver],
) -> None:
    relaydesk, driver = started
    sandbox = driver.sandbox
    contact = sandbox.create_contact("user", "jane@acme.example", "Jane Doe")
    solved = sandbox.start_conversation(contact.id, "<p>Can I pay by bank transfer?</p>")
    sandbox.admin_reply(solved, REP, "<p>Yes: IBAN payments are accepted for annual plans.</p>")
    sandbox.set_state(solved, REP, "closed")
    unanswered = sandbox.start_conversation(contact.id, "<p>Hello?</p>")
    sandbox.set_state(unanswered, REP, "closed")
    await connect(relaydesk, driver)  # the conversations were solved before relaydesk was connected

    first = await sync(relaydesk)
    assert (first["added"], first["updated"], first["removed"]) == (3, 0, 0), first
    assert "read 2 articles and 2 closed conversations from Intercom (1 answered" in first["summary"]
    found = await relaydesk.client.get("/api/v1/knowledge/search", params={"q": "bank transfer IBAN"},
                                       headers=relaydesk.admin)
    assert "IBAN payments" in found.text

    again = await sync(relaydesk)
    assert (again["added"], again["updated"]) == (0, 0), again

    sandbox.write_article("Refunds", "<p>Refunds reach your card within <b>3 business days</b>.</p>",
                          article_id="8000")
    sandbox.write_article("Invoices", "<p>Invoices are in Settings, Billing, History.</p>")
    changed = await sync(relaydesk)
    assert (changed["added"], changed["updated"]) == (1, 1), changed
    assert "read 2 articles" in changed["summary"]  # the other seeded article was not read again
    documents = (await relaydesk.client.get("/api/v1/knowledge/documents", headers=relaydesk.admin)).json()
    assert {d["title"] for d in documents["documents"]} >= {"Refunds", "Invoices", "Changing your plan"}
    settings = (await relaydesk.client.get("/api/v1/integrations/intercom", headers=relaydesk.admin)).json()
    assert settings["settings"]["articles_synced_to"] >= sandbox.state.articles[0]["updated_at"]


async def test_a_citation_note_links_the_answer_to_its_session_and_articles(
    started: tuple[Stack, IntercomDriver],
) -> None:
    relaydesk, driver = started
    await connect(relaydesk, driver, citation_note=True)
    await sync(relaydesk)
    conversation, session_id = await customer_writes(relaydesk, driver, "How long do refunds take?")
    await relaydesk.wait_for(lambda: [p for p in conversation.parts if p.part_type == "note"])
    [note] = [p.body or "" for p in conversation.parts if p.part_type == "note"]
    ai = next(m for m in await relaydesk.messages(session_id) if m["author"] == "ai")
    assert f"/app/sessions/{session_id}#message-{ai['seq']}" in note
    assert "Refunds" in note and "/help/articles/8000" in note


async def test_the_connect_step_lists_the_webhook_topics_and_url(intercom: tuple[Stack, IntercomDriver]) -> None:
    relaydesk, _ = intercom
    checked = await relaydesk.client.post("/api/v1/integrations/intercom/check", headers=relaydesk.admin)
    body = checked.json()
    integration = (await relaydesk.client.get("/api/v1/integrations/intercom", headers=relaydesk.admin)).json()
    assert body["ok"] and body["details"]["webhook_url"] == integration["webhook_url"]
    assert integration["webhook_url"] in body["summary"]
    for topic in ("conversation.user.created", "conversation.admin.assigned", "contact.user.updated"):
        assert topic in body["details"]["webhook_topics"] and topic in body["summary"]


async def test_widget_files_reach_intercom_images_as_attachments(started: tuple[Stack, IntercomDriver]) -> None:
    relaydesk, driver = started
    await driver.connect(relaydesk)  # the handoff target of widget chats
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "My invoice is wrong"))
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    files = [{"name": "shot.png", "url": "https://files.example.com/shot.png", "content_type": "image/png"},
             {"name": "invoice.pdf", "url": "https://files.example.com/invoice.pdf",
              "content_type": "application/pdf"}]
    await relaydesk.say(visitor, session_id, "visitor", "Here they are", attachments=files)
    await relaydesk.settled(session_id)
    conversation = driver.conversation(session_id)
    sent = [(p.body, [a["url"] for a in p.attachments]) for p in conversation.parts if p.part_type == "comment"]
    assert sent[-3:] == [("Here they are", []), ("[Attachment: shot.png]", ["https://files.example.com/shot.png"]),
                         ("[Attachment: invoice.pdf https://files.example.com/invoice.pdf]", [])]
