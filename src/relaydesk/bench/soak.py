"""`relaydesk bench soak`: relaydesk under faults and process restarts for a bounded time, then a full audit.

relaydesk runs as real processes (on PostgreSQL with Redis: two `serve` and two `worker` processes; on SQLite: one
`serve` with its workers) behind a client-side load balancer, against the helpdesk sandboxes and an outgoing-webhook
receiver, all served from this process. Visitors chat through any server, are handed off to each helpdesk, reps reply
in the sandboxes, sessions are resolved from either side. Meanwhile every sandbox and the receiver get random faults
(5xx, latency, answers after the caller's timeout, hangs, 429 with Retry-After, dropped connections, outages), and
workers and servers are SIGKILLed at random moments and restarted. Two faults are permanent: one Intercom conversation
refuses every reply with a 400, and one workspace has a webhook endpoint that answers 410 Gone.

When the traffic ends the faults stop, the outbox drains, and the audit checks the guarantees: every visitor and AI
message of a handed-off session is in the helpdesk once and in order; every rep reply relaydesk acknowledged is in its
session once and in order; every message reached the webhook receiver (once per webhook-id, in order per session);
dead letters exist only where a fault was permanent, each with its error; and no client got a 5xx or a broken
connection except while a killed server restarted. Every random choice comes from the seed, which the report prints.

The sandboxes' webhook retry schedules are shortened to seconds (HubSpot documents retries over a day), so a run
takes minutes; they keep the providers' rules otherwise (which answers end the retries, how many attempts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx2
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from relaydesk.agent.responder import ingest_documents
from relaydesk.agent.sample import SAMPLE_KB_DIR
from relaydesk.bench.core import LIFTED_LIMITS, free_port, throwaway_database, wait_until
from relaydesk.config import Settings
from relaydesk.connectors.intercom.webhooks import plain_text
from relaydesk.core import webhooks_out
from relaydesk.core.bus import Bus
from relaydesk.core.conversations import Conversations
from relaydesk.core.db import Database, upgrade
from relaydesk.sandbox.creatio import CreatioSandbox
from relaydesk.sandbox.creatio import create_app as create_creatio_app
from relaydesk.sandbox.faults import ConnectionDropped, Fault, FaultInjectionMiddleware, FaultKind, FaultPlan
from relaydesk.sandbox.freshchat import FreshchatSandbox
from relaydesk.sandbox.freshchat import create_app as create_freshchat_app
from relaydesk.sandbox.hubspot import HubSpotSandbox, RetryPolicy, SandboxConfig
from relaydesk.sandbox.hubspot import create_app as create_hubspot_app
from relaydesk.sandbox.intercom import IntercomSandbox
from relaydesk.sandbox.intercom import create_app as create_intercom_app
from relaydesk.sandbox.intercom.sandbox import error_body as intercom_error_body

PUBLIC_URL = "http://relaydesk.soak"
DELIVERY_TIMEOUT_S = 2.5
RELAYDESK_ENV = {
    "RELAYDESK_PUBLIC_URL": PUBLIC_URL, "RELAYDESK_SECRET_KEY": "soak-secret-key", "RELAYDESK_LOG_JSON": "true",
    "RELAYDESK_LOG_LEVEL": "warning", "RELAYDESK_DELIVERY_POLL_S": "0.1", "RELAYDESK_DELIVERY_BACKOFF_BASE_S": "0.2",
    "RELAYDESK_DELIVERY_BACKOFF_CAP_S": "2", "RELAYDESK_DELIVERY_LEASE_S": "4",
    # The backoff is shrunk from minutes to seconds, so the attempt bound grows to span a comparable stretch of
    # faults: with 25 attempts a job doing ten calls per attempt gave up within a minute of ordinary faults.
    "RELAYDESK_DELIVERY_MAX_ATTEMPTS": "100",
    "RELAYDESK_DELIVERY_TIMEOUT_S": str(DELIVERY_TIMEOUT_S), **LIFTED_LIMITS,
}
# HubSpot's documented schedule (10 retries from one minute to hours apart), shortened to fit a bounded run.
HUBSPOT_RETRIES = RetryPolicy(max_retries=10, first_delay_seconds=0.5, max_delay_seconds=8.0, jitter_ratio=0.1)
RESTART_GRACE_S = 1.0
KEEPALIVE_S = 2.0  # after a restarted server answers /readyz, clients may still hold a broken connection
HANDOFF_WAIT_S = 90.0
ANSWER_WAIT_S = 10.0
SETTLE_TIMEOUT_S = 180.0
REVOKED_STATUS = 410
QUESTIONS = (  # answered by the sample help centre each workspace is given
    "How do I cancel my subscription?", "How can I change my email address?", "Where do I create an API token?",
    "How do camera uploads work?", "Can I see the audit log?", "How do I sign out other devices?",
)


# ---------------------------------------------------------------------------------------------------------------------
# helpdesks


class Helpdesk(Protocol):
    """What the soak needs of one helpdesk's sandbox: connect it, read what relaydesk left there, act as a rep."""

    name: str
    faults: FaultPlan
    closed_marker: str  # what the helpdesk's webhook about a closed conversation says

    def app(self) -> ASGIApp: ...

    def settings(self, url: str) -> dict[str, Any]: ...

    def connected(self, integration: dict[str, Any]) -> None:
        """Point the sandbox's webhooks at what saving the integration returned."""
        ...

    def conversation_id(self, session_id: str) -> str | None: ...

    def conversations(self, session_id: str) -> int:
        """How many helpdesk conversations name the session (one, once handed off)."""
        ...

    def transcript(self, session_id: str) -> list[str]:
        """The visitor and AI messages relaydesk posted to the session's conversation, in order."""
        ...

    def reply(self, session_id: str, text: str) -> None: ...

    def close(self, session_id: str) -> None: ...

    def is_closed(self, session_id: str) -> bool: ...

    def session_only_path(self, session_id: str) -> str | None:
        """A path only this session's outgoing messages use, for a permanent fault on one conversation."""
        ...

    async def drain(self) -> None: ...


