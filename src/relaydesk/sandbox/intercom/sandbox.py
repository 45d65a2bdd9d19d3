"""The Intercom sandbox's behaviour: what each API call and rep action does, and the signed webhooks it sends.

Webhooks follow https://developers.intercom.com/docs/webhooks/webhook-notifications: a `notification_event` whose
`data.item` is the conversation with only the new part, signed `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw
body, keyed with the app's client secret>` (https://developers.intercom.com/docs/webhooks/setting-up-webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx2

from relaydesk.sandbox.deliveries import RetriedWebhooks, Retries
from relaydesk.sandbox.faults import FaultPlan
from relaydesk.sandbox.intercom.state import (
    Company,
    Contact,
    Conversation,
    IntercomConfig,
    Json,
    Part,
    Workspace,
    now,
)

# A webhook without a 2xx answer is sent up to three times more, but not after a 401, 403 or 404.
RETRIES = Retries((0.05, 0.2, 1.0), frozenset({401, 403, 404}))


def sign(client_secret: str, body: bytes) -> str:
    """The X-Hub-Signature header value of a webhook body."""
    return "sha1=" + hmac.new(client_secret.encode(), body, hashlib.sha1).hexdigest()


def error_body(status: int, code: str | None = None, message: str | None = None) -> Json:
    """Intercom's error list (https://developers.intercom.com/docs/references/2.11/rest-api/errors/error-objects)."""
    codes = {400: "parameter_invalid", 401: "unauthorized", 404: "not_found", 409: "conflict",
             429: "rate_limit_exceeded", 500: "server_error", 503: "service_unavailable"}
    return {"type": "error.list", "request_id": str(uuid.uuid4()),
            "errors": [{"code": code or codes.get(status, "server_error"),
                        "message": message or f"Request failed with HTTP {status}"}]}


