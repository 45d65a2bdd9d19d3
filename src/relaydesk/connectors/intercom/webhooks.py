"""Intercom webhooks: verify X-Hub-Signature, then map each topic to a handler (EVENT_HANDLERS).

Intercom POSTs one `notification_event` per change, its `data.item` the conversation with only the new part
(https://developers.intercom.com/docs/references/2.11/webhooks/webhook-models), signed
`X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body with the app's client secret>`, no timestamp
(https://developers.intercom.com/docs/webhooks/setting-up-webhooks). Parts the AI admin wrote are relaydesk's own
writes echoed back and are ignored, as are conversations Intercom or a bot started (not `customer_initiated`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Any

import nh3

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
HANDOFF_MARKER = "relaydesk handoff"  # opens the conversations relaydesk creates for widget handoffs
_BREAKS = re.compile(r"<br\s*/?>|</p>|</div>|</li>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Scope:
    """What marks an event as this integration's, and which admin is the AI."""

    app_id: str | None
    ai_admin_id: str


Handler = Callable[[Json, Scope], list[InboundEvent] | str]


def signature(secret: str, body: bytes) -> str:
    """The X-Hub-Signature of a body."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def verify(secret: str, request: WebhookRequest) -> None:
    """Accept a body signed with the app's client secret; else WebhookRejected."""
    given = {k.lower(): v for k, v in request.headers.items()}.get("x-hub-signature")
    if not given:
        raise WebhookRejected("missing X-Hub-Signature")
    if not hmac.compare_digest(signature(secret, request.body), given):
        raise WebhookRejected("X-Hub-Signature does not match: check the app's client secret in Settings")


def plain_text(html: str | None) -> str:
    """An Intercom HTML body as plain text: paragraphs and breaks become new lines, tags go."""
    if not html:
        return ""
    text = unescape(nh3.clean(_BREAKS.sub("\n", html), tags=set()))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _ref(item: Json) -> SessionRef:
    return SessionRef(link_kind="conversation", external_id=str(item.get("id")))


def _new_part(item: Json) -> Json:
    """The part this notification is about: the last one it carries (the webhook holds only the new parts)."""
    parts = (item.get("conversation_parts") or {}).get("conversation_parts") or []
    return dict(parts[-1]) if parts else {}


def _ours(part: Json, scope: Scope) -> bool:
    author = part.get("author") or {}
    return author.get("type") == "admin" and str(author.get("id")) == scope.ai_admin_id


def on_customer_message(item: Json, scope: Scope) -> list[InboundEvent] | str:
    """The contact wrote: a new conversation (its source) or a reply (its new part)."""
    source = item.get("source") or {}
    if source.get("delivered_as", "customer_initiated") != "customer_initiated":
        return f"conversation {item.get('id')} was not started by the customer ({source.get('delivered_as')})"
    part = _new_part(item) or source
    body = str(part.get("body") or "")
    if HANDOFF_MARKER in body:
        return f"conversation {item.get('id')} was opened by relaydesk for a handoff"
    author = part.get("author") or {}
    return [InboundEvent(f"part:{part.get('id')}", "customer_message", _ref(item), text=plain_text(body),
                         author_name=author.get("name") or None)]


def on_admin_reply(item: Json, scope: Scope) -> list[InboundEvent] | str:
    """A teammate replied (visible to the contact) or wrote an internal note."""
    part = _new_part(item)
    author = part.get("author") or {}
    if _ours(part, scope):
        return f"our own {part.get('part_type')} {part.get('id')} echoed back"
    if author.get("type") == "bot" or author.get("from_ai_agent") or author.get("is_ai_answer"):
        return f"a bot's {part.get('part_type')} {part.get('id')}"
    note = part.get("part_type") == "note"
    body = part.get("body")
    return [InboundEvent(f"part:{part.get('id')}", "rep_note" if note else "rep_message", _ref(item),
                         text=plain_text(body), html=body or None, author_name=author.get("name") or None)]


def on_assigned(item: Json, scope: Scope) -> list[InboundEvent] | str:
    """A teammate took or routed the conversation."""
    part = _new_part(item)
    if _ours(part, scope):
        return f"our own assignment {part.get('id')} echoed back"
    target = part.get("assigned_to") or {}
    if target.get("type") == "admin" and str(target.get("id")) == scope.ai_admin_id:
        return f"conversation {item.get('id')} assigned to the AI admin"
    if target.get("type") != "admin":
        return f"conversation {item.get('id')} assigned to {target.get('type')} {target.get('id')}"
    author = part.get("author") or {}
    return [InboundEvent(f"part:{part.get('id')}", "assigned", _ref(item), author_name=author.get("name") or None)]


def on_state(item: Json, scope: Scope) -> list[InboundEvent] | str:
    """A teammate closed or reopened the conversation."""
    part = _new_part(item)
    if _ours(part, scope):
        return f"our own {part.get('part_type')} {part.get('id')} echoed back"
    kind: InboundType = "resolved" if part.get("part_type") == "close" else "reopened"
    author = part.get("author") or {}
    return [InboundEvent(f"part:{part.get('id')}", kind, _ref(item), author_name=author.get("name") or None)]


EVENT_HANDLERS: dict[str, Handler] = {
    "conversation.user.created": on_customer_message,
    "conversation.user.replied": on_customer_message,
    "conversation.admin.replied": on_admin_reply,
    "conversation.admin.noted": on_admin_reply,
    "conversation.admin.assigned": on_assigned,
    "conversation.admin.closed": on_state,
    "conversation.admin.opened": on_state,
}


def parse(body: bytes, scope: Scope) -> InboundBatch:
    """The events of one verified notification; `ping` and unknown topics are reported, not guessed at."""
    payload = json_body(body)
    if not isinstance(payload, dict):
        raise WebhookRejected("the body is not a notification object")
    topic = str(payload.get("topic") or "")
    if scope.app_id and payload.get("app_id") not in (None, scope.app_id):
        return InboundBatch(ignored=[f"{topic} for workspace {payload.get('app_id')}, not {scope.app_id}"])
    handler = EVENT_HANDLERS.get(topic)
    item = (payload.get("data") or {}).get("item")
    if handler is None or not isinstance(item, dict):
        return InboundBatch(ignored=[f"unhandled topic {topic or '(none)'}"])
    outcome = handler(item, scope)
    return InboundBatch(ignored=[outcome]) if isinstance(outcome, str) else InboundBatch(events=outcome)
