"""The connector contract: what every helpdesk connector must do, and a driver per helpdesk to observe it.

A Stack is relaydesk served on a loopback port (so widget streams really stream) next to the helpdesk's sandbox,
also on a loopback port; relaydesk calls the sandbox over HTTP, and the sandbox delivers its webhooks to relaydesk
through an httpx2 client pointed at the relaydesk app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx2
import pytest

from relaydesk.connectors.install import install
from relaydesk.connectors.intercom.webhooks import plain_text
from relaydesk.core.conversations import NewMessage
from relaydesk.sandbox.creatio import CreatioSandbox
from relaydesk.sandbox.creatio import create_app as create_creatio_app
from relaydesk.sandbox.freshchat import FreshchatSandbox
from relaydesk.sandbox.freshchat import create_app as create_freshchat_app
from relaydesk.sandbox.hubspot import HubSpotSandbox, RetryPolicy, SandboxConfig
from relaydesk.sandbox.hubspot import create_app as create_hubspot_app
from relaydesk.sandbox.intercom import IntercomSandbox
from relaydesk.sandbox.intercom import create_app as create_intercom_app
from relaydesk.sandbox.salesforce import SalesforceSandbox
from relaydesk.sandbox.salesforce import create_app as create_salesforce_app
from relaydesk.web import runtime as runtime_module
from relaydesk.web.app import create_app
from tests.conftest import LiveServer, make_settings
from tests.helpers import Visitor, api

PUBLIC_URL = "http://relaydesk.test"
FAST_WEBHOOK_RETRIES = RetryPolicy(max_retries=3, first_delay_seconds=0.05, jitter_ratio=0.0, timeout_seconds=5.0)


@dataclass
class Handoff:
    """What a handoff left in the helpdesk, as the driver reads it from the sandbox."""

    conversation_id: str
    transcript: list[str]
    note: str
    ticket_id: str | None
    contact_id: str | None


class Driver(Protocol):
    """How the contract observes and acts on one helpdesk's sandbox."""

    name: str
    link_kind: str  # the session link that names the helpdesk's conversation
    makes_tickets: bool

    def settings(self) -> dict[str, Any]: ...

    def wrong_credentials(self) -> tuple[dict[str, Any], str, str]:
        """Settings with one bad credential, a fragment of the reason expected, and the setting named."""
        ...

    async def connect(self, stack: Stack) -> None: ...

    def handoff(self, session_id: str) -> Handoff | None: ...

    def rep_reply(self, session_id: str, text: str) -> None: ...

    def close_in_helpdesk(self, session_id: str) -> None: ...

    def is_closed(self, session_id: str) -> bool: ...

    def outage(self, seconds: float) -> Callable[[float], None]:
        """Start an outage on an injectable clock; the returned function moves that clock forward."""
        ...

    def webhook_requests(self) -> list[tuple[str, dict[str, str], bytes]]:
        """(url, headers, body) of every webhook the sandbox sent relaydesk."""
        ...

    async def drain(self) -> None: ...


