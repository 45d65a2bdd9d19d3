"""Two servers and two workers on PostgreSQL and Redis; one of each SIGKILLed mid-run; nothing lost, nothing doubled.

Visitors write through either server (a client-side round robin that fails over, as a load balancer would), their
widget streams stay open on the other server and reconnect with Last-Event-ID when it dies, reps answer through
either server, and an outgoing webhook receives every message. At the end every acknowledged message is stored once,
every stream saw every visible message once and in order, and the receiver got every message once per session, in
order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relaydesk.core import webhooks_out
from tests.conftest import LiveServer, app_client, make_settings
from tests.helpers import create_workspace
from tests.scaleout.processes import Process, relaydesk_env, start_server

VISITORS = 6
ROUNDS = 8


class Receiver:
    """The customer's webhook endpoint: records message.created events, first receipt per webhook-id."""

    def __init__(self) -> None:
        self.secret = ""
        self.seen: set[str] = set()
        self.by_session: dict[str, list[int]] = defaultdict(list)
        self.repeats = 0

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not webhooks_out.verify(self.secret, headers, body):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if headers["webhook-id"] in self.seen:
            self.repeats += 1
            return JSONResponse({"ok": True})
        self.seen.add(headers["webhook-id"])
        data = json.loads(body)["data"]
        self.by_session[data["session_id"]].append(int(data["seq"]))
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.endpoint, methods=["POST"])])


class Balancer:
    """Round robin over the live servers; a request that cannot reach one goes to the next."""

    def __init__(self, urls: list[str], client: httpx2.AsyncClient) -> None:
        self.urls = urls
        self.client = client
        self._next = itertools.cycle(range(len(urls)))
        self.down: set[str] = set()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        for _ in range(len(self.urls) * 3):
            url = self.urls[next(self._next)]
            if url in self.down:
                continue
            try:
                response = await self.client.request(method, url + path, **kwargs)
            except httpx2.TransportError:
                self.down.add(url)
                continue
            if response.status_code < 500:
                return response
            await asyncio.sleep(0.1)
        raise AssertionError(f"no server answered {method} {path}")


async def follow(balancer: Balancer, path: str, headers: dict[str, str], got: list[int], stop: asyncio.Event) -> None:
    """A widget's stream: reconnects through the balancer with Last-Event-ID whenever it drops."""
    while not stop.is_set():
        for url in balancer.urls:
            if url in balancer.down:
                continue
            last = {"Last-Event-ID": str(got[-1])} if got else {}
            with contextlib.suppress(httpx2.TransportError):
                async with balancer.client.stream("GET", url + path, headers={**headers, **last},
                                                  timeout=httpx2.Timeout(5, read=None)) as response:
                    event: dict[str, str] = {}
                    async for line in response.aiter_lines():
                        if line:
                            field, _, value = line.partition(":")
                            event[field] = value.lstrip()
                        elif event.get("event") == "message":
                            got.append(int(event["id"]))
                            event = {}
                        else:
                            event = {}
                        if stop.is_set():
                            return
        await asyncio.sleep(0.2)