class HubSpotDesk:
    """HubSpot: a custom-channel thread per session; the app is authorised through OAuth."""

    name = "hubspot"
    closed_marker = "CLOSED"

    def __init__(self, webhooks: httpx2.AsyncClient) -> None:
        self.sandbox = HubSpotSandbox(SandboxConfig(retry_policy=HUBSPOT_RETRIES), webhooks)
        self.faults = self.sandbox.faults

    def app(self) -> ASGIApp:
        return create_hubspot_app(sandbox=self.sandbox)

    def settings(self, url: str) -> dict[str, Any]:
        config = self.sandbox.config
        return {"app_id": config.app_id, "client_id": config.client_id, "client_secret": config.client_secret,
                "developer_api_key": config.developer_api_key, "inbox_id": "1001", "default_assignee": "7001",
                "api_base_url": url, "app_base_url": url}

    def connected(self, integration: dict[str, Any]) -> None:
        """HubSpot learns relaydesk's webhook URL when the connector registers its channel."""

    def _threads(self, session_id: str) -> list[Any]:
        return [t for t in self.sandbox.state.threads.values() if t.integration_thread_id == f"relaydesk-{session_id}"]

    def _thread(self, session_id: str) -> Any:
        return next(iter(self._threads(session_id)), None)

    def conversations(self, session_id: str) -> int:
        return len(self._threads(session_id))

    def conversation_id(self, session_id: str) -> str | None:
        thread = self._thread(session_id)
        return None if thread is None else str(thread.id)

    def transcript(self, session_id: str) -> list[str]:
        thread = self._thread(session_id)
        rep = self.sandbox.default_rep_actor
        return [] if thread is None else [str(m["text"]) for m in thread.messages
                                          if m["type"] == "MESSAGE" and m.get("createdBy") != rep]

    def reply(self, session_id: str, text: str) -> None:
        self.sandbox.send_rep_message(self._thread(session_id).id, text, actor_id=self.sandbox.default_rep_actor,
                                      source="CRM_UI")

    def close(self, session_id: str) -> None:
        self.sandbox.set_status(self._thread(session_id).id, "CLOSED", source="CRM_UI")

    def is_closed(self, session_id: str) -> bool:
        return bool(self._thread(session_id).status == "CLOSED")

    def session_only_path(self, session_id: str) -> str | None:
        return None  # every thread's messages go to the channel's one messages endpoint

    async def drain(self) -> None:
        await self.sandbox.webhooks.drain()


class IntercomDesk:
    """Intercom: a conversation per session, the visitor's and the AI's messages as replies on it."""

    name = "intercom"
    closed_marker = "conversation.admin.closed"
    rep = "991267002"

    def __init__(self, webhooks: httpx2.AsyncClient) -> None:
        self.sandbox = IntercomSandbox(webhook_client=webhooks)
        self.faults = self.sandbox.faults

    def app(self) -> ASGIApp:
        return create_intercom_app(sandbox=self.sandbox)

    def settings(self, url: str) -> dict[str, Any]:
        config = self.sandbox.config
        return {"access_token": config.access_token, "client_secret": config.client_secret,
                "ai_admin_id": config.owner_admin_id, "assignment": "team", "assignee_team_id": "5001",
                "api_base_url": url, "app_base_url": url}

    def connected(self, integration: dict[str, Any]) -> None:
        self.sandbox.webhook_url = integration["webhook_url"]

    def _conversations(self, session_id: str) -> list[Any]:
        marker = f"/app/sessions/{session_id})"
        return [c for c in self.sandbox.state.conversations.values() if marker in c.source["body"]]

    def _conversation(self, session_id: str) -> Any:
        return next(iter(self._conversations(session_id)), None)

    def conversations(self, session_id: str) -> int:
        return len(self._conversations(session_id))

    def conversation_id(self, session_id: str) -> str | None:
        conversation = self._conversation(session_id)
        return None if conversation is None else str(conversation.id)

    def transcript(self, session_id: str) -> list[str]:
        conversation = self._conversation(session_id)
        return [] if conversation is None else [plain_text(p.body) for p in conversation.parts
                                                if p.part_type == "comment" and str(p.author.get("id")) != self.rep]

    def reply(self, session_id: str, text: str) -> None:
        self.sandbox.admin_reply(self._conversation(session_id), self.rep, text)

    def close(self, session_id: str) -> None:
        self.sandbox.set_state(self._conversation(session_id), self.rep, "closed")

    def is_closed(self, session_id: str) -> bool:
        return bool(self._conversation(session_id).state == "closed")

    def session_only_path(self, session_id: str) -> str | None:
        conversation_id = self.conversation_id(session_id)
        return None if conversation_id is None else f"/conversations/{conversation_id}/reply"

    async def drain(self) -> None:
        await self.sandbox.drain()


class CreatioDesk:
    """Creatio: a case per session, each message an activity; business processes call relaydesk back."""

    name = "creatio"
    closed_marker = "case_resolved"

    def __init__(self, webhooks: httpx2.AsyncClient) -> None:
        self.sandbox = CreatioSandbox(webhook_client=webhooks)
        self.faults = self.sandbox.faults

    def app(self) -> ASGIApp:
        return create_creatio_app(sandbox=self.sandbox)

    def settings(self, url: str) -> dict[str, Any]:
        config = self.sandbox.config
        return {"instance_url": url, "auth_mode": "oauth", "token_url": f"{url}/connect/token",
                "client_id": config.client_id, "client_secret": config.client_secret,
                "default_owner_id": config.reps[0].contact_id, "group_id": config.groups[0].group_id}

    def connected(self, integration: dict[str, Any]) -> None:
        self.sandbox.processes.webhook_url = integration["webhook_url"]

    def _cases(self, session_id: str) -> list[Any]:
        return [c for c in self.sandbox.tables["Case"].values() if session_id in (c["Notes"] or "")]

    def _case(self, session_id: str) -> Any:
        return next(iter(self._cases(session_id)), None)

    def conversations(self, session_id: str) -> int:
        return len(self._cases(session_id))

    def conversation_id(self, session_id: str) -> str | None:
        case = self._case(session_id)
        return None if case is None else str(case["Id"])

    def transcript(self, session_id: str) -> list[str]:
        case = self._case(session_id)
        return [] if case is None else [str(a["Notes"]) for a in self.sandbox.tables["Activity"].values()
                                        if a["CaseId"] == case["Id"] and a["Title"].startswith("relaydesk · #")]

    def reply(self, session_id: str, text: str) -> None:
        self.sandbox.add_rep_activity(self._case(session_id)["Id"], text)

    def close(self, session_id: str) -> None:
        self.sandbox.set_status(self._case(session_id)["Id"], "Resolved")

    def is_closed(self, session_id: str) -> bool:
        return self.sandbox.is_resolved(self._case(session_id)["StatusId"])

    def session_only_path(self, session_id: str) -> str | None:
        return None  # every activity is created on the one Activity collection

    async def drain(self) -> None:
        await self.sandbox.drain()


