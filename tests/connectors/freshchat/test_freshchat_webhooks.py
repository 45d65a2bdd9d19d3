"""Freshchat webhooks: each documented action's fixture parses to exactly these events; signatures and settings are
checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from relaydesk.connectors.base import InboundBatch, InboundEvent, SessionRef, WebhookRejected, WebhookRequest
from relaydesk.connectors.freshchat import webhooks
from relaydesk.connectors.freshchat.settings import normalise_domain
from relaydesk.sandbox.freshchat import public_key_pem, sign

FIXTURES = Path(__file__).parent / "fixtures"
AI = "2f6a8b1e-0b59-4b1b-9d62-000000000001"
CONVERSATION_ID = "35e80ec8-c697-42e4-8ce9-a47a050b1d1a"
SCOPE = webhooks.Scope(AI, lambda c: f"https://acme.freshchat.com/a/1/open/conversation/{c}")
REF = SessionRef(link_kind="conversation", external_id=CONVERSATION_ID,
                 url=f"https://acme.freshchat.com/a/1/open/conversation/{CONVERSATION_ID}")
USER = "9047e655-1e83-463e-b1b6-4a44beb1f07f"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def customer(message_id: str, text: str) -> webhooks.CustomerMessage:
    return webhooks.CustomerMessage(f"message:{message_id}", CONVERSATION_ID, USER, text)


GOLDEN: list[tuple[str, InboundBatch | webhooks.CustomerMessage]] = [
    ("message_create", customer("a834cd45-c463-4644-b254-be920924a998", "How do I create an API token?")),
    ("message_create_image", customer("a834cd45-c463-4644-b254-be920924a999",
                                      "Here is the error\nhttps://cdn.example.com/error.png")),
    ("message_create_legacy", customer("ec0d0db6-55cc-46c7-aaa3-86ad1d9f8e39", "Hello from the old payload")),
    ("message_create_agent", InboundBatch(events=[InboundEvent(
        "message:6896afdc-23bc-45cc-8bfe-d5ecfbab6dc1", "rep_message", REF, text="Hi Jane, Ada here.")])),
    ("message_create_echo", InboundBatch(
        ignored=["our own agent message 6896afdc-23bc-45cc-8bfe-d5ecfbab6dc2 echoed back"])),
    ("message_create_private", InboundBatch(ignored=["a private note 6896afdc-23bc-45cc-8bfe-d5ecfbab6dc3"])),
    ("message_create_system", InboundBatch(ignored=["a system message 6896afdc-23bc-45cc-8bfe-d5ecfbab6dc4"])),
    ("message_create_bot", InboundBatch(ignored=["a bot message 6896afdc-23bc-45cc-8bfe-d5ecfbab6dc5"])),
    ("conversation_assignment", InboundBatch(events=[InboundEvent(
        f"conversation_assignment:{CONVERSATION_ID}:2026-11-20T10:56:00.000Z", "assigned", REF)])),
    ("conversation_assignment_to_ai", InboundBatch(events=[InboundEvent(
        f"conversation_assignment:{CONVERSATION_ID}:2026-11-20T10:57:00.000Z", "handed_back", REF)])),
    ("conversation_assignment_unassigned", InboundBatch(
        ignored=[f"conversation {CONVERSATION_ID} unassigned, back to the queue"])),
    ("conversation_resolution", InboundBatch(events=[InboundEvent(
        f"conversation_resolution:{CONVERSATION_ID}:2026-11-20T11:00:00.000Z", "resolved", REF)])),
    ("conversation_resolution_echo", InboundBatch(
        ignored=[f"our own conversation_resolution of conversation {CONVERSATION_ID} echoed back"])),
    ("conversation_reopen", InboundBatch(events=[InboundEvent(
        f"conversation_reopen:{CONVERSATION_ID}:2026-11-20T11:02:00.000Z", "reopened", REF)])),
    ("unknown_action", InboundBatch(ignored=["unhandled action conversation_priority_update"])),
]


@pytest.mark.parametrize(("name", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_each_action_fixture_parses_to_its_events(name: str, expected: InboundBatch | webhooks.CustomerMessage,
                                                  ) -> None:
    assert webhooks.parse(fixture(name), SCOPE) == expected


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def request(body: bytes, signature: str | None) -> WebhookRequest:
    headers = {"Content-Type": "application/json", **({"X-Freshchat-Signature": signature} if signature else {})}
    return WebhookRequest("POST", ("https://desk.example.com/webhooks/freshchat/abc?key=k",), headers, body)


def test_a_body_signed_with_the_account_key_is_accepted_with_or_without_pem_lines(key: rsa.RSAPrivateKey) -> None:
    body = fixture("message_create_agent")
    webhooks.verify(public_key_pem(key), request(body, sign(key, body)))
    bare = "".join(line for line in public_key_pem(key).splitlines() if "-----" not in line)
    webhooks.verify(bare, request(body, sign(key, body)))


@pytest.mark.parametrize("signature", [None, "not base64!", "c2lnbmF0dXJl"])
def test_a_missing_or_wrong_signature_is_refused(key: rsa.RSAPrivateKey, signature: str | None) -> None:
    with pytest.raises(WebhookRejected):
        webhooks.verify(public_key_pem(key), request(fixture("message_create_agent"), signature))


def test_a_body_changed_after_signing_or_signed_by_another_key_is_refused(key: rsa.RSAPrivateKey) -> None:
    body = fixture("message_create_agent")
    with pytest.raises(WebhookRejected):
        webhooks.verify(public_key_pem(key), request(body.replace(b"Ada", b"Eve"), sign(key, body)))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(WebhookRejected):
        webhooks.verify(public_key_pem(key), request(body, sign(other, body)))


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(WebhookRejected):
        webhooks.parse(b"[1, 2]", SCOPE)


@pytest.mark.parametrize(("given", "expected"), [
    ("acme.freshchat.com", "acme.freshchat.com"),
    ("https://Acme.freshchat.com/", "acme.freshchat.com"),
    ("http://acme.freshchat.com/a/153370844780746/inbox/0/0", "acme.freshchat.com"),
    ("  acme.myfreshworks.com.  ", "acme.myfreshworks.com"),
])
def test_the_domain_is_kept_without_scheme_or_path(given: str, expected: str) -> None:
    assert normalise_domain(given) == expected


@pytest.mark.parametrize("given", ["", "acme", "https://", "acme freshchat.com"])
def test_a_domain_that_is_no_host_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match="host name only"):
        normalise_domain(given)
