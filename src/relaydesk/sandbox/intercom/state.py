"""The sandbox's in-memory Intercom workspace: admins, teams, contacts, companies, conversations, tags, articles."""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]
API_VERSION = "2.11"  # https://developers.intercom.com/docs/build-an-integration/learn-more/rest-apis/api-changelog


@dataclass(frozen=True)
class AdminSeed:
    """A teammate of the sandbox workspace."""

    id: str
    name: str
    email: str
    team_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TeamSeed:
    """A team of the sandbox workspace."""

    id: str
    name: str
    admin_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntercomConfig:
    """What one sandbox workspace holds when it starts."""

    app_id: str = "sandboxapp"
    app_name: str = "Acme (sandbox)"
    region: str = "US"
    access_token: str = "sandbox-intercom-token"
    client_secret: str = "sandbox-intercom-client-secret"
    owner_admin_id: str = "991267001"
    admins: tuple[AdminSeed, ...] = (
        AdminSeed("991267001", "AI Assistant", "ai-assistant@acme.example"),
        AdminSeed("991267002", "Ada Lovelace", "ada@acme.example", ("5001",)),
        AdminSeed("991267003", "Grace Hopper", "grace@acme.example", ("5001",)),
    )
    teams: tuple[TeamSeed, ...] = (TeamSeed("5001", "Support", ("991267002", "991267003")),)
    articles: tuple[tuple[str, str], ...] = (
        ("Refunds", "<p>Refunds reach your card within <b>5 business days</b> of approval.</p>"),
        ("Changing your plan", "<p>Owners change the plan under Settings, Billing.</p>"),
    )
    webhook_topics: tuple[str, ...] = (
        "conversation.user.created",
        "conversation.user.replied",
        "conversation.admin.replied",
        "conversation.admin.noted",
        "conversation.admin.assigned",
        "conversation.admin.closed",
        "conversation.admin.opened",
        "contact.user.updated",
        "contact.lead.updated",
    )
    public_base_url: str = "http://intercom.sandbox"


def now() -> int:
    """Seconds since the epoch, as Intercom stamps everything."""
    return int(time.time())


@dataclass
class Company:
    """A company contacts are attached to."""

    id: str
    company_id: str
    name: str
    custom_attributes: Json

    def to_json(self) -> Json:
        """https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/companies/company"""
        return {"type": "company", "id": self.id, "company_id": self.company_id, "name": self.name,
                "custom_attributes": self.custom_attributes}


@dataclass
class Contact:
    """A user or lead."""

    id: str
    role: str
    email: str | None
    name: str | None
    external_id: str | None
    custom_attributes: Json
    created_at: int
    company_ids: list[str] = field(default_factory=list)
    updated_at: int = 0

    def to_json(self) -> Json:
        """https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/contacts/contact"""
        return {
            "type": "contact", "id": self.id, "role": self.role, "email": self.email, "name": self.name,
            "external_id": self.external_id, "custom_attributes": self.custom_attributes,
            "created_at": self.created_at, "updated_at": max(self.created_at, self.updated_at),
            "companies": {"type": "list", "data": [{"type": "company", "id": c} for c in self.company_ids],
                          "total_count": len(self.company_ids)},
        }


@dataclass
class Part:
    """One conversation part: a comment, note, assignment, close or open."""

    id: str
    part_type: str
    body: str | None
    author: Json
    created_at: int
    assigned_to: Json | None = None
    attachments: list[Json] = field(default_factory=list)

    def to_json(self) -> Json:
        """https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/conversations/conversation"""
        return {"type": "conversation_part", "id": self.id, "part_type": self.part_type, "body": self.body,
                "created_at": self.created_at, "updated_at": self.created_at, "notified_at": self.created_at,
                "assigned_to": self.assigned_to, "author": self.author, "attachments": self.attachments,
                "redacted": False}


@dataclass
class Conversation:
    """A conversation with its first message (`source`) and later parts."""

    id: str
    contact_id: str
    source: Json
    created_at: int
    state: str = "open"
    admin_assignee_id: str | None = None
    team_assignee_id: str | None = None
    tag_ids: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)

    @property
    def updated_at(self) -> int:
        return max([self.created_at, *(p.created_at for p in self.parts)])

    def to_json(self, tags: dict[str, str], *, parts: list[Part] | None = None, listed: bool = False) -> Json:
        """The conversation as the API and webhooks show it; webhooks carry only the new parts, and lists (search)
        no parts at all."""
        shown = self.parts if parts is None else parts
        found = {
            "type": "conversation", "id": self.id, "created_at": self.created_at,
            "updated_at": self.updated_at,
            "source": self.source, "state": self.state, "open": self.state == "open", "read": False,
            "admin_assignee_id": int(self.admin_assignee_id) if self.admin_assignee_id else None,
            "team_assignee_id": self.team_assignee_id,
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": self.contact_id}]},
            "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": t, "name": tags[t]} for t in self.tag_ids]},
            "custom_attributes": {},
        }
        if not listed:
            found["conversation_parts"] = {"type": "conversation_part.list", "total_count": len(shown),
                                           "conversation_parts": [p.to_json() for p in shown]}
        return found


class Workspace:
    """Every record of the sandbox workspace, and the id counters."""

    def __init__(self, config: IntercomConfig) -> None:
        self.config = config
        self.admins = {a.id: a for a in config.admins}
        self.teams = {t.id: t for t in config.teams}
        self.contacts: dict[str, Contact] = {}
        self.companies: dict[str, Company] = {}
        self.conversations: dict[str, Conversation] = {}
        self.tags: dict[str, str] = {}
        self._numbers = itertools.count(215474343849000)
        # The seeded articles were written a day ago, an hour apart.
        self.articles: list[Json] = [
            self.article(str(8000 + i), title, body, "published", now() - 86_400 - 3_600 * i)
            for i, (title, body) in enumerate(config.articles)
        ]

    def article(self, article_id: str, title: str, body: str, state: str, at: int) -> Json:
        """https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/articles/article"""
        return {"type": "article", "id": article_id, "workspace_id": self.config.app_id, "title": title,
                "description": "", "body": body, "author_id": int(self.config.owner_admin_id), "state": state,
                "created_at": at, "updated_at": at, "url": f"{self.config.public_base_url}/help/articles/{article_id}"}

    def number(self) -> str:
        """A new numeric id, as Intercom gives conversations and parts."""
        return str(next(self._numbers))

    @staticmethod
    def object_id() -> str:
        """A new 24-hex id, as Intercom gives contacts and companies."""
        return secrets.token_hex(12)

    def admin_json(self, admin: AdminSeed) -> Json:
        """https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/admins/admin"""
        return {"type": "admin", "id": admin.id, "name": admin.name, "email": admin.email, "job_title": None,
                "away_mode_enabled": False, "away_mode_reassign": False, "has_inbox_seat": True,
                "team_ids": [int(t) for t in admin.team_ids]}

    def author(self, kind: str, author_id: str) -> Json:
        """The author object of a part written by an admin, bot or contact."""
        if kind == "admin":
            admin = self.admins[author_id]
            return {"type": "admin", "id": admin.id, "name": admin.name, "email": admin.email}
        contact = self.contacts[author_id]
        return {"type": contact.role, "id": contact.id, "name": contact.name, "email": contact.email or ""}