@dataclass
class Stack:
    """relaydesk with one workspace, plus the helpdesk sandbox its integration talks to."""

    client: httpx2.AsyncClient
    app: Any
    workspace_id: str
    widget_token: str
    api_key: str
    helpdesk_url: str
    webhook_client: httpx2.AsyncClient
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def admin(self) -> dict[str, str]:
        return api(self.api_key)

    @property
    def conversations(self) -> Any:
        return self.app.state.runtime.conversations

    async def visitor(self, **contact: Any) -> Visitor:
        response = await self.client.post("/api/widget/v1/contacts", json=contact,
                                          headers={"X-Widget-Token": self.widget_token})
        assert response.status_code == 201, response.text
        body = response.json()
        return Visitor(self.widget_token, body["token"], body["contact"]["id"])

    async def verified_visitor(self, email: str, name: str) -> Visitor:
        response = await self.client.post("/api/v1/contacts/authenticate", json={"email": email, "name": name},
                                          headers=self.admin)
        assert response.status_code == 200, response.text
        body = response.json()
        return Visitor(self.widget_token, body["token"], body["contact"]["id"])

    async def chat(self, visitor: Visitor, *turns: tuple[str, str]) -> str:
        """A widget session with visitor turns posted through the widget API and AI turns through the core."""
        response = await self.client.post("/api/widget/v1/sessions", json={}, headers=visitor.headers)
        assert response.status_code == 201, response.text
        session_id = str(response.json()["id"])
        for author, text in turns:
            await self.say(visitor, session_id, author, text)
            await self.settled(session_id, allow_none=True)  # the AI may answer in between, as it would live
        return session_id

    async def say(self, visitor: Visitor, session_id: str, author: str, text: str, **extra: Any) -> None:
        if author == "visitor":
            response = await self.client.post(f"/api/widget/v1/sessions/{session_id}/messages",
                                              json={"text": text, **extra}, headers=visitor.headers)
            assert response.status_code == 201, response.text
        else:
            await self.conversations.post_message(self.workspace_id, session_id, NewMessage(author, text))

    async def hand_off(self, session_id: str, summary: str = "Invoice charged twice") -> None:
        """Hand the session off through the admin API (unless the AI already did)."""
        if (await self.session(session_id))["session"]["state"] != "ai":
            return
        response = await self.client.post(f"/api/v1/sessions/{session_id}/handoff", headers=self.admin,
                                          json={"reason": "explicit_request", "topic": "billing", "summary": summary})
        assert response.status_code == 200, response.text

    async def session(self, session_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/sessions/{session_id}", headers=self.admin)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def messages(self, session_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"/api/v1/sessions/{session_id}/messages", headers=self.admin)
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    async def deliveries(self, session_id: str) -> list[dict[str, Any]]:
        response = await self.client.get("/api/v1/deliveries", params={"session_id": session_id},
                                         headers=self.admin)
        deliveries: list[dict[str, Any]] = response.json()["deliveries"]
        return deliveries

    async def transcript(self, session_id: str) -> list[str]:
        """What the visitor and the AI said, as relaydesk holds it (a component's text stands for it)."""
        return [m["text"] or (m["component"] or {}).get("text", "") for m in await self.messages(session_id)
                if m["author"] in ("visitor", "ai") and m["kind"] == "text"]

    async def settled(
        self, session_id: str, within_s: float = 10.0, *, allow_none: bool = False
    ) -> list[dict[str, Any]]:
        """Wait until the session's connector deliveries are all done (or dead), then return them."""
        deadline = time.monotonic() + within_s
        while True:
            deliveries = await self.deliveries(session_id)
            connector = [d for d in deliveries if d["kind"].startswith("connector.")]
            if (connector or allow_none) and all(d["state"] in ("done", "dead") for d in deliveries):
                return connector
            assert time.monotonic() < deadline, f"deliveries still open: {deliveries}"
            await asyncio.sleep(0.05)

    async def wait_for(self, predicate: Callable[[], Any], within_s: float = 10.0) -> Any:
        deadline = time.monotonic() + within_s
        while True:
            result = predicate()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            assert time.monotonic() < deadline, "condition not met in time"
            await asyncio.sleep(0.05)


async def read_stream(client: httpx2.AsyncClient, url: str, headers: dict[str, str],
                      found: asyncio.Queue[dict[str, Any]]) -> None:
    """Push every message event of a widget stream onto a queue until cancelled."""
    current: dict[str, str] = {}
    async with client.stream("GET", url, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line:
                name, _, value = line.partition(":")
                current[name] = value.lstrip()
                continue
            if current.get("event") == "message":
                await found.put(json.loads(current["data"]))
            current = {}


def outage_on_a_clock(faults: Any, seconds: float) -> Callable[[float], None]:
    """Start a sandbox outage on an injectable clock; the returned function moves that clock forward."""
    now = [1_000.0]
    faults.clock = lambda: now[0]
    faults.outage(seconds)

    def advance(by: float) -> None:
        now[0] += by

    return advance


class SandboxDriver:
    """What the drivers share: the sandbox, served by its package's `create_app` (`serve`), with its faults on an
    injectable clock; the workspace connects by saving the driver's `settings()` as its integration."""

    name: str
    serve: Callable[..., Any]

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.url = ""

    async def save_settings(self, stack: Stack) -> dict[str, Any]:
        """Save `settings()` as the workspace's integration, which must be active at once; the answer."""
        saved = await stack.client.put(f"/api/v1/integrations/{self.name}", headers=stack.admin,
                                       json={"settings": self.settings()})  # type: ignore[attr-defined]
        assert saved.status_code == 200, saved.text
        assert saved.json()["status"] == "active", saved.json()
        body: dict[str, Any] = saved.json()
        return body

    def outage(self, seconds: float) -> Callable[[float], None]:
        return outage_on_a_clock(self.sandbox.faults, seconds)

    def webhook_requests(self) -> list[tuple[str, dict[str, str], bytes]]:
        return [(d.url, d.headers, d.body) for d in self.sandbox.deliveries]

    async def drain(self) -> None:
        await self.sandbox.drain()

    def app(self) -> Any:
        return self.serve(sandbox=self.sandbox)


class HubSpotDriver(SandboxDriver):
    """The contract's view of the HubSpot sandbox."""

    name = "hubspot"
    link_kind = "thread"
    makes_tickets = True
    serve = staticmethod(create_hubspot_app)

    def __init__(self, webhook_client: httpx2.AsyncClient) -> None:
        super().__init__(HubSpotSandbox(SandboxConfig(retry_policy=FAST_WEBHOOK_RETRIES), webhook_client))

    def settings(self) -> dict[str, Any]:
        config = self.sandbox.config
        return {
            "app_id": config.app_id, "client_id": config.client_id, "client_secret": config.client_secret,
            "developer_api_key": config.developer_api_key, "inbox_id": "1001", "default_assignee": "7001",
            "api_base_url": self.url, "app_base_url": self.url,
        }

    def wrong_credentials(self) -> tuple[dict[str, Any], str, str]:
        return {**self.settings(), "developer_api_key": "not-the-key"}, "developer API key", "developer_api_key"

    async def connect(self, stack: Stack) -> None:
        saved = await stack.client.put("/api/v1/integrations/hubspot", headers=stack.admin,
                                       json={"settings": self.settings()})
        assert saved.status_code == 200, saved.text
        authorize = saved.json()["authorize_url"]
        async with httpx2.AsyncClient() as browser:
            granted = await browser.get(authorize, follow_redirects=False)
        assert granted.status_code == 302, granted.text
        callback = urlsplit(granted.headers["location"])
        connected = await stack.client.get(f"{callback.path}?{callback.query}")
        assert connected.status_code == 200, connected.text
        assert connected.json()["status"] == "active", connected.json()

    def thread(self, session_id: str) -> Any:
        return next((t for t in self.sandbox.state.threads.values()
                     if t.integration_thread_id == f"relaydesk-{session_id}"), None)

    def handoff(self, session_id: str) -> Handoff | None:
        thread = self.thread(session_id)
        if thread is None:
            return None
        comments = [m["text"] for m in thread.messages if m["type"] == "COMMENT"]
        return Handoff(
            conversation_id=thread.id,
            transcript=[m["text"] for m in thread.messages if m["type"] == "MESSAGE"],
            note=comments[0] if comments else "",
            ticket_id=thread.ticket_id,
            contact_id=thread.associated_contact_id if thread.associated_contact_id in self.sandbox.state.contacts
            else None,
        )

    def rep_reply(self, session_id: str, text: str) -> None:
        self.sandbox.send_rep_message(self.thread(session_id).id, text, actor_id=self.sandbox.default_rep_actor,
                                      source="CRM_UI")

    def close_in_helpdesk(self, session_id: str) -> None:
        self.sandbox.set_status(self.thread(session_id).id, "CLOSED", source="CRM_UI")

    def is_closed(self, session_id: str) -> bool:
        return bool(self.thread(session_id).status == "CLOSED")

    def webhook_requests(self) -> list[tuple[str, dict[str, str], bytes]]:
        sent = []
        for delivery in self.sandbox.webhooks.deliveries:
            for attempt in delivery.attempts:
                sent.append((delivery.url, attempt.headers, attempt.body))
        return sent

    async def drain(self) -> None:
        await self.sandbox.webhooks.drain()


class IntercomDriver(SandboxDriver):
    """The contract's view of the Intercom sandbox."""

    name = "intercom"
    link_kind = "conversation"
    makes_tickets = False
    rep = "991267002"
    serve = staticmethod(create_intercom_app)

    def __init__(self, webhook_client: httpx2.AsyncClient) -> None:
        super().__init__(IntercomSandbox(webhook_client=webhook_client))

    def settings(self) -> dict[str, Any]:
        config = self.sandbox.config
        return {"access_token": config.access_token, "client_secret": config.client_secret,
                "ai_admin_id": config.owner_admin_id, "assignment": "team", "assignee_team_id": "5001",
                "api_base_url": self.url, "app_base_url": self.url}

    def wrong_credentials(self) -> tuple[dict[str, Any], str, str]:
        return {**self.settings(), "access_token": "not-the-token"}, "access token", "access_token"

    async def connect(self, stack: Stack) -> None:
        self.sandbox.webhook_url = (await self.save_settings(stack))["webhook_url"]

    def conversation(self, session_id: str) -> Any:
        marker = f"/app/sessions/{session_id})"
        return next((c for c in self.sandbox.state.conversations.values() if marker in c.source["body"]), None)

    def handoff(self, session_id: str) -> Handoff | None:
        conversation = self.conversation(session_id)
        if conversation is None:
            return None
        notes = [plain_text(p.body) for p in conversation.parts if p.part_type == "note"]
        return Handoff(
            conversation_id=conversation.id,
            transcript=[plain_text(p.body) for p in conversation.parts if p.part_type == "comment"],
            note=notes[0] if notes else "",
            ticket_id=None,
            contact_id=conversation.contact_id,
        )

    def rep_reply(self, session_id: str, text: str) -> None:
        self.sandbox.admin_reply(self.conversation(session_id), self.rep, text)

    def close_in_helpdesk(self, session_id: str) -> None:
        self.sandbox.set_state(self.conversation(session_id), self.rep, "closed")

    def is_closed(self, session_id: str) -> bool:
        return bool(self.conversation(session_id).state == "closed")



class CreatioDriver(SandboxDriver):
    """The contract's view of the Creatio sandbox."""

    name = "creatio"
    link_kind = "case"
    makes_tickets = False  # the case is the conversation
    serve = staticmethod(create_creatio_app)

    def __init__(self, webhook_client: httpx2.AsyncClient) -> None:
        super().__init__(CreatioSandbox(webhook_client=webhook_client))

    def settings(self) -> dict[str, Any]:
        config = self.sandbox.config
        return {"instance_url": self.url, "auth_mode": "oauth", "token_url": f"{self.url}/connect/token",
                "client_id": config.client_id, "client_secret": config.client_secret,
                "default_owner_id": config.reps[0].contact_id, "group_id": config.groups[0].group_id}

    def wrong_credentials(self) -> tuple[dict[str, Any], str, str]:
        return {**self.settings(), "client_secret": "not-the-secret"}, "client secret", "client_secret"

    async def connect(self, stack: Stack) -> None:
        self.sandbox.processes.webhook_url = (await self.save_settings(stack))["webhook_url"]

    def case(self, session_id: str) -> Any:
        return next((c for c in self.sandbox.tables["Case"].values() if session_id in (c["Notes"] or "")), None)

    def handoff(self, session_id: str) -> Handoff | None:
        case = self.case(session_id)
        if case is None:
            return None
        activities = [a for a in self.sandbox.tables["Activity"].values() if a["CaseId"] == case["Id"]]
        notes = [a["Notes"] for a in activities if a["Title"].startswith("relaydesk · handoff")]
        return Handoff(
            conversation_id=case["Id"],
            transcript=[a["Notes"] for a in activities if a["Title"].startswith("relaydesk · #")],
            note=notes[0] if notes else "",
            ticket_id=None,
            contact_id=case["ContactId"] if case["ContactId"] in self.sandbox.tables["Contact"] else None,
        )

    def rep_reply(self, session_id: str, text: str) -> None:
        self.sandbox.add_rep_activity(self.case(session_id)["Id"], text)

    def close_in_helpdesk(self, session_id: str) -> None:
        self.sandbox.set_status(self.case(session_id)["Id"], "Resolved")

    def is_closed(self, session_id: str) -> bool:
        return self.sandbox.is_resolved(self.case(session_id)["StatusId"])

    def webhook_requests(self) -> list[tuple[str, dict[str, str], bytes]]:
        return [(d.url, d.headers, d.body) for d in self.sandbox.processes.deliveries]


class FreshchatDriver(SandboxDriver):
    """The contract's view of the Freshchat sandbox."""

    name = "freshchat"
    link_kind = "conversation"
    makes_tickets = False
    rep = "2f6a8b1e-0b59-4b1b-9d62-000000000002"
    serve = staticmethod(create_freshchat_app)

    def __init__(self, webhook_client: httpx2.AsyncClient) -> None:
        super().__init__(FreshchatSandbox(webhook_client=webhook_client))

    def settings(self) -> dict[str, Any]:
        config = self.sandbox.config
        return {"domain": f"https://{config.domain}/", "api_token": config.api_token,
                "default_agent_email": config.agents[0].email, "webhook_public_key": self.sandbox.public_key_pem,
                "account_number": config.account_number, "api_base_url": f"{self.url}/v2", "app_base_url": self.url}

    def wrong_credentials(self) -> tuple[dict[str, Any], str, str]:
        return {**self.settings(), "api_token": "not-the-token"}, "API token", "api_token"

    async def connect(self, stack: Stack) -> None:
        self.sandbox.webhook_url = (await self.save_settings(stack))["webhook_url"]

    def conversation(self, session_id: str) -> Any:
        marker = f"/app/sessions/{session_id}"
        return next((c for c in self.sandbox.state.conversations.values()
                     if any(m.message_type == "private" and marker in m.text for m in c.messages)), None)

    def handoff(self, session_id: str) -> Handoff | None:
        conversation = self.conversation(session_id)
        if conversation is None:
            return None
        notes = [m.text for m in conversation.messages if m.message_type == "private"]
        return Handoff(
            conversation_id=conversation.id,
            transcript=[m.text for m in conversation.messages if m.message_type == "normal"],
            note=notes[0] if notes else "",
            ticket_id=None,
            contact_id=conversation.user_ids[0],
        )

    def rep_reply(self, session_id: str, text: str) -> None:
        self.sandbox.reply(self.conversation(session_id), self.rep, text)

    def close_in_helpdesk(self, session_id: str) -> None:
        self.sandbox.resolve(self.conversation(session_id), by=("agent", self.rep))

    def is_closed(self, session_id: str) -> bool:
        return bool(self.conversation(session_id).status == "resolved")



class SalesforceDriver(SandboxDriver):
    """The contract's view of the Salesforce (Messaging for In-App and Web) sandbox: no webhooks, rep replies
    reach relaydesk over the event stream, so draining waits for relaydesk's stream cursor."""

    name = "salesforce"
    link_kind = "conversation"
    makes_tickets = False  # a messaging session routed by Omni-Channel, no case
    has_webhooks = False
    serve = staticmethod(create_salesforce_app)

    def __init__(self, webhook_client: httpx2.AsyncClient) -> None:
        super().__init__(SalesforceSandbox())
        self.stack: Stack | None = None
        self.integration_id = ""

    def settings(self) -> dict[str, Any]:
        config = self.sandbox.config
        return {"instance_url": self.url, "scrt_url": self.url, "org_id": config.org_id,
                "es_developer_name": config.es_developer_name, "auth_key_id": config.auth_key_id,
                "private_key": config.private_key_pem}

    def wrong_credentials(self) -> tuple[dict[str, Any], str, str]:
        from relaydesk.sandbox.salesforce import new_key_pair

        return {**self.settings(), "private_key": new_key_pair()[0]}, "private key", "private_key"

    async def connect(self, stack: Stack) -> None:
        self.stack, self.integration_id = stack, (await self.save_settings(stack))["id"]

    def conversation(self, session_id: str) -> Any:
        return self.sandbox.find("RelaydeskSessionId", session_id)

    def handoff(self, session_id: str) -> Handoff | None:
        conversation = self.conversation(session_id)
        if conversation is None:
            return None
        texts = [e.text for e in conversation.messages("EndUser")]
        note = next((t for t in texts if t.startswith("relaydesk · AI handoff")), "")
        transcript = [t.removeprefix("Visitor: ").removeprefix("AI assistant: ") for t in texts if t != note]
        user = self.sandbox.end_users.get(conversation.subject)
        return Handoff(conversation_id=conversation.id, transcript=transcript, note=note, ticket_id=None,
                       contact_id=user.record_id if user else None)

    def rep_reply(self, session_id: str, text: str) -> None:
        self.sandbox.rep_message(self.conversation(session_id).id, text)

    def close_in_helpdesk(self, session_id: str) -> None:
        self.sandbox.rep_end(self.conversation(session_id).id)

    def is_closed(self, session_id: str) -> bool:
        return bool(self.conversation(session_id).session_status == "Ended")

    def webhook_requests(self) -> list[tuple[str, dict[str, str], bytes]]:
        return []

    async def drain(self) -> None:
        """Wait until relaydesk's stream consumers applied every event about each open conversation."""
        if self.stack is None:
            return
        from relaydesk.core.leases import Leases

        leases = Leases(self.stack.app.state.runtime.db)

        async def consumed() -> bool:
            for conversation in self.sandbox.conversations.values():
                lease = await leases.get(f"salesforce:{self.integration_id}:{conversation.id}")
                latest = self.sandbox.latest_event(conversation.id)
                if lease is not None and lease.ended_at is None and int(lease.cursor or 0) < latest:
                    return False
            return True

        await self.stack.wait_for(consumed)


def has_webhooks(driver: Any) -> bool:
    """Whether the helpdesk reports changes by webhook (a driver of one that streams them says otherwise)."""
    return bool(getattr(driver, "has_webhooks", True))


DRIVERS: dict[str, Callable[[httpx2.AsyncClient], Any]] = {
    "hubspot": HubSpotDriver,
    "intercom": IntercomDriver,
    "creatio": CreatioDriver,
    "salesforce": SalesforceDriver,
    "freshchat": FreshchatDriver,
}


@contextlib.asynccontextmanager
async def stack_with(
    name: str, database_url: str, data_dir: Path, *, with_agent: bool = False
) -> AsyncIterator[tuple[Stack, Any]]:
    """relaydesk and the named helpdesk's sandbox, both served. relaydesk runs with the connectors as its only
    installed part unless `with_agent`: without the AI, a session holds exactly what the test wrote."""
    settings = make_settings(database_url, data_dir, public_url=PUBLIC_URL)
    app = create_app(settings, configure_logs=False)
    patch = pytest.MonkeyPatch()
    if not with_agent:
        patch.setattr(runtime_module, "default_installers", lambda: [install])
    webhook_client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url=PUBLIC_URL)
    driver = DRIVERS[name](webhook_client)
    async with LiveServer(driver.app()) as helpdesk, LiveServer(app) as server, \
            httpx2.AsyncClient(base_url=server.url, timeout=15) as client:
        driver.url = helpdesk.url
        runtime = app.state.runtime
        workspace, key = await runtime.conversations.create_workspace("Acme")
        stack = Stack(client, app, workspace.id, workspace.widget_token, key, helpdesk.url, webhook_client)
        try:
            yield stack, driver
        finally:
            await driver.drain()
            patch.undo()
    await webhook_client.aclose()
