"""Fixtures: a sandbox portal, an in-process API client, a webhook receiver, and an installed app."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from relaydesk.sandbox.hubspot import HubSpotSandbox, RetryPolicy, SandboxConfig, create_app

API = "https://api.hubapi.com"
CHANNEL_WEBHOOK = "https://relaydesk.test/webhooks/hubspot/custom-channel?key=abc%3A1"
APP_WEBHOOK = "https://relaydesk.test/webhooks/hubspot/app"
REDIRECT = "https://relaydesk.test/oauth/hubspot/callback"
FAST_RETRIES = RetryPolicy(max_retries=3, first_delay_seconds=0.0, jitter_ratio=0.0, timeout_seconds=1.0)
WIDGET = {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "relaydesk-widget"}


@dataclass
class Received:
    """One webhook request the receiver got."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An ASGI app standing in for relaydesk's webhook endpoint; answers from `statuses`, then 200."""

    requests: list[Received] = field(default_factory=list)
    statuses: deque[int] = field(default_factory=deque)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = await request.body()
        self.requests.append(Received(request.method, str(request.url), dict(request.headers), body))
        status = self.statuses.popleft() if self.statuses else 200
        await Response(status_code=status)(scope, receive, send)

    def to(self, url_prefix: str) -> list[Received]:
        """Requests whose URL starts with a prefix."""
        return [r for r in self.requests if r.url.startswith(url_prefix)]


@dataclass
class Portal:
    """Test helpers that drive the sandbox through its HTTP API as a connector would."""

    client: httpx2.AsyncClient
    sandbox: HubSpotSandbox
    channel_webhook: str = CHANNEL_WEBHOOK
    app_webhook: str = APP_WEBHOOK
    redirect: str = REDIRECT

    async def install(self, scope: str | None = None) -> dict[str, Any]:
        """Run the OAuth install: authorize (auto-approved), then exchange the code for tokens."""
        config = self.sandbox.config
        authorize = await self.client.get(
            "/oauth/authorize",
            params={"client_id": config.client_id, "redirect_uri": REDIRECT,
                    "scope": scope or " ".join(config.app_scopes), "state": "s1"},
        )
        assert authorize.status_code == 302, authorize.text
        query = parse_qs(urlsplit(authorize.headers["location"]).query)
        assert query["state"] == ["s1"]
        response = await self.client.post(
            "/oauth/v1/token",
            data={"grant_type": "authorization_code", "client_id": config.client_id,
                  "client_secret": config.client_secret, "redirect_uri": REDIRECT, "code": query["code"][0]},
        )
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def register_channel(self) -> str:
        """Register a custom channel with the developer API key; returns its id."""
        response = await self.client.post(
            "/conversations/v3/custom-channels",
            params={"hapikey": self.sandbox.config.developer_api_key, "appId": self.sandbox.config.app_id},
            json={
                "name": "relaydesk AI chat",
                "webhookUrl": CHANNEL_WEBHOOK,
                "capabilities": {
                    "deliveryIdentifierTypes": ["HS_EMAIL_ADDRESS", "CHANNEL_SPECIFIC_OPAQUE_ID"],
                    "threadingModel": "INTEGRATION_THREAD_ID",
                    "allowOutgoingMessages": True,
                    "maxFileAttachmentCount": 2,
                    "maxFileAttachmentSizeBytes": 1000,
                },
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def connect_account(self, channel_id: str, inbox_id: str = "1001") -> str:
        """Connect the channel to an inbox; returns the channel account id."""
        response = await self.client.post(
            f"/conversations/v3/custom-channels/{channel_id}/channel-accounts",
            json={"name": "Website chat", "inboxId": inbox_id, "authorized": True, "deliveryIdentifier": WIDGET},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    @staticmethod
    def visitor_message(account_id: str, text: str, thread_key: str = "session-1", **extra: Any) -> dict[str, Any]:
        """An INCOMING message egg from the visitor Jane."""
        return {
            "channelAccountId": account_id,
            "integrationThreadId": thread_key,
            "messageDirection": "INCOMING",
            "text": text,
            "timestamp": "2026-01-10T12:00:00Z",
            "senders": [{"name": "Jane Doe",
                         "deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "jane@acme.com"}}],
            "recipients": [{"name": "Support", "deliveryIdentifier": WIDGET}],
            "attachments": [],
            **extra,
        }

    async def subscribe(self, event_type: str, property_name: str | None = None) -> None:
        """Point the app's webhooks at the receiver and subscribe to one event type."""
        params = {"hapikey": self.sandbox.config.developer_api_key}
        base = f"/webhooks/v3/{self.sandbox.config.app_id}"
        settings = await self.client.put(f"{base}/settings", params=params, json={"targetUrl": APP_WEBHOOK})
        assert settings.status_code == 200, settings.text
        body: dict[str, Any] = {"eventType": event_type, "active": True}
        if property_name is not None:
            body["propertyName"] = property_name
        created = await self.client.post(f"{base}/subscriptions", params=params, json=body)
        assert created.status_code == 201, created.text


@dataclass
class Installed:
    """An installed app: its tokens and the client that now sends the access token."""

    access_token: str
    refresh_token: str
    client: httpx2.AsyncClient


@dataclass
class Conversation:
    """A thread opened by a visitor over the custom channel."""

    channel_id: str
    account_id: str
    thread_id: str
    first_message: dict[str, Any]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(
        redirect_uris=(REDIRECT,),
        retry_policy=FAST_RETRIES,
        private_app_tokens={"pat-na1-contacts-only": ("crm.objects.contacts.read",)},
    )


@pytest.fixture
async def sandbox(config: SandboxConfig, receiver: Receiver) -> AsyncIterator[HubSpotSandbox]:
    webhook_client = httpx2.AsyncClient(transport=httpx2.ASGITransport(receiver))
    portal = HubSpotSandbox(config, webhook_client)
    yield portal
    await portal.webhooks.drain()
    await webhook_client.aclose()


@pytest.fixture
async def client(sandbox: HubSpotSandbox) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(sandbox=sandbox)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url=API) as http:
        yield http


@pytest.fixture
def portal(client: httpx2.AsyncClient, sandbox: HubSpotSandbox) -> Portal:
    return Portal(client, sandbox)


@pytest.fixture
async def installed(portal: Portal) -> Installed:
    tokens = await portal.install()
    portal.client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    return Installed(tokens["access_token"], tokens["refresh_token"], portal.client)


@pytest.fixture
async def conversation(installed: Installed, portal: Portal) -> Conversation:
    channel_id = await portal.register_channel()
    account_id = await portal.connect_account(channel_id)
    response = await portal.client.post(
        f"/conversations/v3/custom-channels/{channel_id}/messages",
        json=portal.visitor_message(account_id, "Hi, my invoice"),
    )
    assert response.status_code == 201, response.text
    message = response.json()
    return Conversation(channel_id, account_id, message["conversationsThreadId"], message)
