"""HubSpot webhooks: verify the v3 signature, then map each event to a handler (EVENT_HANDLERS).

Two families arrive at the integration's URL: the custom channel's events (one JSON object, e.g.
OUTGOING_CHANNEL_MESSAGE_CREATED for a rep's reply) and the app's subscription events (a JSON array, e.g.
conversation.propertyChange when a thread is closed or assigned). Both carry X-HubSpot-Signature-v3:
base64(HMAC-SHA256(client secret, method + URI + body + timestamp)), refused when the timestamp is older than five
minutes (https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation).
Events this connector does not act on are reported back as ignored, never guessed at.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from relaydesk.connectors.base import (
    InboundBatch,
    InboundEvent,
    SessionRef,
    WebhookRejected,
    WebhookRequest,
    json_body,
)

Json = dict[str, Any]
MAX_AGE_MS = 300_000
THREAD_PREFIX = "relaydesk-"
# HubSpot decodes these escapes in the URI before signing it (the request-validation page's table).
URI_DECODES = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'", "%28": "(",
               "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}


@dataclass(frozen=True, slots=True)
class Scope:
    """What marks an event as this integration's: its app, portal and channel."""

    app_id: int
    portal_id: int | None
    channel_id: str | None


Handler = Callable[[Json, Scope], list[InboundEvent] | str]


def _decoded(uri: str) -> str:
    for escaped, plain in URI_DECODES.items():
        uri = uri.replace(escaped, plain).replace(escaped.lower(), plain)
    return uri


def signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The X-HubSpot-Signature-v3 of a request."""
    source = method.upper().encode() + _decoded(uri).encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def verify(secret: str, request: WebhookRequest, *, now_ms: int | None = None) -> None:
    """Accept a request signed with the app's client secret within the last five minutes; else WebhookRejected."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    given, stamp = headers.get("x-hubspot-signature-v3"), headers.get("x-hubspot-request-timestamp")
    if not given or not stamp:
        raise WebhookRejected("missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp")
    try:
        age = (int(time.time() * 1000) if now_ms is None else now_ms) - int(stamp)
    except ValueError as exc:
        raise WebhookRejected("X-HubSpot-Request-Timestamp is not a number") from exc
    if age > MAX_AGE_MS:
        raise WebhookRejected(f"the request was signed {age // 1000} s ago; HubSpot signatures last five minutes")
    if not any(hmac.compare_digest(signature(secret, request.method, url, request.body, stamp), given)
               for url in request.urls):
        raise WebhookRejected("X-HubSpot-Signature-v3 does not match: check the app's client secret in Settings")


def _thread_ref(thread_id: Any) -> SessionRef:
    return SessionRef(link_kind="thread", external_id=str(thread_id))


def on_outgoing_message(event: Json, scope: Scope) -> list[InboundEvent] | str:
    """A rep's reply (or an internal comment) on a custom-channel thread."""
    message = event.get("message") or {}
    if scope.channel_id and str(event.get("channelId") or message.get("channelId")) != scope.channel_id:
        return f"message for another channel ({event.get('channelId')})"
    client = message.get("client") or {}
    if client.get("clientType") == "INTEGRATION" and client.get("integrationAppId") == scope.app_id:
        return f"our own message {message.get('id')} echoed back"
    thread_keys = [k for k in event.get("channelIntegrationThreadIds") or [] if str(k).startswith(THREAD_PREFIX)]
    ref = (SessionRef(session_id=str(thread_keys[0])[len(THREAD_PREFIX):]) if thread_keys
           else _thread_ref(message.get("conversationsThreadId")))
    senders = message.get("senders") or [{}]
    text = str(message.get("text") or "")
    names = [str(a.get("name") or "file") for a in message.get("attachments") or []]
    if names:
        text = (text + "\n" if text else "") + "\n".join(f"[Attachment in HubSpot: {n}]" for n in names)
    note = message.get("type") == "COMMENT"
    if not note and message.get("direction") != "OUTGOING":
        return f"{message.get('direction')} message {message.get('id')} is not a rep's reply"
    return [InboundEvent(
        event_id=f"message:{message.get('id')}",
        type="rep_note" if note else "rep_message",
        ref=ref,
        text=text,
        html=None if names else message.get("richText"),
        author_name=senders[0].get("name") or None,
        external_message_id=None if note else str(message.get("id")),
    )]


def on_channel_account(event: Json, scope: Scope) -> list[InboundEvent] | str:
    """HubSpot's notice that a channel account was connected or changed: nothing to do for a session."""
    account = event.get("channelAccount") or {}
    return f"{event.get('type')} for channel account {account.get('id')} (inbox {account.get('inboxId')})"


def on_thread_property(event: Json, scope: Scope) -> list[InboundEvent] | str:
    """A thread closed, reopened or assigned in HubSpot (app subscription conversation.propertyChange)."""
    name, value = event.get("propertyName"), str(event.get("propertyValue") or "")
    event_id = f"event:{event.get('eventId')}"
    ref = _thread_ref(event.get("objectId"))
    if name == "status" and value in ("CLOSED", "OPEN"):
        return [InboundEvent(event_id, "resolved" if value == "CLOSED" else "reopened", ref)]
    if name == "assignedTo" and value:
        return [InboundEvent(event_id, "assigned", ref, author_name=f"HubSpot user {value.removeprefix('A-')}")]
    return f"thread {event.get('objectId')} {name} changed to {value or 'nothing'}"


EVENT_HANDLERS: dict[str, Handler] = {
    "OUTGOING_CHANNEL_MESSAGE_CREATED": on_outgoing_message,
    "CHANNEL_ACCOUNT_CREATED": on_channel_account,
    "CHANNEL_ACCOUNT_UPDATED": on_channel_account,
    "conversation.propertyChange": on_thread_property,
}


def parse(body: bytes, scope: Scope) -> InboundBatch:
    """The events of a verified request: an app batch (array) or one custom-channel event (object)."""
    payload = json_body(body)
    items = payload if isinstance(payload, list) else [payload]
    batch = InboundBatch()
    for item in items:
        if not isinstance(item, dict):
            batch.ignored.append("an event that is not a JSON object")
            continue
        kind = str(item.get("subscriptionType") or item.get("type") or "")
        portal = item.get("portalId")
        if scope.portal_id is not None and portal is not None and str(portal) != str(scope.portal_id):
            batch.ignored.append(f"{kind} for portal {portal}, not {scope.portal_id}")
            continue
        handler = EVENT_HANDLERS.get(kind)
        if handler is None:
            batch.ignored.append(f"unhandled event type {kind or '(none)'}")
            continue
        outcome = handler(item, scope)
        if isinstance(outcome, str):
            batch.ignored.append(outcome)
        else:
            batch.events.extend(outcome)
    return batch
