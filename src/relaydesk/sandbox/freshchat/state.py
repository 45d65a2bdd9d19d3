"""The sandbox's in-memory Freshchat account: agents, groups, channels (topics), users, conversations and messages.

Shapes follow the Freshchat API v2 reference (https://developers.freshchat.com/api/): ids are UUIDs, times are
ISO-8601 in UTC with milliseconds, a message is `message_parts` of `{"text": {"content": …}}`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class AgentSeed:
    """An agent of the sandbox account."""

    id: str
    email: str
    first_name: str
    last_name: str
    group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class FreshchatConfig:
    """What one sandbox account holds when it starts."""

    domain: str = "acme.freshchat.com"
    app_id: str = "c6ec783e-4c89-490a-bbbc-32c97e2a8c3d"
    account_number: str = "153370844780746"
    api_token: str = "sandbox-freshchat-api-token"
    owner_agent_id: str = "2f6a8b1e-0b59-4b1b-9d62-000000000002"  # the admin who generated the API token
    agents: tuple[AgentSeed, ...] = (
        AgentSeed("2f6a8b1e-0b59-4b1b-9d62-000000000001", "ai-assistant@acme.example", "AI", "Assistant"),
        AgentSeed("2f6a8b1e-0b59-4b1b-9d62-000000000002", "ada@acme.example", "Ada", "Lovelace",
                  ("7d0c1f44-5b8e-4a55-8f0e-00000000000a",)),
        AgentSeed("2f6a8b1e-0b59-4b1b-9d62-000000000003", "grace@acme.example", "Grace", "Hopper",
                  ("7d0c1f44-5b8e-4a55-8f0e-00000000000a",)),
    )
    groups: tuple[tuple[str, str], ...] = (("7d0c1f44-5b8e-4a55-8f0e-00000000000a", "Support"),)
    channels: tuple[tuple[str, str], ...] = (("304d0a73-5135-4be6-9df3-7a4aa2a0d855", "Inbox"),
                                              ("304d0a73-5135-4be6-9df3-7a4aa2a0d856", "Billing"))
    requests_per_minute: int = 600  # Freshchat publishes no number; the sandbox answers 429 past this one
    max_items_per_page: int = 100


def now() -> str:
    """The current time as Freshchat stamps it (`2022-11-22T10:55:23.126Z`)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


def text_parts(text: str) -> list[Json]:
    """A plain text as message parts."""
    return [{"text": {"content": text}}]


@dataclass
class User:
    """A customer (a Freshchat user)."""

    id: str
    email: str | None
    first_name: str | None
    last_name: str | None = None
    phone: str | None = None
    reference_id: str | None = None
    properties: list[Json] = field(default_factory=list)
    created_time: str = field(default_factory=now)

    def to_json(self) -> Json:
        """https://developers.freshchat.com/api/#users"""
        return {"id": self.id, "email": self.email, "first_name": self.first_name, "last_name": self.last_name,
                "phone": self.phone, "reference_id": self.reference_id, "properties": self.properties,
                "avatar": {"url": None}, "created_time": self.created_time, "updated_time": self.created_time,
                "login_status": False}


@dataclass
class Message:
    """One message of a conversation: a customer's, an agent's (normal or private note), a bot's or the system's."""

    id: str
    conversation_id: str
    channel_id: str
    app_id: str
    actor_type: str
    actor_id: str
    message_type: str
    message_parts: list[Json]
    user_id: str | None
    created_time: str = field(default_factory=now)

    @property
    def text(self) -> str:
        return "\n".join(str((p.get("text") or {}).get("content") or "") for p in self.message_parts)

    def to_json(self) -> Json:
        """https://developers.freshchat.com/api/#send_message_to_conversation (the message object)"""
        return {"id": self.id, "conversation_id": self.conversation_id, "channel_id": self.channel_id,
                "app_id": self.app_id, "actor_type": self.actor_type, "actor_id": self.actor_id,
                "message_type": self.message_type, "message_parts": self.message_parts, "user_id": self.user_id,
                "created_time": self.created_time, "message_source": "web", "interaction_id": self.conversation_id}


@dataclass
class Conversation:
    """A conversation with its users, status, assignment and messages (oldest first)."""

    id: str
    channel_id: str
    app_id: str
    user_ids: list[str]
    status: str = "new"
    assigned_agent_id: str | None = None
    assigned_group_id: str | None = None
    messages: list[Message] = field(default_factory=list)
    created_time: str = field(default_factory=now)

    def brief(self) -> Json:
        """The conversation as webhooks embed it."""
        return {"conversation_id": self.id, "app_id": self.app_id, "status": self.status,
                "channel_id": self.channel_id, "assigned_agent_id": self.assigned_agent_id or "",
                "assigned_group_id": self.assigned_group_id or "", "skill_id": 0, "sla_policy_id": 0,
                "sla_breached": False}

    def to_json(self) -> Json:
        """https://developers.freshchat.com/api/#retrieve_a_conversation (messages are listed separately)"""
        return {**self.brief(), "id": self.id, "users": [{"id": u} for u in self.user_ids],
                "created_time": self.created_time, "properties": {}}


class Account:
    """Every record of the sandbox account."""

    def __init__(self, config: FreshchatConfig) -> None:
        self.config = config
        self.agents = {a.id: a for a in config.agents}
        self.groups = dict(config.groups)
        self.channels = dict(config.channels)
        self.users: dict[str, User] = {}
        self.conversations: dict[str, Conversation] = {}

    def agent_json(self, agent: AgentSeed) -> Json:
        """https://developers.freshchat.com/api/#agents"""
        return {"id": agent.id, "email": agent.email, "first_name": agent.first_name, "last_name": agent.last_name,
                "avatar": {"url": None}, "groups": list(agent.group_ids), "role_id": "AGENT",
                "is_deactivated": False, "availability_status": "AVAILABLE", "agent_status": {"name": "Available"}}
