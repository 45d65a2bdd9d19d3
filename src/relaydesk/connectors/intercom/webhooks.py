"""Intercom webhooks: verify X-Hub-Signature, then map each topic to a handler (EVENT_HANDLERS).

Intercom POSTs one `notification_event` per change, its `data.item` the conversation with only the new part
(https://developers.intercom.com/docs/references/2.11/webhooks/webhook-models), signed
`X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body with the app's client secret>`, no timestamp
(https://developers.intercom.com/docs/webhooks/setting-up-webhooks). Parts the AI admin wrote are relaydesk's own
writes echoed back and are ignored, as are conversations Intercom or a bot started (not `customer_initiated`).
Contact topics (`contact.user.updated`, `contact.lead.updated`) carry the contact itself as `data.item`
(https://developers.intercom.com/docs/references/2.11/webhooks/webhook-models).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import nh3

from relaydesk.connectors.base import (
    ContactInfo,
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
_INLINE_IMAGES = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
# How a conversation the customer started is marked (`source.delivered_as`); the others (campaigns_initiated,
# operator_initiated, automated, admin_initiated: outbound messages, bots, series) the AI stays out of.
CUSTOMER_INITIATED = "customer_initiated"
THREAD_SETTLE_S = 1.0


@dataclass(frozen=True, slots=True)
class Scope:
    """What marks an event as this integration's, which admin is the AI, and how the AI takes conversations.

    `names` maps admin and team ids to their names (for the record of an assignment); `settle_s` is the AI's wait
    before answering a new conversation, by channel (`web`, `email`).
    """

    app_id: str | None
    ai_admin_id: str
    process_on_assignment: bool = False
    settle_s: Mapping[str, float] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    """A verified notification: its topic and the object it is about (a conversation or a contact)."""

    topic: str
    app_id: str | None
    item: Json | None


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


def _parts(item: Json) -> list[Json]:
    return [dict(p) for p in (item.get("conversation_parts") or {}).get("conversation_parts") or []]


def _new_part(item: Json) -> Json:
    """The part this notification is about: the last one it carries (the webhook holds only the new parts)."""
    parts = _parts(item)
    return parts[-1] if parts else {}


def _ours(part: Json, scope: Scope) -> bool:
    author = part.get("author") or {}
    return author.get("type") == "admin" and str(author.get("id")) == scope.ai_admin_id


def _is_bot(author: Json) -> bool:
    return author.get("type") == "bot" or bool(author.get("from_ai_agent") or author.get("is_ai_answer"))


def channel_of(item: Json) -> str:
    """`email` for a conversation that began as an email (`source.type`), else `web` (the Messenger and the rest)."""
    return "email" if (item.get("source") or {}).get("type") == "email" else "web"


def attachments(part: Json) -> tuple[dict[str, Any], ...]:
    """A part's files and the images inline in its HTML body, as message attachments."""
    found = [{"name": str(a.get("name") or "attachment"), "url": str(a["url"]),
              "content_type": a.get("content_type"), "size": a.get("filesize")}
             for a in part.get("attachments") or [] if isinstance(a, dict) and a.get("url")]
    for number, url in enumerate(_INLINE_IMAGES.findall(str(part.get("body") or "")), start=1):
        url = unescape(url)
        if url.startswith(("https://", "http://")) and all(a["url"] != url for a in found):
            name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or f"image-{number}"
            found.append({"name": name, "url": url, "content_type": None, "size": None})
    return tuple(found)


def customer(part: Json, item: Json) -> ContactInfo | None:
    """The customer who wrote a part (or started the conversation), as the contact relaydesk links."""
    author = part.get("author") or {}
    contacts = (item.get("contacts") or {}).get("contacts") or [{}]
    contact_id = author.get("id") if author.get("type") in ("user", "lead", "contact") else contacts[0].get("id")
    if not contact_id:
        return None
    return ContactInfo(str(contact_id), email=author.get("email") or None, name=author.get("name") or None)


def customer_event(part: Json, item: Json, *, reply_delay_s: float = 0.0) -> InboundEvent:
    """A customer's part (or the conversation's first message) as a customer message."""
    body = str(part.get("body") or "")
    author = part.get("author") or {}
    return InboundEvent(f"part:{part.get('id')}", "customer_message", _ref(item), text=plain_text(body),
                        author_name=author.get("name") or None, contact=customer(part, item),
                        attachments=attachments(part), reply_delay_s=reply_delay_s)