class FreshchatDesk:
    """Freshchat: a conversation per session, found by the link in its private handoff note."""

    name = "freshchat"
    closed_marker = "conversation_resolution"
    rep = "2f6a8b1e-0b59-4b1b-9d62-000000000002"

    def __init__(self, webhooks: httpx2.AsyncClient) -> None:
        self.sandbox = FreshchatSandbox(webhook_client=webhooks)
        self.faults = self.sandbox.faults

    def app(self) -> ASGIApp:
        return create_freshchat_app(sandbox=self.sandbox)

    def settings(self, url: str) -> dict[str, Any]:
        config = self.sandbox.config
        return {"domain": f"https://{config.domain}/", "api_token": config.api_token,
                "default_agent_email": config.agents[0].email, "webhook_public_key": self.sandbox.public_key_pem,
                "account_number": config.account_number, "api_base_url": f"{url}/v2", "app_base_url": url}

    def connected(self, integration: dict[str, Any]) -> None:
        self.sandbox.webhook_url = integration["webhook_url"]

    def _conversations(self, session_id: str) -> list[Any]:
        marker = f"/app/sessions/{session_id}"
        return [c for c in self.sandbox.state.conversations.values()
                if any(m.message_type == "private" and marker in m.text for m in c.messages)]

    def _conversation(self, session_id: str) -> Any:
        return next(iter(self._conversations(session_id)), None)

    def conversation_id(self, session_id: str) -> str | None:
        conversation = self._conversation(session_id)
        return None if conversation is None else str(conversation.id)

    def conversations(self, session_id: str) -> int:
        return len(self._conversations(session_id))

    def transcript(self, session_id: str) -> list[str]:
        conversation = self._conversation(session_id)
        return [] if conversation is None else [m.text for m in conversation.messages
                                                if m.message_type == "normal" and m.actor_id != self.rep]

    def reply(self, session_id: str, text: str) -> None:
        self.sandbox.reply(self._conversation(session_id), self.rep, text)

    def close(self, session_id: str) -> None:
        self.sandbox.resolve(self._conversation(session_id), by=("agent", self.rep))

    def is_closed(self, session_id: str) -> bool:
        return bool(self._conversation(session_id).status == "resolved")

    def session_only_path(self, session_id: str) -> str | None:
        conversation_id = self.conversation_id(session_id)
        return None if conversation_id is None else f"/v2/conversations/{conversation_id}/messages"

    async def drain(self) -> None:
        await self.sandbox.drain()


# A helpdesk joins the soak with its adapter above and one line here.
HELPDESKS: dict[str, Callable[[httpx2.AsyncClient], Helpdesk]] = {
    "hubspot": HubSpotDesk,
    "intercom": IntercomDesk,
    "creatio": CreatioDesk,
    "freshchat": FreshchatDesk,
}
POISONED_HELPDESK = "intercom"  # its conversations each have their own reply path


# ---------------------------------------------------------------------------------------------------------------------
# the network around relaydesk


class DroppingConnections:
    """Turns a fault plan's dropped connection into one a real client sees: uvicorn answers an app that raises before
    answering with a 500, so this starts an answer and abandons it, and the server closes the connection mid-answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except ConnectionDropped:
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})


@contextlib.asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[str]:
    """`app` served by uvicorn on a loopback port in this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(DroppingConnections(app), host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="on", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started or task.done())
    if task.done():
        task.result()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@dataclass
class Problem:
    """A request that failed on the client's side: a 5xx, or a connection that broke."""

    at: float
    who: str
    request: str
    outcome: str


@dataclass
class Ledger:
    """What clients saw of relaydesk: request counts, failures, and the bodies of acknowledged helpdesk webhooks."""

    requests: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    acknowledged: dict[str, list[tuple[float, bytes]]] = field(default_factory=lambda: defaultdict(list))

    def was_acknowledged(self, connector: str, *markers: str, after: float = 0.0) -> bool:
        """Whether relaydesk answered 2xx to a webhook from `connector`, sent after `after`, that mentions every one
        of `markers`."""
        needles = [marker.encode() for marker in markers]
        return any(at >= after and all(n in body for n in needles) for at, body in self.acknowledged[connector])


