"""Intercom webhooks: each documented topic's fixture parses to exactly these events; signatures are checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relaydesk.connectors.base import ContactInfo, InboundEvent, SessionRef, WebhookRejected, WebhookRequest
from relaydesk.connectors.intercom import webhooks
from relaydesk.sandbox.intercom import sign

FIXTURES = Path(__file__).parent / "fixtures"
SCOPE = webhooks.Scope(app_id="sandboxapp", ai_admin_id="991267001")
CONVERSATION = SessionRef(link_kind="conversation", external_id="215474343849634")
SECRET = "sandbox-intercom-client-secret"
JANE = ContactInfo("6762f11b1bb69f9f2193bba3", email="jane@acme.example", name="Jane Doe")
NAMES = {"991267002": "Ada Lovelace", "991267003": "Grace Hopper", "5001": "Support"}
SETTLED = webhooks.Scope(app_id="sandboxapp", ai_admin_id="991267001", settle_s={"web": 4.0, "email": 30.0},
                         names=NAMES)


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


GOLDEN: list[tuple[str, list[InboundEvent], list[str]]] = [
    ("conversation.user.created", [InboundEvent("part:2154743438", "customer_message", CONVERSATION,
                                                text="Hi, how long do refunds take?", author_name="Jane Doe",
                                                contact=JANE)], []),
    ("conversation.user.created_outbound", [],
     ["conversation 215474343849634 was not started by the customer (automated)"]),
    ("conversation.user.replied", [InboundEvent("part:45763812001", "customer_message", CONVERSATION,
                                                text="It was in March.\nOrder 1234", author_name="Jane Doe",
                                                contact=JANE)], []),
    ("conversation.admin.replied", [InboundEvent(
        "part:45763812002", "rep_message", CONVERSATION, text="Hi Jane, I have refunded it.",
        html="<p>Hi Jane, I have <b>refunded</b> it.<script>alert(1)</script></p>", author_name="Ada Lovelace")], []),
    ("conversation.admin.replied_echo", [], ["our own comment 45763812003 echoed back"]),
    ("conversation.admin.replied_bot", [], ["a bot's comment 45763812004"]),
    ("conversation.admin.noted", [InboundEvent("part:45763812005", "rep_note", CONVERSATION, text="VIP customer",
                                               html="<p>VIP customer</p>", author_name="Ada Lovelace")], []),
    ("conversation.admin.assigned", [
        InboundEvent("part:45763812006:record", "rep_note", CONVERSATION, author_name="Ada Lovelace",
                     text="Intercom: Ada Lovelace assigned the conversation to Ada Lovelace."),
        InboundEvent("part:45763812006", "assigned", CONVERSATION, author_name="Ada Lovelace")], []),
    ("conversation.admin.assigned_to_ai", [InboundEvent("part:45763812007", "handed_back", CONVERSATION,
                                                        author_name="Ada Lovelace")], []),
    ("conversation.admin.assigned_to_team", [
        InboundEvent("part:45763812011:record", "rep_note", CONVERSATION, author_name="Ada Lovelace",
                     text="Intercom: Ada Lovelace assigned the conversation to team 5001.")], []),
    ("conversation.admin.closed", [InboundEvent("part:45763812008", "resolved", CONVERSATION,
                                                author_name="Ada Lovelace")], []),
    ("conversation.admin.closed_echo", [], ["our own close 45763812009 echoed back"]),
    ("conversation.admin.opened", [InboundEvent("part:45763812010", "reopened", CONVERSATION,
                                                author_name="Ada Lovelace")], []),
    ("ping", [], ["unhandled topic ping"]),
    ("contact.user.updated", [InboundEvent(
        "contact:6762f11b1bb69f9f2193bba3:1779200990", "contact_updated", SessionRef(),
        contact=ContactInfo("6762f11b1bb69f9f2193bba3", email="jane@acme.example", name="Jane Doe",
                            attributes={"contact": {"plan_tier": "Enterprise", "contract_renewal": "2027-03-01"}}))],
     []),
]


@pytest.mark.parametrize(("name", "events", "ignored"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_each_topic_fixture_parses_to_its_events(name: str, events: list[InboundEvent], ignored: list[str]) -> None:
    batch = webhooks.parse(fixture(name), SCOPE)
    assert batch.events == events
    assert batch.ignored == ignored


def test_a_new_web_conversation_waits_to_settle_and_an_email_one_longer() -> None:
    web = webhooks.parse(fixture("conversation.user.created"), SETTLED).events
    assert [e.reply_delay_s for e in web] == [4.0]
    email = webhooks.parse(fixture("conversation.user.created_email"), SETTLED).events
    assert [e.reply_delay_s for e in email] == [30.0]
    replied = webhooks.parse(fixture("conversation.user.replied"), SETTLED).events
    assert [e.reply_delay_s for e in replied] == [0.0]  # only a new conversation waits for the routing


def test_an_email_body_is_sanitised_and_its_files_and_inline_images_become_attachments() -> None:
    [event] = webhooks.parse(fixture("conversation.user.created_email"), SETTLED).events
    assert event.text == "Hello,\nmy invoice looks wrong, see below."
    assert event.attachments == (
        {"name": "invoice.pdf", "url": "https://downloads.intercomcdn.com/i/o/124/invoice.pdf",
         "content_type": "application/pdf", "size": 20480},
        {"name": "invoice-shot.png", "url": "https://downloads.intercomcdn.com/i/o/123/invoice-shot.png?expires=1",
         "content_type": None, "size": None},
    )


def test_a_conversation_routed_to_a_teammate_before_the_ai_saw_it_is_theirs() -> None:
    events = webhooks.parse(fixture("conversation.user.created_assigned"), SETTLED).events
    assert [(e.event_id, e.type, e.author_name) for e in events] == [
        ("part:2154743438", "customer_message", "Jane Doe"), ("owner:2154743438", "assigned", "Ada Lovelace")]


def test_an_assignment_to_another_teammate_is_recorded_with_names() -> None:
    events = webhooks.parse(fixture("conversation.admin.assigned_to_other"), SETTLED).events
    assert [(e.type, e.text, e.author_name) for e in events] == [
        ("rep_note", "Intercom: Ada Lovelace assigned the conversation to Grace Hopper.", "Ada Lovelace"),
        ("assigned", "", "Grace Hopper")]
    team = webhooks.parse(fixture("conversation.admin.assigned_to_team"), SETTLED).events
    assert [e.text for e in team] == ["Intercom: Ada Lovelace assigned the conversation to team Support."]


def test_with_process_on_assignment_an_unassigned_conversation_waits() -> None:
    waiting = webhooks.Scope(app_id="sandboxapp", ai_admin_id="991267001", process_on_assignment=True)
    batch = webhooks.parse(fixture("conversation.user.created"), waiting)
    assert batch.events == []
    assert batch.ignored == ["conversation 215474343849634 waits for an assignment to the AI admin "
                             "(process on assignment)"]


def test_the_waiting_thread_is_what_came_after_the_last_teammate_reply() -> None:
    conversation = json.loads(fixture("conversation.user.created"))["data"]["item"]
    jane = {"type": "user", "id": "6762f11b1bb69f9f2193bba3", "name": "Jane Doe", "email": "jane@acme.example"}
    ada = {"type": "admin", "id": "991267002", "name": "Ada Lovelace"}
    ai = {"type": "admin", "id": "991267001", "name": "AI Assistant"}
    parts = [("1", "comment", jane, "<p>Order 1234</p>"), ("2", "comment", ada, "<p>Found it</p>"),
             ("3", "comment", jane, "<p>And the refund?</p>"), ("4", "comment", ai, "<p>Checking</p>"),
             ("5", "note", ada, "<p>VIP</p>"), ("6", "comment", jane, "<p>Still there?</p>")]
    conversation["conversation_parts"]["conversation_parts"] = [
        {"type": "conversation_part", "id": i, "part_type": t, "author": a, "body": b, "attachments": []}
        for i, t, a, b in parts]
    events = webhooks.thread_events(conversation, SCOPE)
    assert [(e.event_id, e.text) for e in events] == [("part:3", "And the refund?"), ("part:6", "Still there?")]
    conversation["conversation_parts"]["conversation_parts"] = []
    assert [e.event_id for e in webhooks.thread_events(conversation, SCOPE)] == ["part:2154743438"]


def test_notifications_of_another_workspace_are_ignored() -> None:
    other = webhooks.Scope(app_id="otherapp", ai_admin_id="991267001")
    batch = webhooks.parse(fixture("conversation.admin.closed"), other)
    assert batch.events == [] and batch.ignored == ["conversation.admin.closed for workspace sandboxapp, not otherapp"]


def test_rep_html_reaches_the_visitor_as_text_without_scripts() -> None:
    assert webhooks.plain_text("<p>Hi <b>there</b><script>alert(1)</script></p><p>&amp; bye</p>") == "Hi there\n& bye"


def request(body: bytes, signature: str | None) -> WebhookRequest:
    headers = {"Content-Type": "application/json", **({"X-Hub-Signature": signature} if signature else {})}
    return WebhookRequest("POST", ("https://desk.example.com/webhooks/intercom/abc?key=k",), headers, body)


def test_the_sandbox_signature_is_accepted() -> None:
    body = fixture("conversation.admin.replied")
    webhooks.verify(SECRET, request(body, sign(SECRET, body)))


@pytest.mark.parametrize("signature", [None, "sha1=0000", "sha256=abc"])
def test_a_missing_or_wrong_signature_is_refused(signature: str | None) -> None:
    with pytest.raises(WebhookRejected):
        webhooks.verify(SECRET, request(fixture("conversation.admin.replied"), signature))


def test_a_body_changed_after_signing_is_refused() -> None:
    body = fixture("conversation.admin.replied")
    with pytest.raises(WebhookRejected):
        webhooks.verify(SECRET, request(body.replace(b"refunded", b"charged"), sign(SECRET, body)))
