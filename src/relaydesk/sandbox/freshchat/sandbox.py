"""The Freshchat sandbox's behaviour: what each API call, customer and rep action does, and the signed webhooks.

Webhooks follow https://crmsupport.freshworks.com/en/support/solutions/articles/50000004461-freshchat-webhooks-payload-structure-and-authentication:
`{"actor": {actor_type, actor_id}, "action", "action_time", "data": {…}}` for the actions `message_create`,
`conversation_assignment`, `conversation_resolution` and `conversation_reopen`, with the headers
`X-Freshchat-Signature` (base64 RSA-SHA256 signature of the raw body, PKCS#1 v1.5, made with the account's private
key; the matching public key is shown on the webhook settings page), `X-Freshchat-Payload-Version` and
`X-Retry-Count`. Changes made through the API are attributed to the admin whose token made them.
"""

from __future__ import annotations

import base64
import json

import httpx2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from relaydesk.sandbox.deliveries import RetriedWebhooks, Retries
from relaydesk.sandbox.faults import FaultPlan, RateLimiter, RateLimitRule
from relaydesk.sandbox.freshchat.state import (
    Account,
    AgentSeed,
    Conversation,
    FreshchatConfig,
    Json,
    Message,
    User,
    new_id,
    now,
    text_parts,
)

# A webhook without a 2xx answer is sent up to three times more, but not after a 400, 401, 403 or 404;
# X-Retry-Count numbers the attempt.
RETRIES = Retries((0.05, 0.2, 1.0), frozenset({400, 401, 403, 404}), attempt_header="X-Retry-Count")
PAYLOAD_VERSION = "2"
STATUS_NAMES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR", 503: "SERVICE_UNAVAILABLE"}


def error_body(status: int, name: str | None = None, message: str | None = None) -> Json:
    """Freshchat's response object for errors (https://developers.freshchat.com/api/#status_and_error_messages)."""
    return {"code": status, "status": name or STATUS_NAMES.get(status, "ERROR"),
            "message": message or f"Request failed with HTTP {status}"}