class Balancer(httpx2.AsyncBaseTransport):
    """A load balancer in front of the relaydesk servers: round robin; a server that refuses the connection is
    skipped. A request in flight when its server dies fails, as it would behind any balancer."""

    def __init__(self, fleet: Fleet, ledger: Ledger, who: str) -> None:
        self.fleet = fleet
        self.ledger = ledger
        self.who = who
        # Idle connections are dropped before the servers' 5 s keep-alive ends, as a balancer must be configured:
        # otherwise a request sent just as the server closes the idle connection fails for nothing.
        self.inner = httpx2.AsyncHTTPTransport(limits=httpx2.Limits(keepalive_expiry=KEEPALIVE_S))
        self.turn = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send the request to the next server that accepts the connection."""
        ports = self.fleet.server_ports()
        name = f"{request.method} {request.url.path}"
        self.ledger.requests[self.who] += 1
        self.turn = start = self.turn + 1
        for offset in range(len(ports)):
            port = ports[(start + offset) % len(ports)]
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=port)
            try:
                response = await self.inner.handle_async_request(request)
            except httpx2.ConnectError:
                continue
            except httpx2.TransportError as exc:
                self.ledger.problems.append(Problem(time.monotonic(), self.who, name, type(exc).__name__))
                raise
            if response.status_code >= 500:
                self.ledger.problems.append(Problem(time.monotonic(), self.who, name, str(response.status_code)))
            elif response.is_success and request.url.path.startswith("/webhooks/"):
                connector = request.url.path.split("/")[2]
                self.ledger.acknowledged[connector].append((time.monotonic(), request.content))
            return response
        self.ledger.problems.append(Problem(time.monotonic(), self.who, name, "no server accepts connections"))
        raise httpx2.ConnectError("no relaydesk server accepts connections")

    async def aclose(self) -> None:
        await self.inner.aclose()


# ---------------------------------------------------------------------------------------------------------------------
# relaydesk processes


@dataclass
class Member:
    """One relaydesk process slot; a server keeps its port across restarts."""

    role: str
    index: int
    port: int
    process: asyncio.subprocess.Process | None = None


@dataclass
class Outage:
    """A killed server, from the kill to its restart answering /readyz."""

    member: str
    killed_at: float
    ready_at: float = float("inf")


class Fleet:
    """The relaydesk processes of one run, started, killed and restarted on demand."""

    def __init__(self, env: dict[str, str], logs: Path, servers: int, workers: int) -> None:
        self.env = {**os.environ, **env}
        self.logs = logs
        self.in_process_workers = workers == 0
        self.members = ([Member("server", n, free_port()) for n in range(servers)]
                        + [Member("worker", n, 0) for n in range(workers)])
        self.outages: list[Outage] = []
        self.kills: Counter[str] = Counter()

    def server_ports(self) -> list[int]:
        return [m.port for m in self.members if m.role == "server"]

    def of_role(self, role: str) -> list[Member]:
        return [m for m in self.members if m.role == role]

    async def start(self, member: Member) -> None:
        """Start the member's process; a server is started once its /readyz answers 200."""
        if member.role == "server":
            args = ["serve", "--port", str(member.port), "--workers" if self.in_process_workers else "--no-workers"]
        else:
            args = ["worker"]
        with (self.logs / f"{member.role}-{member.index}.log").open("ab") as log:
            member.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "relaydesk", *args, env=self.env, stdout=log, stderr=log)
        if member.role == "server":
            await self._ready(member)

    async def _ready(self, member: Member) -> None:
        async with httpx2.AsyncClient(timeout=1) as client:
            for _ in range(600):
                assert member.process is not None
                if member.process.returncode is not None:
                    raise RuntimeError(f"server {member.index} exited; see {self.logs}")
                with contextlib.suppress(httpx2.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{member.port}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server {member.index} did not become ready; see {self.logs}")

    async def start_all(self) -> None:
        for member in self.members:
            await self.start(member)

    async def kill_and_restart(self, member: Member, down_s: float) -> None:
        """SIGKILL the member (no cleanup, leases left behind), wait `down_s`, start it again."""
        assert member.process is not None
        outage = Outage(f"{member.role}-{member.index}", time.monotonic())
        member.process.kill()
        await member.process.wait()
        self.kills[member.role] += 1
        if member.role == "server":
            self.outages.append(outage)
        await asyncio.sleep(down_s)
        await self.start(member)
        outage.ready_at = time.monotonic()

    def during_restart(self, at: float) -> bool:
        return any(o.killed_at <= at <= o.ready_at + RESTART_GRACE_S for o in self.outages)

    async def stop(self) -> None:
        for member in self.members:
            if member.process is not None and member.process.returncode is None:
                member.process.terminate()
                try:
                    await asyncio.wait_for(member.process.wait(), 15)
                except TimeoutError:
                    member.process.kill()
                    await member.process.wait()


# ---------------------------------------------------------------------------------------------------------------------
# the customer's webhook endpoint


@dataclass
class Receiver:
    """Records each outgoing webhook it accepts, under the endpoint's path (`/hook/{n}`, one per workspace);
    `/revoked` is an endpoint the customer took down: it answers 410 Gone to everything."""

    secrets: dict[str, str] = field(default_factory=dict)
    first_seqs: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    seen: set[str] = field(default_factory=set)
    accepted: int = 0
    bad_signatures: int = 0
    faults: FaultPlan = field(default_factory=FaultPlan)

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not webhooks_out.verify(self.secrets.get(request.path_params["n"], ""), headers, body):
            self.bad_signatures += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        self.accepted += 1
        if headers["webhook-id"] not in self.seen:
            self.seen.add(headers["webhook-id"])
            data = json.loads(body)["data"]
            self.first_seqs[str(data["session_id"])].append(int(data["seq"]))
        return JSONResponse({"ok": True})

    async def revoked(self, request: Request) -> Response:
        await request.body()
        return JSONResponse({"error": "this endpoint was removed"}, status_code=REVOKED_STATUS)

    def app(self) -> ASGIApp:
        routes = [Route("/hook/{n}", self.hook, methods=["POST"]), Route("/revoked", self.revoked, methods=["POST"])]
        return FaultInjectionMiddleware(Starlette(routes=routes), self.faults)


# ---------------------------------------------------------------------------------------------------------------------
# faults and restarts


def _fault_menu(rng: random.Random) -> dict[str, Callable[[FaultPlan], Fault]]:
    """Each transient fault the soak injects, drawn with `rng`."""
    late = DELIVERY_TIMEOUT_S + 1.0
    return {
        "5xx": lambda plan: plan.fail_next(rng.randint(1, 3), rng.choice((500, 502, 503))),
        "latency": lambda plan: plan.add_latency(rng.uniform(0.1, 0.8), rng.randint(1, 5)),
        "answered after the timeout": lambda plan: plan.add_latency(late, 1),
        "hang then 504": lambda plan: plan.hang_next(1, late),
        "429 with Retry-After": lambda plan: plan.rate_limit_next(rng.randint(1, 3), rng.randint(1, 2)),
        "dropped connection": lambda plan: plan.drop_next(rng.randint(1, 2)),
        "outage": lambda plan: plan.outage(rng.uniform(1.0, 3.0)),
    }


async def inject_faults(rng: random.Random, plans: dict[str, FaultPlan], until: float,
                        armed: Counter[str]) -> None:
    """Arm a random transient fault on a random target every 0.3–1.5 s until `until`."""
    menu = _fault_menu(rng)
    while time.monotonic() < until:
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        target = rng.choice(sorted(plans))
        kind = rng.choice(sorted(menu))
        menu[kind](plans[target])
        armed[kind] += 1


async def restart_processes(rng: random.Random, fleet: Fleet, start: float, until: float) -> None:
    """In every minute of traffic (at least once), SIGKILL one worker and one server at random moments."""
    roles = [role for role in ("worker", "server") if fleet.of_role(role)]
    slots = max(1, round((until - start) / 60))
    length = (until - start) / slots
    moments = sorted((start + slot * length + rng.uniform(0.15, 0.8) * length, role)
                     for slot in range(slots) for role in roles)
    for at, role in moments:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        await fleet.kill_and_restart(rng.choice(fleet.of_role(role)), rng.uniform(0.3, 2.0))


# ---------------------------------------------------------------------------------------------------------------------
# traffic


@dataclass
class Workspace:
    """A workspace with one helpdesk as its handoff target."""

    index: int
    id: str
    widget_token: str
    api_key: str
    desk: Helpdesk
    revoked_endpoint: str | None = None

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class Conversation:
    """One session the soak drove, and what it did to it."""

    workspace: Workspace
    session_id: str
    handed_off: bool = False
    linked: bool = False
    poisoned: bool = False
    typed: list[str] = field(default_factory=list)
    resolved_by: str | None = None
    closed_at: float = 0.0


class Traffic:
    """Visitors chatting, handoffs, rep replies in the sandboxes, resolves from both sides."""

    def __init__(self, client: httpx2.AsyncClient, seed: int, until: float) -> None:
        self.client = client
        self.seed = seed
        self.until = until
        self.conversations: list[Conversation] = []
        self.poison_pending = True

    async def call(self, method: str, path: str, accept: tuple[int, ...], **kwargs: Any) -> httpx2.Response:
        """A request retried (it is idempotent: client ids, or a state change answered 409 once done) until relaydesk
        answers with a status in `accept`; anything else is a finding."""
        for _ in range(300):
            try:
                response = await self.client.request(method, path, **kwargs)
            except httpx2.TransportError:
                await asyncio.sleep(0.2)
                continue
            if response.status_code in accept:
                return response
            if response.status_code < 500:
                raise AssertionError(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
            await asyncio.sleep(0.2)
        raise AssertionError(f"{method} {path} never succeeded")

    async def visitor(self, workspace: Workspace, number: int) -> None:
        """One visitor's conversations, one after another, until the traffic ends."""
        rng = random.Random(f"{self.seed}:visitor:{workspace.index}:{number}")
        turn = 0
        while time.monotonic() < self.until:
            await self.converse(workspace, rng, f"w{workspace.index}v{number}c{turn}")
            turn += 1

    async def converse(self, workspace: Workspace, rng: random.Random, tag: str) -> None:
        widget = {"X-Widget-Token": workspace.widget_token}
        contact = await self.call("POST", "/api/widget/v1/contacts", (201,), json={"name": f"Visitor {tag}"},
                                  headers=widget)
        headers = {**widget, "Authorization": f"Bearer {contact.json()['token']}"}
        opened = await self.call("POST", "/api/widget/v1/sessions", (201,), json={}, headers=headers)
        record = Conversation(workspace, str(opened.json()["id"]))
        self.conversations.append(record)
        said = 0

        async def say(text: str) -> int:
            nonlocal said
            said += 1
            posted = await self.call("POST", f"/api/widget/v1/sessions/{record.session_id}/messages", (200, 201),
                                     json={"text": text, "client_id": f"{tag}-{said}"}, headers=headers)
            await asyncio.sleep(rng.uniform(0.05, 0.4))
            return int(posted.json()["message"]["seq"])

        for question in rng.sample(QUESTIONS, rng.randint(1, 2)):
            await self._read_answer(record, headers, await say(f"{question} ({tag})"))
        if rng.random() < 0.5:
            await say(f"I want to talk to a person, please ({tag}).")
        await self.call("POST", f"/api/v1/sessions/{record.session_id}/handoff", (200, 409), headers=workspace.admin,
                        json={"reason": "explicit_request", "topic": "billing", "summary": f"soak {tag}"})
        record.handed_off = True
        record.linked = await self._handoff_delivered(record)
        if not record.linked:
            return  # the audit reports the handoff that never arrived
        desk = workspace.desk
        self._maybe_poison(record)
        for round_ in range(rng.randint(2, 4)):
            await say(f"{tag} follow-up {round_}.")
            text = f"{tag} rep reply {round_}."
            desk.reply(record.session_id, text)
            record.typed.append(text)
            await asyncio.sleep(rng.uniform(0.05, 0.4))
            if time.monotonic() > self.until:
                break  # the traffic is over: wrap up
        await asyncio.sleep(rng.uniform(0.5, 2.0))  # the visitor reads the last reply; then someone resolves
        if rng.random() < 0.5:
            await self.call("POST", f"/api/v1/sessions/{record.session_id}/resolve", (200, 409),
                            headers=workspace.admin, json={})
            record.resolved_by = "relaydesk"
        else:
            record.closed_at = time.monotonic()
            desk.close(record.session_id)
            record.resolved_by = "helpdesk"

    async def _read_answer(self, record: Conversation, headers: dict[str, str], seq: int) -> None:
        """Wait (a while) for the AI's answer to the visitor's message `seq`, as a visitor reads it."""
        path = f"/api/widget/v1/sessions/{record.session_id}/messages"
        for _ in range(round(ANSWER_WAIT_S / 0.2)):
            found = await self.call("GET", path, (200,), params={"after": seq}, headers=headers)
            if any(m["author"] == "ai" for m in found.json()["messages"]):
                return
            await asyncio.sleep(0.2)

    async def _handoff_delivered(self, record: Conversation) -> bool:
        """Wait until relaydesk finished starting the handoff (the helpdesk conversation exists and is linked): a rep
        answers a conversation they see, and relaydesk knows it from then on."""
        path = "/api/v1/deliveries"
        for _ in range(round(HANDOFF_WAIT_S / 0.2)):
            found = await self.call("GET", path, (200,), params={"session_id": record.session_id},
                                    headers=record.workspace.admin)
            starts = [d for d in found.json()["deliveries"] if d["kind"] == "connector.start_handoff"]
            if starts and all(d["state"] == "done" for d in starts):
                return record.workspace.desk.conversation_id(record.session_id) is not None
            await asyncio.sleep(0.2)
        return False

    def _maybe_poison(self, record: Conversation) -> None:
        """The first linked session of the chosen helpdesk gets a permanent 400 on its replies from now on."""
        desk = record.workspace.desk
        path = desk.session_only_path(record.session_id)
        if not self.poison_pending or desk.name != POISONED_HELPDESK or path is None:
            return
        self.poison_pending = False
        record.poisoned = True
        body = intercom_error_body(400, "conversation_locked", "This conversation can no longer be replied to")
        desk.faults.arm(Fault(FaultKind.ERROR, status=400, body=body, path=path, method="POST", remaining=None))


# ---------------------------------------------------------------------------------------------------------------------
# settling and the audit


# Guarantees the soak has found broken in the connectors, open work listed in docs/performance.md ("What the soak
# found"). A run reports them with their count; only a problem of another kind fails it, so a new break (in the core
# above all: acknowledged replies, outgoing webhooks, dead letters) is never hidden among these.
KNOWN_DEFECTS = {
    "helpdesk transcript lost, doubled or reordered a message":
        "a handoff turn is posted again when the answer to its first write was lost (Intercom, Freshchat)",
    "more than one helpdesk conversation for a session":
        "Intercom: when the answer to creating the conversation is lost, the retry creates another",
    "rep replies unacknowledged lost, doubled or reordered":
        "webhooks retried or handled by two servers at once store rep replies out of their typed order; Creatio "
        "does not retry a process call relaydesk answered 503",
    "closed in the helpdesk, open in relaydesk": "Creatio does not retry a process call relaydesk answered 503",
    "5xx or broken connection while every server was up":
        "Freshchat webhooks are answered 503 on purpose so that Freshchat redelivers them; one SQLite process "
        "stalls for seconds after a restart",
}


@dataclass
class Audit:
    """The end-of-run checks and their figures; `problems` lists every broken guarantee, `kinds` counts them by
    the guarantee broken."""

    problems: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    figures: Counter[str] = field(default_factory=Counter)

    def check(self, ok: bool, kind: str, detail: str) -> bool:
        """Record a broken guarantee unless `ok`; `ok` is returned."""
        if not ok:
            self.kinds[kind] += 1
            self.problems.append(f"{kind}: {detail}")
        return ok


async def _deliveries(client: httpx2.AsyncClient, workspace: Workspace, state: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/deliveries", params={"state": state, "limit": 500}, headers=workspace.admin)
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found


async def settle(client: httpx2.AsyncClient, workspaces: list[Workspace]) -> float:
    """Wait until the sandboxes sent their webhooks and relaydesk's outbox has nothing pending or running (twice in a
    row, half a second apart); the seconds it took."""
    started = time.monotonic()
    quiet = 0
    while quiet < 2:
        if time.monotonic() - started > SETTLE_TIMEOUT_S:
            raise AssertionError(f"the outbox did not drain within {SETTLE_TIMEOUT_S:.0f} s after the faults stopped")
        await asyncio.gather(*(w.desk.drain() for w in workspaces))
        open_jobs = 0
        for workspace in workspaces:
            for state in ("pending", "running"):
                open_jobs += len(await _deliveries(client, workspace, state))
        quiet = quiet + 1 if open_jobs == 0 else 0
        await asyncio.sleep(0.5)
    return time.monotonic() - started


async def _messages(client: httpx2.AsyncClient, record: Conversation) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/sessions/{record.session_id}/messages", headers=record.workspace.admin)
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def _state(client: httpx2.AsyncClient, record: Conversation) -> str:
    response = await client.get(f"/api/v1/sessions/{record.session_id}", headers=record.workspace.admin)
    return str(response.json()["session"]["state"])


def _words(text: str) -> str:
    """A message's words: helpdesks render messages as HTML, which keeps the words but not every blank line."""
    return " ".join(text.split())


def _in_order_once(stored: list[str], typed: list[str]) -> bool:
    """`stored` holds each text once, in the order typed."""
    return len(stored) == len(set(stored)) and stored == [t for t in typed if t in set(stored)]


async def audit_conversation(client: httpx2.AsyncClient, record: Conversation, ledger: Ledger,
                             receiver: Receiver, dead: list[dict[str, Any]], audit: Audit) -> None:
    """Check one session: the helpdesk's copy, the rep replies, the resolve, the outgoing webhooks."""
    desk, session = record.workspace.desk, record.session_id
    where = f"{desk.name} session {session}"
    messages = await _messages(client, record)
    ours = [_words(m["text"]) for m in messages if m["author"] in ("visitor", "ai") and m["kind"] == "text"]
    audit.figures["visitor messages"] += sum(m["author"] == "visitor" for m in messages)
    audit.figures["AI messages"] += sum(m["author"] == "ai" and m["kind"] == "text" for m in messages)
    if record.handed_off and audit.check(record.linked, "handoff never reached the helpdesk", where):
        audit.check(desk.conversations(session) == 1, "more than one helpdesk conversation for a session",
                    f"{where}: {desk.conversations(session)}")
        theirs = [_words(text) for text in desk.transcript(session)]
        if record.poisoned:
            refused = [d for d in dead if d["session_id"] == session and d["kind"] == "connector.send_message"]
            audit.figures["messages refused by the poisoned conversation"] += len(refused)
            audit.check(theirs == ours[:len(theirs)] and len(theirs) + len(refused) == len(ours),
                        "helpdesk and dead letters of the refused session do not add up",
                        f"{where}: helpdesk holds {len(theirs)}, dead letters {len(refused)}, relaydesk {len(ours)}")
        else:
            audit.figures["helpdesk transcripts exact"] += audit.check(
                theirs == ours, "helpdesk transcript lost, doubled or reordered a message",
                f"{where}: helpdesk {theirs}, relaydesk {ours}")
    reps = [m["text"] for m in messages if m["author"] == "rep" and m["kind"] == "text"]
    acknowledged = [t for t in record.typed if ledger.was_acknowledged(desk.name, t)]
    audit.figures["rep replies typed"] += len(record.typed)
    audit.figures["rep replies acknowledged by relaydesk"] += len(acknowledged)
    audit.figures["rep replies stored"] += len(reps)
    audit.check(set(acknowledged) <= set(reps), "rep replies acknowledged by relaydesk but not stored",
                f"{where}: acknowledged {acknowledged}, stored {reps}")
    audit.check(_in_order_once(reps, record.typed), "rep replies unacknowledged lost, doubled or reordered",
                f"{where}: typed {record.typed}, acknowledged {acknowledged}, stored {reps}")
    await _audit_resolve(client, record, ledger, audit)
    seqs = [int(m["seq"]) for m in messages]
    audit.figures["messages in sessions"] += len(seqs)
    audit.check(receiver.first_seqs.get(session, []) == seqs, "outgoing webhooks lost, doubled or reordered",
                f"{where}: receiver got seqs {receiver.first_seqs.get(session, [])}, session holds {seqs}")


async def _audit_resolve(client: httpx2.AsyncClient, record: Conversation, ledger: Ledger, audit: Audit) -> None:
    desk, session = record.workspace.desk, record.session_id
    if record.resolved_by == "relaydesk":
        audit.figures["resolved in relaydesk"] += 1
        audit.check(desk.is_closed(session), "resolved in relaydesk, open in the helpdesk",
                    f"{desk.name} session {session}")
    elif record.resolved_by == "helpdesk":
        audit.figures["closed in the helpdesk"] += 1
        conversation_id = desk.conversation_id(session) or "?"
        state = await _state(client, record)
        if ledger.was_acknowledged(desk.name, conversation_id, desk.closed_marker, after=record.closed_at):
            audit.check(state in ("resolved", "closed"), "closed in the helpdesk, open in relaydesk",
                        f"{desk.name} session {session} is {state}")
        elif state not in ("resolved", "closed"):
            audit.figures["helpdesk closes relaydesk never acknowledged"] += 1


def audit_dead_letters(workspaces: list[Workspace], dead: dict[str, list[dict[str, Any]]],
                       poisoned: set[str], audit: Audit) -> None:
    """Dead letters only where a fault was permanent, each with its error."""
    for workspace in workspaces:
        revoked = f"webhook:{workspace.revoked_endpoint}" if workspace.revoked_endpoint else None
        for job in dead[workspace.id]:
            expected = job["target"] == revoked or (job["session_id"] in poisoned
                                                    and job["kind"] == "connector.send_message")
            audit.figures["dead letters (permanent faults)" if expected else "dead letters (unexpected)"] += 1
            audit.check(expected, "dead letter without a permanent fault",
                        f"{job['kind']} to {job['target']} of session {job['session_id']} after {job['attempts']} "
                        f"attempts: {job['last_error']}")
            audit.check(bool(job["last_error"]), "dead letter without its error", f"delivery {job['id']}")
        if revoked:
            audit.check(any(job["target"] == revoked for job in dead[workspace.id]),
                        "permanent fault without a dead letter", "the revoked webhook endpoint")


def audit_clients(ledger: Ledger, fleet: Fleet, started: float, audit: Audit) -> None:
    """No 5xx and no broken connection, except while a killed server restarted."""
    for problem in ledger.problems:
        if fleet.during_restart(problem.at):
            audit.figures["client errors during a server restart"] += 1
        else:
            audit.figures["client errors outside restarts"] += 1
            audit.check(False, "5xx or broken connection while every server was up",
                        f"{problem.who}: {problem.request} → {problem.outcome} at t+{problem.at - started:.1f} s")


# ---------------------------------------------------------------------------------------------------------------------
# the run


@dataclass(frozen=True)
class SoakPlan:
    """What one soak run does."""

    backend: str  # "postgres" (2 servers, 2 workers, Redis) or "sqlite" (one process with its workers)
    database_url: str
    seconds: float
    seed: int
    workdir: Path
    redis_url: str | None = None
    visitors_per_helpdesk: int = 3
    helpdesks: tuple[str, ...] = tuple(HELPDESKS)


async def _connect(client: httpx2.AsyncClient, workspace: Workspace, url: str) -> None:
    """Save the workspace's integration with its helpdesk (through OAuth for HubSpot) and check it is active."""
    desk = workspace.desk
    saved = await client.put(f"/api/v1/integrations/{desk.name}", headers=workspace.admin,
                             json={"settings": desk.settings(url)})
    if saved.status_code != 200:
        raise RuntimeError(f"saving the {desk.name} integration answered {saved.status_code}: {saved.text}")
    integration = saved.json()
    if integration.get("authorize_url"):
        async with httpx2.AsyncClient() as browser:
            granted = await browser.get(integration["authorize_url"], follow_redirects=False)
        callback = urlsplit(granted.headers["location"])
        integration = (await client.get(f"{callback.path}?{callback.query}")).json()
    if integration.get("status") != "active":
        raise RuntimeError(f"the {desk.name} integration is not active: {integration}")
    desk.connected(integration)


async def _workspaces(plan: SoakPlan, desks: list[Helpdesk], settings: Settings) -> list[Workspace]:
    """One workspace per helpdesk, each with the sample help centre as its knowledge base."""
    db = Database(plan.database_url)
    try:
        conversations = Conversations(db, Bus())
        made = []
        for index, desk in enumerate(desks):
            workspace, key = await conversations.create_workspace(f"Soak {desk.name}")
            await ingest_documents(settings, workspace.id, str(SAMPLE_KB_DIR))
            made.append(Workspace(index, workspace.id, workspace.widget_token, key, desk))
        return made
    finally:
        await db.dispose()


async def _endpoints(client: httpx2.AsyncClient, workspaces: list[Workspace], receiver: Receiver,
                     url: str) -> None:
    """Each workspace's webhook endpoint at the receiver; the first workspace also keeps a revoked one."""
    for workspace in workspaces:
        created = await client.post("/api/v1/webhooks", headers=workspace.admin,
                                    json={"url": f"{url}/hook/{workspace.index}", "events": ["message.created"]})
        receiver.secrets[str(workspace.index)] = created.json()["secret"]
    first = workspaces[0]
    revoked = await client.post("/api/v1/webhooks", headers=first.admin,
                                json={"url": f"{url}/revoked", "events": ["session.resolved", "session.closed"]})
    first.revoked_endpoint = str(revoked.json()["id"])


async def run_soak(plan: SoakPlan) -> dict[str, Any]:
    """One soak run: traffic under faults and restarts for `plan.seconds`, then the drain and the audit."""
    plan = replace(plan, database_url=Settings(_env_file=None, database_url=plan.database_url).resolved_database_url)
    await upgrade(plan.database_url)
    logs = plan.workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**RELAYDESK_ENV, "RELAYDESK_DATABASE_URL": plan.database_url,
           "RELAYDESK_DATA_DIR": str(plan.workdir / "data")}
    if plan.redis_url and plan.backend == "postgres":
        env["RELAYDESK_REDIS_URL"] = plan.redis_url
    fleet = Fleet(env, logs, *((2, 2) if plan.backend == "postgres" else (1, 0)))
    ledger = Ledger()
    client_transport, webhook_transport = Balancer(fleet, ledger, "visitors and admin"), Balancer(
        fleet, ledger, "helpdesk webhooks")
    # Abandoned answers (dropped connections) are the point here; the index builds of the knowledge bases are noise.
    quiet = {logging.getLogger("uvicorn.error"): logging.CRITICAL, logging.getLogger("bm25s"): logging.WARNING}
    levels = {logger: logger.level for logger in quiet}
    for logger, level in quiet.items():
        logger.setLevel(level)
    try:
        async with httpx2.AsyncClient(transport=client_transport, base_url=PUBLIC_URL, timeout=15) as client, \
                httpx2.AsyncClient(transport=webhook_transport, timeout=5) as webhooks:
            desks = [HELPDESKS[name](webhooks) for name in plan.helpdesks]
            receiver = Receiver()
            async with contextlib.AsyncExitStack() as stack:
                urls = [await stack.enter_async_context(served(desk.app())) for desk in desks]
                receiver_url = await stack.enter_async_context(served(receiver.app()))
                workspaces = await _workspaces(plan, desks, Settings(_env_file=None, database_url=plan.database_url,
                                                                     data_dir=plan.workdir / "data"))
                await fleet.start_all()
                try:
                    return await _run(plan, fleet, client, workspaces, urls, receiver, receiver_url, ledger)
                finally:
                    await fleet.stop()
    finally:
        for logger, level in levels.items():
            logger.setLevel(level)


async def _run(plan: SoakPlan, fleet: Fleet, client: httpx2.AsyncClient, workspaces: list[Workspace],
               urls: list[str], receiver: Receiver, receiver_url: str, ledger: Ledger) -> dict[str, Any]:
    for workspace, url in zip(workspaces, urls, strict=True):
        await _connect(client, workspace, url)
    await _endpoints(client, workspaces, receiver, receiver_url)
    plans = {w.desk.name: w.desk.faults for w in workspaces} | {"webhook receiver": receiver.faults}
    started = time.monotonic()
    until = started + plan.seconds
    traffic = Traffic(client, plan.seed, until)
    armed: Counter[str] = Counter()
    chaos: list[Awaitable[None]] = [
        inject_faults(random.Random(f"{plan.seed}:faults"), plans, until, armed),
        restart_processes(random.Random(f"{plan.seed}:restarts"), fleet, started, until),
    ]
    visitors = [traffic.visitor(w, n) for w in workspaces for n in range(plan.visitors_per_helpdesk)]
    await asyncio.gather(*chaos, *visitors)
    traffic_s = time.monotonic() - started
    for fault_plan in plans.values():
        fault_plan.faults = [f for f in fault_plan.faults if f.remaining is None and f.until is None]  # permanent
    drain_s = await settle(client, workspaces)
    audit = Audit()
    dead = {w.id: await _deliveries(client, w, "dead") for w in workspaces}
    all_dead = [job for jobs in dead.values() for job in jobs]
    for record in traffic.conversations:
        await audit_conversation(client, record, ledger, receiver, all_dead, audit)
    audit_dead_letters(workspaces, dead, {r.session_id for r in traffic.conversations if r.poisoned}, audit)
    audit_clients(ledger, fleet, started, audit)
    audit.check(receiver.bad_signatures == 0, "outgoing webhooks with a bad signature", str(receiver.bad_signatures))
    audit.check(not traffic.poison_pending, "no session got the permanent fault", POISONED_HELPDESK)
    report = _report(plan, fleet, traffic, receiver, ledger, audit, armed, traffic_s, drain_s)
    report["server_restarts"] = [{"server": o.member, "killed_at_s": round(o.killed_at - started, 1),
                                  "ready_at_s": round(o.ready_at - started, 1)} for o in fleet.outages]
    return report


def unknown_problems(audit: Audit) -> list[str]:
    """The broken guarantees that are not among the known defects."""
    return [problem for problem in audit.problems if problem.split(": ", 1)[0] not in KNOWN_DEFECTS]


def verdict(audit: Audit) -> str:
    unknown, known = len(unknown_problems(audit)), len(audit.problems) - len(unknown_problems(audit))
    if unknown:
        return f"FAIL ({unknown} problems, {known} of known defects)"
    return f"PASS ({known} problems of known defects)" if known else "PASS"


def _report(plan: SoakPlan, fleet: Fleet, traffic: Traffic, receiver: Receiver, ledger: Ledger, audit: Audit,
            armed: Counter[str], traffic_s: float, drain_s: float) -> dict[str, Any]:
    figures = audit.figures
    conversations = traffic.conversations
    processes = "2 servers + 2 workers, Redis" if plan.backend == "postgres" else "1 process with its workers"
    rows = [
        ("backend", f"{plan.backend} ({processes})"),
        ("seed", str(plan.seed)),
        ("traffic / drain after the faults stopped", f"{traffic_s:.0f} s / {drain_s:.1f} s"),
        ("helpdesks", ", ".join(plan.helpdesks)),
        ("sessions / handed off / reached the helpdesk",
         f"{len(conversations)} / {sum(c.handed_off for c in conversations)} / {sum(c.linked for c in conversations)}"),
        ("visitor / AI messages", f"{figures['visitor messages']} / {figures['AI messages']}"),
        ("helpdesk transcripts exactly relaydesk's", str(figures["helpdesk transcripts exact"])),
        ("rep replies typed / acknowledged / stored",
         f"{figures['rep replies typed']} / {figures['rep replies acknowledged by relaydesk']} / "
         f"{figures['rep replies stored']}"),
        ("resolved in relaydesk / closed in the helpdesk",
         f"{figures['resolved in relaydesk']} / {figures['closed in the helpdesk']}"),
        ("outgoing webhooks: messages / accepted incl. repeats",
         f"{figures['messages in sessions']} / {receiver.accepted}"),
        ("faults injected", ", ".join(f"{k} {v}" for k, v in sorted(armed.items())) or "none"),
        ("SIGKILLs (restarted)", ", ".join(f"{k} {v}" for k, v in sorted(fleet.kills.items())) or "none"),
        ("client requests / errors in restarts / outside",
         f"{sum(ledger.requests.values())} / {figures['client errors during a server restart']} / "
         f"{figures['client errors outside restarts']}"),
        ("dead letters: permanent faults / unexpected",
         f"{figures['dead letters (permanent faults)']} / {figures['dead letters (unexpected)']}"),
        ("verdict", verdict(audit)),
        *((f"  {kind}{' (known)' if kind in KNOWN_DEFECTS else ''}", str(count))
          for kind, count in audit.kinds.most_common()),
    ]
    width = max(len(name) for name, _ in rows)
    return {
        "backend": plan.backend, "seed": plan.seed, "seconds": plan.seconds, "traffic_s": traffic_s,
        "drain_s": drain_s, "sessions": len(conversations), "figures": dict(figures), "faults": dict(armed),
        "kills": dict(fleet.kills), "client_requests": dict(ledger.requests), "problems": audit.problems,
        "problem_kinds": dict(audit.kinds),
        "client_errors_during_restarts": dict(Counter(f"{p.who}: {p.request.split()[0]} {p.outcome}"
                                                      for p in ledger.problems if fleet.during_restart(p.at))),
        "logs": str(plan.workdir / "logs"), "passed": not unknown_problems(audit),
        "table": [f"{name:<{width}}  {value}" for name, value in rows],
    }


def new_seed() -> int:
    """A fresh seed for a run that was not given one."""
    return uuid.uuid4().int % 1_000_000


def _examples(problems: list[str], per_kind: int = 3) -> list[str]:
    """A few problems of each kind, for the terminal; the JSON output holds them all."""
    shown: Counter[str] = Counter()
    lines = []
    for problem in problems:
        kind = problem.split(": ", 1)[0]
        shown[kind] += 1
        if shown[kind] <= per_kind:
            lines.append(f"  e.g. {problem[:400]}")
    return lines


async def run_soak_bench(
    *, minutes: float, seed: int | None, backends: list[str], postgres_url: str, redis_url: str, visitors: int
) -> dict[str, Any]:
    """`relaydesk bench soak`: one run per backend on a throwaway database; the processes' logs are kept."""
    seed = new_seed() if seed is None else seed
    results: dict[str, Any] = {"seed": seed, "minutes": minutes, "cpu_count": os.cpu_count(), "runs": {}}
    table: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="relaydesk-soak-"))
    for backend in backends:
        run_dir = workdir / backend
        run_dir.mkdir()
        async with throwaway_database(backend, postgres_url, run_dir) as url:
            result = await run_soak(SoakPlan(backend, url, minutes * 60, seed, run_dir, redis_url=redis_url,
                                             visitors_per_helpdesk=visitors))
        results["runs"][backend] = result
        table += [*result["table"], *_examples(result["problems"]), ""]
    results["passed"] = all(r["passed"] for r in results["runs"].values())
    table.append(f"process logs in {workdir}; replay with --seed {seed}")
    results["table"] = table
    return results