def _assigned_to_ai(item: Json, scope: Scope) -> bool:
    return str(item.get("admin_assignee_id") or "") == scope.ai_admin_id


def on_customer_message(item: Json, scope: Scope) -> list[InboundEvent] | str:
    """The contact wrote: a new conversation (its source) or a reply (its new part).

    A new conversation waits the channel's settle time before the AI answers, so the workspace's assignment rules
    run first; one already assigned to a teammate is theirs from the start. With "process on assignment" the AI
    takes only conversations assigned to the AI admin (see `thread_events`).
    """
    source = item.get("source") or {}
    if source.get("delivered_as", CUSTOMER_INITIATED) != CUSTOMER_INITIATED:
        return f"conversation {item.get('id')} was not started by the customer ({source.get('delivered_as')})"
    new = _new_part(item)
    part = new or source
    if HANDOFF_MARKER in str(source.get("body") or "") and not new:
        return f"conversation {item.get('id')} was opened by relaydesk for a handoff"
    if scope.process_on_assignment and not _assigned_to_ai(item, scope):
        return f"conversation {item.get('id')} waits for an assignment to the AI admin (process on assignment)"
    settle = 0.0 if new or scope.process_on_assignment else scope.settle_s.get(channel_of(item), 0.0)
    events = [customer_event(part, item, reply_delay_s=settle)]
    owner = str(item.get("admin_assignee_id") or "")
    if not new and owner and owner != scope.ai_admin_id:
        events.append(InboundEvent(f"owner:{part.get('id')}", "assigned", _ref(item),
                                   author_name=scope.names.get(owner)))
    return events


def on_admin_reply(item: Json, scope: Scope) -> list[InboundEvent] | str:
    """A teammate replied (visible to the contact) or wrote an internal note."""
    part = _new_part(item)
    author = part.get("author") or {}
    if _ours(part, scope):
        return f"our own {part.get('part_type')} {part.get('id')} echoed back"
    if _is_bot(author):
        return f"a bot's {part.get('part_type')} {part.get('id')}"
    note = part.get("part_type") == "note"
    body = part.get("body")
    return [InboundEvent(f"part:{part.get('id')}", "rep_note" if note else "rep_message", _ref(item),
                         text=plain_text(body), html=body or None, author_name=author.get("name") or None,
                         attachments=attachments(part))]


def on_assigned(item: Json, scope: Scope) -> list[InboundEvent] | str:
    """A teammate (or the workspace's routing) assigned the conversation.

    To the AI admin: the AI takes it back. To another admin: that admin owns it (a rep joins). Every assignment is
    recorded on the session as a note naming who assigned it to whom.
    """
    part = _new_part(item)
    if _ours(part, scope):
        return f"our own assignment {part.get('id')} echoed back"
    target, author = part.get("assigned_to") or {}, part.get("author") or {}
    by = author.get("name") or "Intercom"
    if target.get("type") == "admin" and str(target.get("id")) == scope.ai_admin_id:
        return [InboundEvent(f"part:{part.get('id')}", "handed_back", _ref(item), author_name=by)]
    kind, target_id = str(target.get("type") or ""), str(target.get("id") or "")
    name = scope.names.get(target_id) or (author.get("name") if target_id == str(author.get("id")) else None)
    if kind == "admin":
        whom = name or f"admin {target_id}"
    elif kind == "team":
        whom = f"team {scope.names.get(target_id) or target_id}"
    else:
        whom = "nobody"
    record = InboundEvent(f"part:{part.get('id')}:record", "rep_note", _ref(item),
                          text=f"Intercom: {by} assigned the conversation to {whom}.", author_name=by)
    if kind != "admin":
        return [record]
    return [record, InboundEvent(f"part:{part.get('id')}", "assigned", _ref(item), author_name=whom)]


def on_state(item: Json, scope: Scope) -> list[InboundEvent] | str:
    """A teammate closed or reopened the conversation."""
    part = _new_part(item)
    if _ours(part, scope):
        return f"our own {part.get('part_type')} {part.get('id')} echoed back"
    kind: InboundType = "resolved" if part.get("part_type") == "close" else "reopened"
    author = part.get("author") or {}
    return [InboundEvent(f"part:{part.get('id')}", kind, _ref(item), author_name=author.get("name") or None)]


