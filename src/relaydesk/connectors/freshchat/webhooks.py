"""Freshchat webhooks: verify X-Freshchat-Signature, then map each action to a handler (EVENT_HANDLERS).

Freshchat POSTs `{"actor", "action", "action_time", "data"}` for `message_create`, `conversation_assignment`,
`conversation_resolution` and `conversation_reopen`, signed `X-Freshchat-Signature: base64(RSA PKCS#1 v1.5
SHA-256 signature of the raw body)`, checked with the account's public key from the webhook settings
(https://crmsupport.freshworks.com/en/support/solutions/articles/50000004461-freshchat-webhooks-payload-structure-and-authentication).
Messages by the AI's own agent, private notes, bots' and system messages are ignored. A customer's message is
returned as a CustomerMessage: whether the AI may take it depends on the conversation's assignment, which the
connector reads from the API.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from relaydesk.connectors.base import (
    InboundBatch,
    InboundEvent,
    InboundType,
    SessionRef,
    WebhookRejected,
    WebhookRequest,
    json_body,
)

Json = dict[str, Any]
HANDOFF_MARKER = "relaydesk handoff"  # opens the note of every handoff
RESOLUTION_MARKER = "relaydesk resolution"  # opens the note of every resolution


@dataclass(frozen=True, slots=True)
class Scope:
    """Which agent is the AI, and how a conversation's link reads."""

    agent_id: str
    conversation_url: Callable[[str], str]


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    """A customer wrote in a conversation: the connector decides whether the AI may take it."""

    event_id: str
    conversation_id: str
    user_id: str
    text: str


Handler = Callable[[Json, Json, Scope], list[InboundEvent] | CustomerMessage | str]


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """The RSA public key pasted from Freshchat's webhook settings (PEM, with or without its BEGIN/END lines)."""
    text = pem.strip()
    if "BEGIN" not in text:
        body = "".join(text.split())
        text = f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----"
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError("the webhook public key is not an RSA public key in PEM form: copy it again from "
                         "Admin Settings, Integrations & APIs, Webhooks") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the webhook public key is not an RSA key")
    return key


def verify(public_key_pem: str, request: WebhookRequest) -> None:
    """Accept a body signed with the account's private key; else WebhookRejected."""
    given = {k.lower(): v for k, v in request.headers.items()}.get("x-freshchat-signature")
    if not given:
        raise WebhookRejected("missing X-Freshchat-Signature")
    try:
        signature = base64.b64decode(given, validate=True)
        load_public_key(public_key_pem).verify(signature, request.body, padding.PKCS1v15(), hashes.SHA256())
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise WebhookRejected("X-Freshchat-Signature does not match: check the webhook public key in Settings, "
                              "Integrations, Freshchat") from exc


def text_of(message: Json) -> str:
    """A message's text: its text parts (`message_parts[].text.content`, or the older `msg_parts[].properties.text`);
    other parts (images, files) as their URL."""
    lines = []
    for part in message.get("message_parts") or []:
        if isinstance(part, dict):
            found = part.get("text") or {}
            media: Json = next((part[k] for k in ("image", "file", "video") if isinstance(part.get(k), dict)), {})
            lines.append(str(found.get("content") or media.get("url") or ""))
    for part in message.get("msg_parts") or []:
        if isinstance(part, dict):
            lines.append(str((part.get("properties") or {}).get("text") or ""))
    return "\n".join(line.strip() for line in lines if line.strip())


def _ref(conversation_id: str, scope: Scope) -> SessionRef:
    return SessionRef(link_kind="conversation", external_id=conversation_id,
                      url=scope.conversation_url(conversation_id))


def _event_id(payload: Json, conversation_id: str) -> str:
    return f"{payload.get('action')}:{conversation_id}:{payload.get('action_time')}"


def on_message(payload: Json, data: Json, scope: Scope) -> list[InboundEvent] | CustomerMessage | str:
    """A message: the customer's goes to the connector, a rep's becomes a rep message, the rest is ignored."""
    message = data.get("message") or {}
    conversation_id = str(message.get("conversation_id") or "")
    actor_type = message.get("actor_type") or (payload.get("actor") or {}).get("actor_type")
    actor_id = str(message.get("actor_id") or (payload.get("actor") or {}).get("actor_id") or "")
    label = f"{actor_type} message {message.get('id')}"
    if not conversation_id or not message.get("id"):
        return "a message without its id or conversation"
    if message.get("message_type") == "private":
        return f"a private note {message.get('id')}"
    if actor_type == "agent" and actor_id == scope.agent_id:
        return f"our own {label} echoed back"
    if actor_type == "user":
        return CustomerMessage(f"message:{message['id']}", conversation_id,
                               str(message.get("user_id") or actor_id), text_of(message))
    if actor_type != "agent":
        return f"a {label}"
    return [InboundEvent(f"message:{message['id']}", "rep_message", _ref(conversation_id, scope),
                         text=text_of(message))]


def on_assignment(payload: Json, data: Json, scope: Scope) -> list[InboundEvent] | CustomerMessage | str:
    """Assigned to the AI's agent (handed back), to a rep (taken), or unassigned (back to the queue: no change)."""
    assignment = data.get("assignment") or {}
    conversation_id = str((assignment.get("conversation") or {}).get("conversation_id") or "")
    target = str(assignment.get("to_agent_id") or "")
    if not target:
        return f"conversation {conversation_id} unassigned, back to the queue"
    if target == str(assignment.get("from_agent_id") or ""):
        return f"conversation {conversation_id} kept its agent"
    kind: InboundType = "handed_back" if target == scope.agent_id else "assigned"
    return [InboundEvent(_event_id(payload, conversation_id), kind, _ref(conversation_id, scope))]


def on_state(payload: Json, data: Json, scope: Scope) -> list[InboundEvent] | CustomerMessage | str:
    """Resolved or reopened in Freshchat (by a rep, the customer or the system)."""
    resolved = payload.get("action") == "conversation_resolution"
    change = data.get("resolve" if resolved else "reopen") or {}
    conversation_id = str((change.get("conversation") or {}).get("conversation_id") or "")
    actor_id = str(change.get("resolver_id" if resolved else "reopener_id") or "")
    if actor_id and actor_id == scope.agent_id:
        return f"our own {payload.get('action')} of conversation {conversation_id} echoed back"
    kind: InboundType = "resolved" if resolved else "reopened"
    return [InboundEvent(_event_id(payload, conversation_id), kind, _ref(conversation_id, scope))]


EVENT_HANDLERS: dict[str, Handler] = {
    "message_create": on_message,
    "conversation_assignment": on_assignment,
    "conversation_resolution": on_state,
    "conversation_reopen": on_state,
}


def parse(body: bytes, scope: Scope) -> InboundBatch | CustomerMessage:
    """What one verified webhook carries; unknown actions are reported, not guessed at."""
    payload = json_body(body)
    if not isinstance(payload, dict):
        raise WebhookRejected("the body is not a Freshchat webhook object")
    action = str(payload.get("action") or "")
    handler = EVENT_HANDLERS.get(action)
    data = payload.get("data")
    if handler is None or not isinstance(data, dict):
        return InboundBatch(ignored=[f"unhandled action {action or '(none)'}"])
    outcome = handler(payload, data, scope)
    if isinstance(outcome, str):
        return InboundBatch(ignored=[outcome])
    return outcome if isinstance(outcome, CustomerMessage) else InboundBatch(events=outcome)