class IntercomError(Exception):
    """An API answer other than 2xx, with Intercom's error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class IntercomSandbox(RetriedWebhooks):
    """One emulated Intercom workspace; `webhook_url` is where its app's webhooks go (set in the Developer Hub)."""

    def __init__(self, config: IntercomConfig | None = None, webhook_client: httpx2.AsyncClient | None = None) -> None:
        super().__init__(RETRIES, webhook_client)
        self.config = config or IntercomConfig()
        self.state = Workspace(self.config)
        self.faults = FaultPlan(error_body=error_body)
        self.webhook_url: str | None = None

    # auth --------------------------------------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> None:
        """Accept the workspace's bearer token, else 401 as Intercom answers it."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or token != self.config.access_token:
            raise IntercomError(401, "unauthorized", "Access Token Invalid")

    # lookups -----------------------------------------------------------------------------------------------------

    def conversation(self, conversation_id: str) -> Conversation:
        found = self.state.conversations.get(conversation_id)
        if found is None:
            raise IntercomError(404, "not_found", "Resource Not Found")
        return found

    def contact(self, contact_id: str) -> Contact:
        found = self.state.contacts.get(contact_id)
        if found is None:
            raise IntercomError(404, "not_found", "User Not Found")
        return found

    def admin_id(self, admin_id: Any) -> str:
        if str(admin_id) not in self.state.admins:
            raise IntercomError(404, "admin_not_found", "Admin not found")
        return str(admin_id)

    def show(self, conversation: Conversation) -> Json:
        return conversation.to_json(self.state.tags)

    # contacts and companies ---------------------------------------------------------------------------------------

    def create_contact(self, role: str, email: str | None, name: str | None, external_id: str | None = None,
                       custom_attributes: Json | None = None) -> Contact:
        """A new contact; a user with an email another user has is a 409 conflict naming it."""
        if email and role == "user":
            taken = next((c for c in self.state.contacts.values() if c.email == email and c.role == "user"), None)
            if taken is not None:
                message = f"A contact matching those details already exists with id={taken.id}"
                raise IntercomError(409, "conflict", message)
        contact = Contact(self.state.object_id(), role, email, name, external_id, custom_attributes or {}, now())
        self.state.contacts[contact.id] = contact
        return contact

    def attach_company(self, contact_id: str, name: str, custom_attributes: Json) -> Company:
        """Create a company and attach the contact to it (sandbox seeding)."""
        company = Company(self.state.object_id(), f"c-{len(self.state.companies) + 1}", name, custom_attributes)
        self.state.companies[company.id] = company
        self.contact(contact_id).company_ids.append(company.id)
        return company

    # conversations -----------------------------------------------------------------------------------------------

    def start_conversation(
        self, contact_id: str, body: str, *, delivered_as: str = "customer_initiated", channel: str = "conversation",
        attachments: list[Json] | None = None, admin_assignee_id: str | None = None,
    ) -> Conversation:
        """A contact writes in (the Messenger, `channel` "conversation", or an email): a new open conversation,
        unassigned unless the workspace's assignment rules give it to `admin_assignee_id` at once."""
        contact = self.contact(contact_id)
        number = self.state.number()
        source: Json = {"type": channel, "id": number, "delivered_as": delivered_as,
                        "subject": "Help" if channel == "email" else "", "body": body,
                        "author": self.state.author("user", contact.id), "attachments": attachments or [],
                        "url": None}
        conversation = Conversation(self.state.number(), contact.id, source, now(),
                                    admin_assignee_id=admin_assignee_id and self.admin_id(admin_assignee_id))
        self.state.conversations[conversation.id] = conversation
        self._notify("conversation.user.created", conversation.to_json(self.state.tags, parts=[]))
        return conversation

    def add_part(self, conversation: Conversation, part_type: str, author_kind: str, author_id: str,
                 body: str | None = None, assigned_to: Json | None = None,
                 attachments: list[Json] | None = None) -> Part:
        """Append a part and send the webhook of its topic."""
        part = Part(self.state.number(), part_type, body, self.state.author(author_kind, author_id), now(),
                    assigned_to, attachments or [])
        conversation.parts.append(part)
        topic = {("comment", "user"): "conversation.user.replied", ("comment", "admin"): "conversation.admin.replied",
                 ("note", "admin"): "conversation.admin.noted", ("assignment", "admin"): "conversation.admin.assigned",
                 ("close", "admin"): "conversation.admin.closed", ("open", "admin"): "conversation.admin.opened"}
        name = topic.get((part_type, author_kind))
        if name is not None:
            self._notify(name, conversation.to_json(self.state.tags, parts=[part]))
        return part

    def user_reply(self, conversation: Conversation, contact_id: str, body: str, *,
                   attachments: list[Json] | None = None) -> Part:
        """The contact writes again; a closed conversation reopens."""
        if contact_id != conversation.contact_id:
            raise IntercomError(400, "parameter_invalid", "User is not part of this conversation")
        conversation.state = "open"
        return self.add_part(conversation, "comment", "user", contact_id, body, attachments=attachments)

    def admin_reply(self, conversation: Conversation, admin_id: str, body: str, *, note: bool = False,
                    attachments: list[Json] | None = None) -> Part:
        """A teammate's reply (visible to the contact) or internal note."""
        return self.add_part(conversation, "note" if note else "comment", "admin", self.admin_id(admin_id), body,
                             attachments=attachments)

    # contacts and articles changed by the workspace ----------------------------------------------------------------

    def update_contact(self, contact_id: str, custom_attributes: Json) -> Contact:
        """A teammate or the workspace's own integration changes a contact's custom attributes."""
        contact = self.contact(contact_id)
        contact.custom_attributes = {**contact.custom_attributes, **custom_attributes}
        contact.updated_at = max(now(), contact.created_at + 1)
        self._notify(f"contact.{contact.role}.updated", contact.to_json())
        return contact

    def write_article(self, title: str, body: str, *, article_id: str | None = None,
                      state: str = "published") -> Json:
        """A help-center article written or edited now (a new one without `article_id`)."""
        articles = self.state.articles
        number = article_id or str(8000 + len(articles))
        article = self.state.article(number, title, body, state, now())
        existing = next((i for i, a in enumerate(articles) if a["id"] == number), None)
        if existing is None:
            articles.append(article)
        else:
            articles[existing] = {**article, "created_at": articles[existing]["created_at"]}
        return article

    def assign(self, conversation: Conversation, admin_id: str, kind: str, assignee_id: str) -> Part:
        """Assign to an admin or a team, or unassign with assignee `0`."""
        acting = self.admin_id(admin_id)
        if kind == "team":
            if assignee_id != "0" and assignee_id not in self.state.teams:
                raise IntercomError(404, "team_not_found", "Team not found")
            conversation.team_assignee_id = None if assignee_id == "0" else assignee_id
            target: Json = {"type": "team", "id": assignee_id}
        else:
            if assignee_id != "0":
                self.admin_id(assignee_id)
            conversation.admin_assignee_id = None if assignee_id == "0" else assignee_id
            target = {"type": "admin" if assignee_id != "0" else "nobody_admin", "id": assignee_id}
        return self.add_part(conversation, "assignment", "admin", acting, None, target)

    def set_state(self, conversation: Conversation, admin_id: str, state: str, body: str | None = None) -> Part:
        """Close or open a conversation as a teammate."""
        conversation.state = state
        return self.add_part(conversation, "close" if state == "closed" else "open", "admin",
                             self.admin_id(admin_id), body)

    def tag(self, conversation: Conversation, tag_id: str, admin_id: str) -> Json:
        self.admin_id(admin_id)
        if tag_id not in self.state.tags:
            raise IntercomError(404, "tag_not_found", "Tag not found")
        if tag_id not in conversation.tag_ids:
            conversation.tag_ids.append(tag_id)
        return {"type": "tag", "id": tag_id, "name": self.state.tags[tag_id], "applied_at": now(),
                "applied_by": {"type": "admin", "id": admin_id}}

    def find_or_create_tag(self, name: str) -> Json:
        tag_id = next((k for k, v in self.state.tags.items() if v == name), None)
        if tag_id is None:
            tag_id = str(7000 + len(self.state.tags))
            self.state.tags[tag_id] = name
        return {"type": "tag", "id": tag_id, "name": name}

    # webhooks ----------------------------------------------------------------------------------------------------

    def _notify(self, topic: str, item: Json) -> None:
        if self.webhook_url is None or topic not in self.config.webhook_topics:
            return
        created = now()
        envelope = {
            "type": "notification_event", "app_id": self.config.app_id,
            "data": {"type": "notification_event_data", "item": item},
            "links": {}, "id": f"notif_{uuid.uuid4()}", "topic": topic, "delivery_status": "pending",
            "delivery_attempts": 1, "delivered_at": 0, "first_sent_at": created, "created_at": created, "self": None,
        }
        body = json.dumps(envelope, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Intercom-Webhooks",
                   "X-Hub-Signature": sign(self.config.client_secret, body)}
        self.send_webhook(self.webhook_url, body, headers)
