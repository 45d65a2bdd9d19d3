"""A small typed async client for the Freshchat API v2 endpoints relaydesk uses, over an injected httpx2 client.

Every request sends the bearer API token (https://developers.freshchat.com/api/#authentication). Errors come back as
FreshchatError with Freshchat's `status` name (`{"code", "status", "message"}`,
https://developers.freshchat.com/api/#status_and_error_messages); a 429 carries its Retry-After. Freshchat publishes
no request budget, so the client keeps none of its own and waits as long as a 429 asks.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import urlsplit

import httpx2

from relaydesk.core.http_delivery import parse_retry_after

Json = dict[str, Any]
PER_PAGE = 100
MAX_PAGES = 50
DEFAULT_RETRY_AFTER_S = 30.0


class FreshchatError(Exception):
    """A Freshchat answer other than 2xx, or no answer at all (`status` 0)."""

    def __init__(self, what: str, status: int, message: str, *, name: str | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(f"{what}: Freshchat answered {status}: {message}" if status else f"{what}: {message}")
        self.what = what
        self.status = status
        self.message = message
        self.name = name
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.status in (0, 408, 429) or self.status >= 500


class FreshchatClient:
    """The Freshchat API as relaydesk calls it; `base_url` ends in /v2."""

    def __init__(self, http: httpx2.AsyncClient, base_url: str, token: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.origin, self.base_path = f"{parts.scheme}://{parts.netloc}", parts.path
        self.token = token

    async def _json(self, method: str, path: str, what: str, *, json: Any = None,
                    params: dict[str, Any] | None = None) -> Json:
        """One call; `path` is below /v2, or a `links` href (which starts with /v2) when it names a next page."""
        url = f"{self.origin}{path}" if path.startswith(f"{self.base_path}/") else f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        try:
            response = await self.http.request(method, url, json=json, params=params, headers=headers)
        except httpx2.HTTPError as exc:
            raise FreshchatError(what, 0, f"no answer from Freshchat ({type(exc).__name__}: {exc})") from exc
        if not response.is_success:
            raise _error(what, response)
        body: Json = response.json() if response.content else {}
        return body

    async def _pages(self, path: str, key: str, what: str) -> AsyncGenerator[Json, None]:
        """Each item of a paged list, page by page, following `links.next_page` (or `link`) hrefs."""
        next_path: str | None = path
        query: dict[str, Any] | None = {"items_per_page": PER_PAGE, "page": 1}
        for _ in range(MAX_PAGES):
            if next_path is None:
                return
            body = await self._json("GET", next_path, what, params=query)
            for item in body.get(key) or []:
                yield dict(item)
            link = (body.get("links") or {}).get("next_page") or body.get("link") or {}
            next_path, query = (str(link["href"]), None) if link.get("href") else (None, None)

    async def _all(self, path: str, key: str, what: str) -> list[Json]:
        return [item async for item in self._pages(path, key, what)]

    async def agents(self) -> list[Json]:
        return await self._all("/agents", "agents", "list agents")

    async def channels(self) -> list[Json]:
        return await self._all("/channels", "channels", "list topics")

    async def user(self, user_id: str) -> Json:
        return await self._json("GET", f"/users/{user_id}", "read user")

    async def find_user(self, field: str, value: str) -> Json | None:
        """The first user whose `email` or `reference_id` is `value`."""
        body = await self._json("GET", "/users", f"find user by {field}", params={field: value})
        found = body.get("users") or []
        return dict(found[0]) if found else None

    async def create_user(self, fields: Json) -> Json:
        return await self._json("POST", "/users", "create user", json=fields)

    async def user_conversations(self, user_id: str) -> list[Json]:
        body = await self._json("GET", f"/users/{user_id}/conversations", "list the user's conversations")
        return [dict(c) for c in body.get("conversations") or []]

    async def conversation(self, conversation_id: str) -> Json:
        return await self._json("GET", f"/conversations/{conversation_id}", "read conversation")

    async def create_conversation(self, fields: Json) -> Json:
        return await self._json("POST", "/conversations", "create conversation", json=fields)

    async def update_conversation(self, conversation_id: str, fields: Json, what: str) -> Json:
        return await self._json("PUT", f"/conversations/{conversation_id}", what, json=fields)

    def newest_messages(self, conversation_id: str) -> AsyncGenerator[Json, None]:
        """The conversation's messages, newest first as Freshchat lists them, read a page at a time."""
        return self._pages(f"/conversations/{conversation_id}/messages", "messages", "list messages")

    async def messages(self, conversation_id: str) -> list[Json]:
        return [message async for message in self.newest_messages(conversation_id)]

    async def post_message(self, conversation_id: str, fields: Json, what: str) -> Json:
        return await self._json("POST", f"/conversations/{conversation_id}/messages", what, json=fields)


def _error(what: str, response: httpx2.Response) -> FreshchatError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    message = str(body.get("message") or response.text[:300] or response.reason_phrase)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if response.status_code == 429 and retry_after is None:
        retry_after = DEFAULT_RETRY_AFTER_S
    return FreshchatError(what, response.status_code, message, name=body.get("status"), retry_after_s=retry_after)
