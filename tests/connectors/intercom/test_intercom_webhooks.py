"""Intercom webhooks: each documented topic's fixture parses to exactly these events; signatures are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from relaydesk.connectors.base import InboundEvent, SessionRef, WebhookRejected, WebhookRequest
from relaydesk.connectors.intercom import webhooks
from relaydesk.sandbox.intercom import sign

FIXTURES = Path(__file__).parent / "fixtures"
SCOPE = webhooks.Scope(app_id="sandboxapp", ai_admin_id="991267001")
CONVERSATION = SessionRef(link_kind="conversation", external_id="215474343849634")
SECRET = "sandbox-intercom-client-secret"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


GOLDEN: list[tuple[str, list[InboundEvent], list[str]]] = [
    ("conversation.user.created", [InboundEvent("part:2154743438", "customer_message", CONVERSATION,
                                                text="Hi, how long do refunds take?", author_name="Jane Doe")], []),
    ("conversation.user.created_outbound", [],
     ["conversation 215474343849634 was not started by the customer (automated)"]),
    ("conversation.user.replied", [InboundEvent("part:45763812001", "customer_message", CONVERSATION,
                                                text="It was in March.\nOrder 1234", author_name="Jane Doe")], []),
    ("conversation.admin.replied", [InboundEvent(
        "part:45763812002", "rep_message", CONVERSATION, text="Hi Jane, I have refunded it.",
        html="<p>Hi Jane, I have <b>refunded</b> it.<script>alert(1)</script></p>", author_name="Ada Lovelace")], []),
    ("conversation.admin.replied_echo", [], ["our own comment 45763812003 echoed back"]),
    ("conversation.admin.replied_bot", [], ["a bot's comment 45763812004"]),
    ("conversation.admin.noted", [InboundEvent("part:45763812005", "rep_note", CONVERSATION, text="VIP customer",
                                               html="<p>VIP customer</p>", author_name="Ada Lovelace")], []),
    ("conversation.admin.assigned", [InboundEvent("part:45763812006", "assigned", CONVERSATION,
                                                  author_name="Ada Lovelace")], []),
    ("conversation.admin.assigned_to_ai", [], ["conversation 215474343849634 assigned to the AI admin"]),
    ("conversation.admin.closed", [InboundEvent("part:45763812008", "resolved", CONVERSATION,
                                                author_name="Ada Lovelace")], []),
    ("conversation.admin.closed_echo", [], ["our own close 45763812009 echoed back"]),
    ("conversation.admin.opened", [InboundEvent("part:45763812010", "reopened", CONVERSATION,
                                                author_name="Ada Lovelace")], []),
    ("ping", [], ["unhandled topic ping"]),
]


@pytest.mark.parametrize(("name", "events", "ignored"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_each_topic_fixture_parses_to_its_events(name: str, events: list[InboundEvent], ignored: list[str]) -> None:
    batch = webhooks.parse(fixture(name), SCOPE)
    assert batch.events == events
    assert batch.ignored == ignored


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