def on_contact_updated(item: Json, scope: Scope) -> list[InboundEvent] | str:
    """A contact's details changed: its attributes reach the AI's context (companies are read by the connector)."""
    if item.get("type") != "contact" or not item.get("id"):
        return "a contact notification without a contact"
    info = ContactInfo(str(item["id"]), email=item.get("email") or None, name=item.get("name") or None,
                       attributes=contact_attributes(item, []))
    return [InboundEvent(f"contact:{item['id']}:{item.get('updated_at')}", "contact_updated", SessionRef(),
                         contact=info)]


def contact_attributes(contact: Json, companies: list[Json]) -> dict[str, Any]:
    """What the AI sees of a contact: its custom attributes, and each company's name, plan and custom attributes."""
    found: dict[str, Any] = {"contact": dict(contact.get("custom_attributes") or {})}
    shown = {}
    for company in companies:
        plan = (company.get("plan") or {}).get("name") if isinstance(company.get("plan"), dict) else None
        shown[str(company.get("name") or company.get("company_id") or company.get("id"))] = {
            **({"plan": plan} if plan else {}), **dict(company.get("custom_attributes") or {})}
    if shown:
        found["companies"] = shown
    return found


def thread_events(conversation: Json, scope: Scope) -> list[InboundEvent]:
    """The customer's messages of a whole conversation (read with GET /conversations/{id}) that wait for an answer:
    those after the last reply of a teammate other than the AI admin."""
    source = conversation.get("source") or {}
    if source.get("delivered_as", CUSTOMER_INITIATED) != CUSTOMER_INITIATED:
        return []
    parts = _parts(conversation)
    last_rep = max((i for i, p in enumerate(parts) if p.get("part_type") == "comment"
                    and (p.get("author") or {}).get("type") == "admin" and not _ours(p, scope)), default=-1)
    waiting = [source] if last_rep < 0 else []
    waiting += [p for p in parts[last_rep + 1:] if p.get("part_type") == "comment"
                and (p.get("author") or {}).get("type") in ("user", "lead", "contact")]
    # The events are applied one by one: a short wait lets the AI see them all and answer the thread once.
    return [customer_event(p, conversation, reply_delay_s=THREAD_SETTLE_S) for p in waiting]


EVENT_HANDLERS: dict[str, Handler] = {
    "conversation.user.created": on_customer_message,
    "conversation.user.replied": on_customer_message,
    "conversation.admin.replied": on_admin_reply,
    "conversation.admin.noted": on_admin_reply,
    "conversation.admin.assigned": on_assigned,
    "conversation.admin.closed": on_state,
    "conversation.admin.opened": on_state,
    "contact.user.updated": on_contact_updated,
    "contact.lead.updated": on_contact_updated,
}
WEBHOOK_TOPICS = tuple(EVENT_HANDLERS)  # the topics to subscribe to in the Developer Hub


def read(body: bytes) -> Notification:
    """A verified body as a notification; anything but a notification object is refused."""
    payload = json_body(body)
    if not isinstance(payload, dict):
        raise WebhookRejected("the body is not a notification object")
    item = (payload.get("data") or {}).get("item")
    app_id = payload.get("app_id")
    return Notification(str(payload.get("topic") or ""), str(app_id) if app_id else None,
                        item if isinstance(item, dict) else None)


def events(notification: Notification, scope: Scope) -> InboundBatch:
    """The events of one notification; `ping` and unknown topics are reported, not guessed at."""
    topic = notification.topic
    if scope.app_id and notification.app_id not in (None, scope.app_id):
        return InboundBatch(ignored=[f"{topic} for workspace {notification.app_id}, not {scope.app_id}"])
    handler = EVENT_HANDLERS.get(topic)
    if handler is None or notification.item is None:
        return InboundBatch(ignored=[f"unhandled topic {topic or '(none)'}"])
    outcome = handler(notification.item, scope)
    return InboundBatch(ignored=[outcome]) if isinstance(outcome, str) else InboundBatch(events=outcome)


def parse(body: bytes, scope: Scope) -> InboundBatch:
    """The events of one verified notification body."""
    return events(read(body), scope)
