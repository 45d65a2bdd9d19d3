"""A small typed async client for the Intercom REST API 2.11 endpoints relaydesk uses, over an injected httpx2 client.

Every request sends `Intercom-Version: 2.11` and the bearer access token, and waits for the integration's client-side
rate limit first (https://developers.intercom.com/docs/references/rest-api/errors/rate-limiting: 10,000 calls a
minute per app, spread over 10-second windows). Errors come back as IntercomError with Intercom's error code.
"""

from __future__ import annotations

import re
from typing import Any

import httpx2

from relaydesk.connectors.ratelimit import Limits, RollingLimit
from relaydesk.core.http_delivery import parse_retry_after

Json = dict[str, Any]
VERSION = "2.11"
EXISTING_ID = re.compile(r"id=(\w+)")
LIMITS = Limits(lambda: {"burst": RollingLimit(1_500, 10.0)})


class IntercomError(Exception):
    """An Intercom answer other than 2xx, or no answer at all (`status` 0)."""

    def __init__(self, what: str, status: int, message: str, *, code: str | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(f"{what}: Intercom answered {status}: {message}" if status else f"{what}: {message}")
        self.what = what
        self.status = status
        self.message = message
        self.code = code
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.status in (0, 408, 429) or self.status >= 500

    @property
    def existing_id(self) -> str | None:
        """The contact id a 409 "already exists with id=…" answer names."""
        found = EXISTING_ID.search(self.message) if self.status == 409 else None
        return found.group(1) if found else None


class IntercomClient:
    """The Intercom API as relaydesk calls it."""

    def __init__(self, http: httpx2.AsyncClient, base_url: str, token: str, *, limit_key: str = "") -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.limits: dict[str, RollingLimit] = LIMITS.of(limit_key or base_url)

    async def _json(self, method: str, path: str, what: str, *, json: Any = None,
                    params: dict[str, Any] | None = None) -> Json:
        await self.limits["burst"].acquire(what)
        headers = {"Authorization": f"Bearer {self.token}", "Intercom-Version": VERSION, "Accept": "application/json"}
        try:
            response = await self.http.request(method, f"{self.base_url}{path}", json=json, params=params,
                                               headers=headers)
        except httpx2.HTTPError as exc:
            raise IntercomError(what, 0, f"no answer from Intercom ({type(exc).__name__}: {exc})") from exc
        if not response.is_success:
            raise _error(what, response)
        body: Json = response.json() if response.content else {}
        return body

    async def me(self) -> Json:
        """GET /me: the token's admin and its workspace (app id and region)."""
        return await self._json("GET", "/me", "identify the token's admin")

    async def admins(self) -> list[Json]:
        return list((await self._json("GET", "/admins", "list admins")).get("admins") or [])

    async def teams(self) -> list[Json]:
        return list((await self._json("GET", "/teams", "list teams")).get("teams") or [])

    async def tags(self) -> list[Json]:
        return list((await self._json("GET", "/tags", "list tags")).get("data") or [])

    async def create_tag(self, name: str) -> Json:
        return await self._json("POST", "/tags", "create tag", json={"name": name})

    async def find_contact(self, field: str, value: str) -> Json | None:
        body = await self._json("POST", "/contacts/search", "search contact",
                                json={"query": {"field": field, "operator": "=", "value": value},
                                      "pagination": {"per_page": 5}})
        found = body.get("data") or []
        return dict(found[0]) if found else None

    async def create_contact(self, fields: Json) -> Json:
        return await self._json("POST", "/contacts", "create contact", json=fields)

    async def contact(self, contact_id: str) -> Json:
        return await self._json("GET", f"/contacts/{contact_id}", "read contact")

    async def contact_companies(self, contact_id: str) -> list[Json]:
        """GET /contacts/{id}/companies: the companies a contact is attached to, with their custom attributes."""
        body = await self._json("GET", f"/contacts/{contact_id}/companies", "read the contact's companies")
        return list(body.get("companies") or [])

    async def articles(self, page: int, per_page: int) -> Json:
        """GET /articles: one page of help-center articles, most recently updated first."""
        return await self._json("GET", "/articles", "list articles", params={"page": page, "per_page": per_page})

    async def search_conversations(self, query: Json, per_page: int, starting_after: str | None) -> Json:
        """POST /conversations/search: one page of matching conversations (without their parts)."""
        pagination: Json = {"per_page": per_page, **({"starting_after": starting_after} if starting_after else {})}
        return await self._json("POST", "/conversations/search", "search conversations",
                                json={"query": query, "pagination": pagination})

    async def create_conversation(self, contact_id: str, body: str) -> Json:
        return await self._json("POST", "/conversations", "create conversation",
                                json={"from": {"type": "user", "id": contact_id}, "body": body})

    async def conversation(self, conversation_id: str) -> Json:
        return await self._json("GET", f"/conversations/{conversation_id}", "read conversation")

    async def admin_reply(self, conversation_id: str, admin_id: str, body: str, *, note: bool = False,
                          attachment_urls: list[str] | None = None) -> Json:
        files = {"attachment_urls": attachment_urls} if attachment_urls else {}
        return await self._json("POST", f"/conversations/{conversation_id}/reply",
                                "post note" if note else "reply as the AI admin",
                                json={"message_type": "note" if note else "comment", "type": "admin",
                                      "admin_id": admin_id, "body": body, **files})

    async def user_reply(self, conversation_id: str, contact_id: str, body: str, *,
                         attachment_urls: list[str] | None = None) -> Json:
        files = {"attachment_urls": attachment_urls} if attachment_urls else {}
        return await self._json("POST", f"/conversations/{conversation_id}/reply", "reply as the visitor",
                                json={"message_type": "comment", "type": "user", "intercom_user_id": contact_id,
                                      "body": body, **files})

    async def assign(self, conversation_id: str, admin_id: str, kind: str, assignee_id: str) -> Json:
        return await self._json("POST", f"/conversations/{conversation_id}/parts", "assign conversation",
                                json={"message_type": "assignment", "type": kind, "admin_id": admin_id,
                                      "assignee_id": assignee_id})

    async def set_state(self, conversation_id: str, admin_id: str, state: str) -> Json:
        message_type = "close" if state == "closed" else "open"
        return await self._json("POST", f"/conversations/{conversation_id}/parts", f"{message_type} conversation",
                                json={"message_type": message_type, "type": "admin", "admin_id": admin_id})

    async def tag_conversation(self, conversation_id: str, tag_id: str, admin_id: str) -> Json:
        return await self._json("POST", f"/conversations/{conversation_id}/tags", "tag conversation",
                                json={"id": tag_id, "admin_id": admin_id})


def _error(what: str, response: httpx2.Response) -> IntercomError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    errors = (body.get("errors") if isinstance(body, dict) else None) or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    message = str(first.get("message") or response.text[:300] or response.reason_phrase)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if response.status_code == 429 and retry_after is None:
        retry_after = 10.0
    return IntercomError(what, response.status_code, message, code=first.get("code"), retry_after_s=retry_after)
