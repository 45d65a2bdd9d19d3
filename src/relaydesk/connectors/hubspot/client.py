"""A small typed async client for the HubSpot endpoints relaydesk uses, over an injected httpx2.AsyncClient.

Auth is a bearer OAuth access token (refreshed through `tokens` when it expires) except for the developer endpoints,
which take the developer API key as `hapikey`. Every call waits for the integration's client-side rate limits first
(https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines: 110 requests per 10 s per installed
account for OAuth apps; CRM search 5 per second, shared). Errors come back as HubSpotError with HubSpot's category.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx2

from relaydesk.connectors.ratelimit import Limits, RollingLimit
from relaydesk.core.http_delivery import parse_retry_after

Json = dict[str, Any]

EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
POLICY_WAIT_S = {"TEN_SECONDLY_ROLLING": 10.0, "SECONDLY": 1.0, "DAILY": 3600.0}

LIMITS = Limits(lambda: {"burst": RollingLimit(100, 10.0), "search": RollingLimit(4, 1.0)})


class HubSpotError(Exception):
    """A HubSpot answer other than 2xx, or no answer at all (`status` 0)."""

    def __init__(
        self,
        what: str,
        status: int,
        message: str,
        *,
        category: str | None = None,
        retry_after_s: float | None = None,
        body: Json | None = None,
    ) -> None:
        super().__init__(f"{what}: HubSpot answered {status}: {message}" if status else f"{what}: {message}")
        self.what = what
        self.status = status
        self.message = message
        self.category = category
        self.retry_after_s = retry_after_s
        self.body = body or {}

    @property
    def retryable(self) -> bool:
        return self.status in (0, 408, 423, 429) or self.status >= 500

    @property
    def existing_id(self) -> str | None:
        """The id HubSpot names in a 409 "already exists" answer."""
        found = EXISTING_ID.search(self.message)
        return found.group(1) if found else None

    @property
    def required_scopes(self) -> list[str]:
        """The scopes a 403 MISSING_SCOPES answer asks for."""
        scopes: list[str] = []
        for error in self.body.get("errors") or []:
            context = error.get("context") or {}
            scopes.extend(context.get("requiredGranularScopes") or context.get("requiredScopes") or [])
        return scopes


@dataclass(frozen=True, slots=True)
class Tokens:
    """An OAuth token answer."""

    access_token: str
    refresh_token: str
    expires_in: int
    hub_id: int | None
    scopes: tuple[str, ...]


TokenSource = Callable[[bool], Awaitable[str]]  # (force refresh) -> a valid access token


class HubSpotClient:
    """The HubSpot API as relaydesk calls it."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        base_url: str,
        *,
        tokens: TokenSource | None = None,
        limit_key: str = "",
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.limits: dict[str, RollingLimit] = LIMITS.of(limit_key or base_url)

    async def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, Any] | None = None,
        auth: bool = True,
        search: bool = False,
    ) -> httpx2.Response:
        for attempt in (1, 2):
            await self.limits["search" if search else "burst"].acquire(what)
            headers: dict[str, str] = {}
            if auth:
                if self.tokens is None:
                    raise HubSpotError(what, 0, "HubSpot is not connected yet: connect the account first")
                headers["Authorization"] = f"Bearer {await self.tokens(attempt == 2)}"
            try:
                response = await self.http.request(
                    method, f"{self.base_url}{path}", json=json, params=params, data=data, files=files,
                    headers=headers,
                )
            except httpx2.HTTPError as exc:
                raise HubSpotError(what, 0, f"no answer from HubSpot ({type(exc).__name__}: {exc})") from exc
            if response.is_success:
                return response
            error = _error(what, response)
            if auth and attempt == 1 and error.category == "EXPIRED_AUTHENTICATION":
                continue  # the token expired between our clock and HubSpot's: refresh once and repeat
            raise error
        raise AssertionError("unreachable")

    async def _json(self, method: str, path: str, what: str, **options: Any) -> Json:
        response = await self._send(method, path, what, **options)
        if not response.content:
            return {}
        body: Json = response.json()
        return body

    # OAuth -------------------------------------------------------------------------------------------------------

    async def token(self, form: dict[str, str]) -> Tokens:
        """POST /oauth/v3/token (https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide)."""
        body = await self._json("POST", "/oauth/v3/token", "exchange OAuth token", data=form, auth=False)
        return Tokens(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_in=int(body.get("expires_in") or 1800),
            hub_id=int(body["hub_id"]) if body.get("hub_id") is not None else None,
            scopes=tuple(body.get("scopes") or ()),
        )

    async def access_token_info(self, token: str) -> Json:
        """GET /oauth/v1/access-tokens/{token}: the portal, user and scopes behind an access token."""
        return await self._json("GET", f"/oauth/v1/access-tokens/{token}", "read access token", auth=False)

    # Custom channels (https://developers.hubspot.com/docs/api-reference/2026-03/conversations/custom-channels/guide)

    async def list_channels(self, hapikey: str, app_id: int) -> list[Json]:
        body = await self._json("GET", "/conversations/v3/custom-channels", "list custom channels",
                                params={"hapikey": hapikey, "appId": app_id, "limit": 100}, auth=False)
        return list(body.get("results") or [])

    async def create_channel(self, hapikey: str, app_id: int, channel: Json) -> Json:
        return await self._json("POST", "/conversations/v3/custom-channels", "register custom channel",
                                params={"hapikey": hapikey, "appId": app_id}, json=channel, auth=False)

    async def update_channel(self, hapikey: str, channel_id: str, changes: Json) -> Json:
        return await self._json("PATCH", f"/conversations/v3/custom-channels/{channel_id}", "update custom channel",
                                params={"hapikey": hapikey}, json=changes, auth=False)

    async def list_channel_accounts(self, channel_id: str) -> list[Json]:
        body = await self._json("GET", f"/conversations/v3/custom-channels/{channel_id}/channel-accounts",
                                "list channel accounts", params={"limit": 100})
        return list(body.get("results") or [])

    async def create_channel_account(self, channel_id: str, account: Json) -> Json:
        return await self._json("POST", f"/conversations/v3/custom-channels/{channel_id}/channel-accounts",
                                "connect channel account", json=account)

    async def publish_message(self, channel_id: str, egg: Json) -> Json:
        return await self._json("POST", f"/conversations/v3/custom-channels/{channel_id}/messages",
                                "publish message", json=egg)

    async def update_message_status(self, channel_id: str, message_id: str, status: str) -> Json:
        return await self._json("PATCH", f"/conversations/v3/custom-channels/{channel_id}/messages/{message_id}",
                                "report message status", json={"statusType": status})

    # Conversations (https://developers.hubspot.com/docs/guides/api/conversations/inbox-and-messages) -------------

    async def list_inboxes(self) -> list[Json]:
        body = await self._json("GET", "/conversations/v3/conversations/inboxes", "list inboxes",
                                params={"limit": 100})
        return list(body.get("results") or [])

    async def get_thread(self, thread_id: str, *, with_ticket: bool = False) -> Json:
        params = {"association": "TICKET"} if with_ticket else None
        return await self._json("GET", f"/conversations/v3/conversations/threads/{thread_id}", "read thread",
                                params=params)

    async def thread_messages(self, thread_id: str) -> list[Json]:
        messages: list[Json] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 500, **({"after": after} if after else {})}
            body = await self._json("GET", f"/conversations/v3/conversations/threads/{thread_id}/messages",
                                    "read thread messages", params=params)
            messages.extend(body.get("results") or [])
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return messages

    async def add_comment(self, thread_id: str, text: str, rich_text: str) -> Json:
        return await self._json("POST", f"/conversations/v3/conversations/threads/{thread_id}/messages",
                                "post internal comment",
                                json={"type": "COMMENT", "text": text, "richText": rich_text, "attachments": []})

    async def set_thread_status(self, thread_id: str, status: str) -> Json:
        return await self._json("PATCH", f"/conversations/v3/conversations/threads/{thread_id}",
                                f"set thread {status.lower()}", json={"status": status})

    async def assign_thread(self, thread_id: str, actor_id: str) -> Json:
        return await self._json("PUT", f"/conversations/conversations/v3/threads/{thread_id}/assignee",
                                "assign thread", json={"actorId": actor_id})

    # CRM ---------------------------------------------------------------------------------------------------------

    async def find_contact_by_email(self, email: str) -> Json | None:
        """POST /crm/v3/objects/contacts/search with email EQ (search has its own, lower rate limit)."""
        body = await self._json(
            "POST", "/crm/v3/objects/contacts/search", "search contact",
            json={"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}],
                  "properties": ["email", "firstname", "lastname"], "limit": 1},
            search=True,
        )
        results = body.get("results") or []
        return dict(results[0]) if results else None

    async def create_contact(self, properties: dict[str, str]) -> Json:
        return await self._json("POST", "/crm/v3/objects/contacts", "create contact",
                                json={"properties": properties})

    async def create_ticket(self, properties: dict[str, str], associations: list[Json]) -> Json:
        return await self._json("POST", "/crm/v3/objects/tickets", "create ticket",
                                json={"properties": properties, "associations": associations})

    async def update_ticket(self, ticket_id: str, properties: dict[str, str]) -> Json:
        return await self._json("PATCH", f"/crm/v3/objects/tickets/{ticket_id}", "update ticket",
                                json={"properties": properties})

    async def ticket_pipelines(self) -> list[Json]:
        body = await self._json("GET", "/crm/v3/pipelines/tickets", "list ticket pipelines")
        return list(body.get("results") or [])

    async def owners(self) -> list[Json]:
        body = await self._json("GET", "/crm/v3/owners", "list users", params={"limit": 500})
        return list(body.get("results") or [])

    async def upload_file(self, name: str, content: bytes, content_type: str, folder: str) -> Json:
        """POST /files/v3/files (https://developers.hubspot.com/docs/api-reference/files-files-v3/guide)."""
        options = '{"access":"PRIVATE","overwrite":true,"duplicateValidationStrategy":"NONE"}'
        return await self._json(
            "POST", "/files/v3/files", "upload file",
            data={"folderPath": folder, "fileName": name, "options": options},
            files={"file": (name, content, content_type)},
        )

    # App webhooks (https://developers.hubspot.com/docs/api-reference/2026-03/webhooks/guide) ---------------------

    async def put_webhook_target(self, hapikey: str, app_id: int, url: str) -> Json:
        return await self._json("PUT", f"/webhooks/v3/{app_id}/settings", "set webhook URL",
                                params={"hapikey": hapikey}, json={"targetUrl": url}, auth=False)

    async def subscriptions(self, hapikey: str, app_id: int) -> list[Json]:
        body = await self._json("GET", f"/webhooks/v3/{app_id}/subscriptions", "list webhook subscriptions",
                                params={"hapikey": hapikey}, auth=False)
        return list(body.get("results") or [])

    async def subscribe(self, hapikey: str, app_id: int, event_type: str, property_name: str) -> Json:
        return await self._json("POST", f"/webhooks/v3/{app_id}/subscriptions", "subscribe to webhook",
                                params={"hapikey": hapikey},
                                json={"eventType": event_type, "propertyName": property_name, "active": True},
                                auth=False)


def authorize_url(app_base_url: str, client_id: str, redirect_uri: str, scopes: tuple[str, ...], state: str) -> str:
    """Where an admin installs the app in their portal (https://developers.hubspot.com/docs/api/oauth-quickstart-guide)."""
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "scope": " ".join(scopes),
                       "state": state})
    return f"{app_base_url.rstrip('/')}/oauth/authorize?{query}"


def _error(what: str, response: httpx2.Response) -> HubSpotError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = str(body.get("message") or response.text[:300] or response.reason_phrase)
    category = body.get("category") or body.get("errorType") or body.get("status")
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if response.status_code == 429 and retry_after is None:
        retry_after = POLICY_WAIT_S.get(str(body.get("policyName") or "").upper(), 10.0)
    return HubSpotError(what, response.status_code, message, category=str(category) if category else None,
                        retry_after_s=retry_after, body=body)