class FreshchatError(Exception):
    """An API answer other than 2xx."""

    def __init__(self, status: int, name: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        self.message = message
        self.retry_after = retry_after


def sign(private_key: rsa.RSAPrivateKey, body: bytes) -> str:
    """The X-Freshchat-Signature of a body: base64 of its RSA PKCS#1 v1.5 SHA-256 signature."""
    return base64.b64encode(private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def public_key_pem(private_key: rsa.RSAPrivateKey) -> str:
    """The PEM public key matching a private key, as the webhook settings page shows it."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class FreshchatSandbox(RetriedWebhooks):
    """One emulated Freshchat account; `webhook_url` is where its conversation webhooks go (set in Admin Settings)."""

    def __init__(self, config: FreshchatConfig | None = None, webhook_client: httpx2.AsyncClient | None = None) -> None:
        super().__init__(RETRIES, webhook_client)
        self.config = config or FreshchatConfig()
        self.state = Account(self.config)
        self.faults = FaultPlan(error_body=error_body)
        self.limiter = RateLimiter()
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.webhook_url: str | None = None

    @property
    def public_key_pem(self) -> str:
        """The RSA public key an admin copies from the webhook settings page."""
        return public_key_pem(self.private_key)

    # auth and limits ---------------------------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> None:
        """Accept the account's bearer token within the request budget; else 401 or 429 with Retry-After."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or token != self.config.api_token:
            raise FreshchatError(401, "UNAUTHORIZED", "Invalid or expired API token")
        rule = RateLimitRule("api", self.config.requests_per_minute, 60.0)
        decision = self.limiter.hit(token, [rule])[0]
        if not decision.allowed:
            raise FreshchatError(429, "TOO_MANY_REQUESTS", "Rate limit exceeded",
                                 retry_after=int(decision.retry_after_header))

    # lookups -----------------------------------------------------------------------------------------------------

    def conversation(self, conversation_id: str) -> Conversation:
        found = self.state.conversations.get(conversation_id)
        if found is None:
            raise FreshchatError(404, "CONVERSATION_NOT_FOUND", "conversation not found")
        return found

    def user(self, user_id: str) -> User:
        found = self.state.users.get(user_id)
        if found is None:
            raise FreshchatError(404, "USER_NOT_FOUND", "user not found")
        return found

    def agent(self, agent_id: str) -> AgentSeed:
        found = self.state.agents.get(agent_id)
        if found is None:
            raise FreshchatError(404, "AGENT_NOT_FOUND", "agent not found")
        return found

    # users -------------------------------------------------------------------------------------------------------

    def create_user(self, email: str | None, first_name: str | None, last_name: str | None = None, *,
                    reference_id: str | None = None, phone: str | None = None,
                    properties: list[Json] | None = None) -> User:
        """A new user (a widget visitor, or one created through the API)."""
        user = User(new_id(), email, first_name, last_name, phone, reference_id, properties or [])
        self.state.users[user.id] = user
        return user

    # conversations -----------------------------------------------------------------------------------------------

    def open_conversation(self, user_id: str, channel_id: str | None = None, messages: list[Json] | None = None
                          ) -> Conversation:
        """A new conversation of a user in a channel (topic), with its first messages (API: POST /conversations)."""
        self.user(user_id)
        channel = channel_id or next(iter(self.state.channels))
        if channel not in self.state.channels:
            raise FreshchatError(400, "INVALID_VALUE", f"channel {channel} does not exist")
        conversation = Conversation(new_id(), channel, self.config.app_id, [user_id])
        self.state.conversations[conversation.id] = conversation
        for message in messages or []:
            self.post(conversation, message)
        return conversation

    def customer_writes(self, user: User, text: str, conversation: Conversation | None = None, *,
                        routed_to: str | None = None) -> Conversation:
        """The customer writes in the widget: a new conversation (optionally routed to an agent first) or a reply,
        which reopens a resolved conversation."""
        if conversation is None:
            conversation = self.open_conversation(user.id)
            if routed_to is not None:
                self.assign(conversation, routed_to, by=("system", ""))
        elif conversation.status == "resolved":
            self.reopen(conversation, by=("user", user.id))
        self.post(conversation, {"actor_type": "user", "actor_id": user.id, "message_type": "normal",
                                 "message_parts": text_parts(text)})
        return conversation

    def post(self, conversation: Conversation, body: Json) -> Message:
        """A message (API: POST /conversations/{id}/messages); the author must be a member user or an agent."""
        actor_type = str(body.get("actor_type") or "")
        actor_id = str(body.get("actor_id") or "")
        message_type = str(body.get("message_type") or "normal")
        if actor_type not in ("user", "agent", "bot", "system"):
            raise FreshchatError(400, "INVALID_VALUE", "actor_type must be user, agent, bot or system")
        if message_type not in ("normal", "private"):
            raise FreshchatError(400, "INVALID_VALUE", "message_type must be normal or private")
        if actor_type == "user" and actor_id not in conversation.user_ids:
            raise FreshchatError(400, "INVALID_VALUE", "actor_id is not a user of this conversation")
        if actor_type == "agent":
            self.agent(actor_id)
        parts = body.get("message_parts")
        if not isinstance(parts, list) or not parts:
            raise FreshchatError(400, "INVALID_VALUE", "message_parts is required")
        message = Message(new_id(), conversation.id, conversation.channel_id, conversation.app_id, actor_type,
                          actor_id, message_type, parts, conversation.user_ids[0])
        conversation.messages.append(message)
        self._notify("message_create", (actor_type, actor_id), {"message": message.to_json()})
        return message

    def reply(self, conversation: Conversation, agent_id: str, text: str, *, private: bool = False) -> Message:
        """A rep replies to the customer or writes a private note."""
        return self.post(conversation, {"actor_type": "agent", "actor_id": agent_id,
                                        "message_type": "private" if private else "normal",
                                        "message_parts": text_parts(text)})

    def update(self, conversation: Conversation, body: Json, *, by: tuple[str, str]) -> Conversation:
        """Change status and assignment (API: PUT /conversations/{id}); `assigned_agent_id: ""` unassigns."""
        status = body.get("status")
        if status is not None and status not in ("new", "assigned", "resolved", "reopened"):
            raise FreshchatError(400, "INVALID_VALUE", "status must be new, assigned, resolved or reopened")
        if "assigned_agent_id" in body:
            agent_id = str(body["assigned_agent_id"] or "").strip()
            if agent_id:
                self.agent(agent_id)
            if agent_id != (conversation.assigned_agent_id or ""):
                self.assign(conversation, agent_id, by=by)
        elif status == "assigned" and not conversation.assigned_agent_id:
            raise FreshchatError(400, "INVALID_VALUE", "assigned_agent_id is required when status is assigned")
        if "assigned_group_id" in body:
            group_id = str(body["assigned_group_id"] or "").strip()
            if group_id and group_id not in self.state.groups:
                raise FreshchatError(400, "INVALID_VALUE", f"group {group_id} does not exist")
            conversation.assigned_group_id = group_id or None
        if status == "resolved" and conversation.status != "resolved":
            self.resolve(conversation, by=by)
        elif status == "reopened" and conversation.status == "resolved":
            self.reopen(conversation, by=by)
        elif status in ("new", "assigned"):
            conversation.status = status
        return conversation

    def assign(self, conversation: Conversation, agent_id: str, *, by: tuple[str, str]) -> None:
        """Assign to an agent (or unassign with ""): the status follows, and `conversation_assignment` is sent."""
        previous = conversation.assigned_agent_id or ""
        conversation.assigned_agent_id = agent_id or None
        if conversation.status != "resolved":
            conversation.status = "assigned" if agent_id else "new"
        self._notify("conversation_assignment", by, {"assignment": {
            "assignor": by[0], "assignor_id": by[1], "to_agent_id": agent_id,
            "to_group_id": conversation.assigned_group_id or "", "from_agent_id": previous,
            "from_group_id": conversation.assigned_group_id or "", "interaction_id": conversation.id,
            "conversation": conversation.brief()}})

    def resolve(self, conversation: Conversation, *, by: tuple[str, str]) -> None:
        """Resolve the conversation: `conversation_resolution` names the resolver and the user."""
        conversation.status = "resolved"
        user = self.state.users[conversation.user_ids[0]]
        self._notify("conversation_resolution", by, {"resolve": {
            "resolver": by[0], "resolver_id": by[1], "interaction_id": conversation.id,
            "conversation": conversation.brief(), "user": user.to_json()}})

    def reopen(self, conversation: Conversation, *, by: tuple[str, str]) -> None:
        """Reopen a resolved conversation: `conversation_reopen`."""
        conversation.status = "reopened"
        self._notify("conversation_reopen", by, {"reopen": {
            "reopener": by[0], "reopener_id": by[1], "interaction_id": conversation.id,
            "conversation": conversation.brief()}})

    # webhooks ----------------------------------------------------------------------------------------------------

    def _notify(self, action: str, actor: tuple[str, str], data: Json) -> None:
        if self.webhook_url is None:
            return
        envelope = {"actor": {"actor_type": actor[0], "actor_id": actor[1]}, "action": action,
                    "action_time": now(), "data": data}
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Freshchat-Signature": sign(self.private_key, body),
                   "X-Freshchat-Payload-Version": PAYLOAD_VERSION, "X-Retry-Count": "0"}
        self.send_webhook(self.webhook_url, body, headers)
