"""HubSpot webhooks: each documented event's fixture parses to exactly these events; signatures are checked."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from relaydesk.connectors.base import InboundEvent, SessionRef, WebhookRejected, WebhookRequest
from relaydesk.connectors.hubspot import webhooks
from relaydesk.sandbox.hubspot import signature_v3

FIXTURES = Path(__file__).parent / "fixtures"
SCOPE = webhooks.Scope(app_id=1_000_001, portal_id=62515, channel_id="1000")
SESSION = SessionRef(session_id="5b1f0c2a9d8e4f7a8c6b3d2e1f0a9b8c")
THREAD = SessionRef(link_kind="thread", external_id="7000000001")
SECRET = "sandbox-client-secret"
URL = "https://desk.example.com/webhooks/hubspot/abc?key=k%3A1"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


GOLDEN: list[tuple[str, list[InboundEvent], list[str]]] = [
    ("outgoing_channel_message_created", [InboundEvent(
        "message:8a4c2e1f9b7d4c3a8e6f1b2d3c4a5e6f", "rep_message", SESSION,
        text="Hi Jane, I have refunded the second charge.",
        html="<div>Hi Jane, I have <b>refunded</b> the second charge.</div>", author_name="Ada Lovelace",
        external_message_id="8a4c2e1f9b7d4c3a8e6f1b2d3c4a5e6f")], []),
    ("outgoing_channel_message_created_with_attachment", [InboundEvent(
        "message:1f2e3d4c5b6a79880f1e2d3c4b5a6978", "rep_message", THREAD,
        text="Here is the invoice.\n[Attachment in HubSpot: invoice.pdf]", author_name="Ada Lovelace",
        external_message_id="1f2e3d4c5b6a79880f1e2d3c4b5a6978")], []),
    ("outgoing_channel_message_created_comment", [InboundEvent(
        "message:c0mment0000000000000000000000001", "rep_note", SESSION,
        text="Customer is a VIP, refund without questions.",
        html="<p>Customer is a VIP, refund without questions.</p>", author_name="Grace Hopper")], []),
    ("outgoing_channel_message_created_echo", [], ["our own message ec0000000000000000000000000000ec echoed back"]),
    ("channel_account_created", [], ["CHANNEL_ACCOUNT_CREATED for channel account 50000001 (inbox 1001)"]),
    ("conversation.propertyChange.status_closed", [InboundEvent("event:100000001", "resolved", THREAD)], []),
    ("conversation.propertyChange.status_open", [InboundEvent("event:100000002", "reopened", THREAD)], []),
    ("conversation.propertyChange.assignedTo",
     [InboundEvent("event:100000003", "assigned", THREAD, author_name="HubSpot user 7002")], []),
    ("conversation.creation", [], ["unhandled event type conversation.creation"]),
]


@pytest.mark.parametrize(("name", "events", "ignored"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_each_event_fixture_parses_to_its_events(name: str, events: list[InboundEvent], ignored: list[str]) -> None:
    batch = webhooks.parse(fixture(name), SCOPE)
    assert batch.events == events
    assert batch.ignored == ignored


def test_events_of_another_portal_or_channel_are_ignored() -> None:
    other = webhooks.Scope(app_id=1_000_001, portal_id=99, channel_id="1000")
    assert webhooks.parse(fixture("conversation.propertyChange.status_closed"), other).events == []
    elsewhere = webhooks.Scope(app_id=1_000_001, portal_id=62515, channel_id="2000")
    assert webhooks.parse(fixture("outgoing_channel_message_created"), elsewhere).events == []


def signed(body: bytes, *, age_ms: int = 0, secret: str = SECRET, url: str = URL) -> WebhookRequest:
    stamp = str(int(time.time() * 1000) - age_ms)
    headers = {"X-HubSpot-Signature-v3": signature_v3(secret, "POST", url, body, stamp),
               "X-HubSpot-Request-Timestamp": stamp}
    return WebhookRequest("POST", (URL,), headers, body)


def test_a_v3_signature_over_the_decoded_uri_is_accepted() -> None:
    webhooks.verify(SECRET, signed(fixture("outgoing_channel_message_created")))


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (signed(b"[]", age_ms=301_000), "five minutes"),
        (signed(b"[]", secret="another-secret"), "does not match"),
        (WebhookRequest("POST", (URL,), {}, b"[]"), "missing"),
        (WebhookRequest("POST", (URL,), {"X-HubSpot-Signature-v3": "x", "X-HubSpot-Request-Timestamp": "soon"},
                        b"[]"), "not a number"),
    ],
    ids=["older-than-five-minutes", "wrong-secret", "unsigned", "bad-timestamp"],
)
def test_bad_signatures_are_refused_with_a_reason(request_: WebhookRequest, reason: str) -> None:
    with pytest.raises(WebhookRejected, match=reason):
        webhooks.verify(SECRET, request_)


def test_a_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(WebhookRejected):
        webhooks.parse(b"{nope", SCOPE)
    assert json.loads(fixture("conversation.creation"))[0]["subscriptionType"] == "conversation.creation"