async def test_two_servers_two_workers_survive_sigkill_of_one_each(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    receiver = Receiver()
    settings = make_settings(postgres_url, tmp_path)
    async with LiveServer(receiver.app()) as hooks, app_client(settings, run_workers=False) as (client, app):
        _, widget_token, key = await create_workspace(app)
        created = await client.post("/api/v1/webhooks", headers={"Authorization": f"Bearer {key}"},
                                    json={"url": f"{hooks.url}/hook", "events": ["message.created"]})
        receiver.secret = created.json()["secret"]

        env = relaydesk_env(postgres_url, tmp_path, RELAYDESK_REDIS_URL=redis_url, RELAYDESK_DELIVERY_LEASE_S="3",
                            RELAYDESK_DELIVERY_TIMEOUT_S="2.5")
        server_a, url_a = await start_server(env, tmp_path / "serve-a.log")
        server_b, url_b = await start_server(env, tmp_path / "serve-b.log")
        workers = [Process(["worker"], env, tmp_path / f"worker-{i}.log") for i in (1, 2)]
        stop = asyncio.Event()
        try:
            async with httpx2.AsyncClient(timeout=10) as http:
                balancer = Balancer([url_a, url_b], http)
                admin = {"Authorization": f"Bearer {key}"}
                visitors = []
                for _ in range(VISITORS):
                    token = (await balancer.request("POST", "/api/widget/v1/contacts", json={},
                                                    headers={"X-Widget-Token": widget_token})).json()["token"]
                    headers = {"X-Widget-Token": widget_token, "Authorization": f"Bearer {token}"}
                    session = (await balancer.request("POST", "/api/widget/v1/sessions", json={},
                                                      headers=headers)).json()["id"]
                    visitors.append((session, headers))
                streams: dict[str, list[int]] = {session: [] for session, _ in visitors}
                followers = [asyncio.create_task(follow(balancer, f"/api/widget/v1/sessions/{s}/events", h,
                                                        streams[s], stop)) for s, h in visitors]
                acknowledged: dict[str, set[str]] = defaultdict(set)

                async def converse(session: str, headers: dict[str, str]) -> None:
                    for n in range(ROUNDS):
                        posted = await balancer.request(
                            "POST", f"/api/widget/v1/sessions/{session}/messages",
                            json={"text": f"visitor {n}", "client_id": f"v{n}"}, headers=headers)
                        assert posted.status_code in (200, 201), posted.text
                        acknowledged[session].add(f"v{n}")
                        reply = await balancer.request(
                            "POST", f"/api/v1/sessions/{session}/messages",
                            json={"text": f"rep {n}", "client_id": f"r{n}", "author_name": "Ana"}, headers=admin)
                        assert reply.status_code in (200, 201), reply.text
                        acknowledged[session].add(f"r{n}")
                        await asyncio.sleep(0.05)

                conversations = asyncio.gather(*(converse(s, h) for s, h in visitors))
                await asyncio.sleep(1.0)
                workers[0].kill()
                server_a.kill()
                await conversations

                # Everything acknowledged is stored exactly once.
                expected: dict[str, list[int]] = {}
                totals: dict[str, int] = {}
                for session, _ in visitors:
                    stored = (await balancer.request("GET", f"/api/v1/sessions/{session}/messages",
                                                     headers=admin)).json()["messages"]
                    client_ids = [m["client_id"] for m in stored if m["client_id"]]
                    assert sorted(client_ids) == sorted(acknowledged[session] | {
                        m["client_id"] for m in stored if m["author"] == "ai"}), session
                    assert len(client_ids) == len(set(client_ids))
                    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
                    expected[session] = [m["seq"] for m in stored if m["kind"] != "note"]
                    totals[session] = len(stored)

                # Every stream saw every message once, in order, across the server's death.
                deadline = asyncio.get_running_loop().time() + 20
                while any(streams[s] != expected[s] for s in expected):
                    assert asyncio.get_running_loop().time() < deadline, {
                        s: {"missing": sorted(set(expected[s]) - set(streams[s])),
                            "repeated": sorted({q for q in streams[s] if streams[s].count(q) > 1}),
                            "in_order": streams[s] == sorted(streams[s])}
                        for s in expected if streams[s] != expected[s]}
                    await asyncio.sleep(0.1)

                # The customer's endpoint got every message once per session, in order, despite the dead worker.
                while any(receiver.by_session.get(s) != list(range(1, totals[s] + 1)) for s in expected):
                    assert asyncio.get_running_loop().time() < deadline + 20, {
                        s: receiver.by_session.get(s, [])[-3:] for s in expected}
                    await asyncio.sleep(0.1)
                stop.set()
                for task in followers:
                    task.cancel()
        finally:
            stop.set()
            for process in [server_a, server_b, *workers]:
                process.stop()
