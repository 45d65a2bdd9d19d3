"""A worker process killed with SIGKILL in the middle of a job loses nothing and duplicates nothing in effect."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relaydesk.core import webhooks_out
from relaydesk.core.conversations import NewMessage
from tests.conftest import LiveServer, app_client, make_settings
from tests.helpers import api, create_workspace
from tests.scaleout.processes import Process, relaydesk_env


class HangingTarget:
    """Accepts webhooks, except that the first one it sees hangs until its sender goes away."""

    def __init__(self) -> None:
        self.secret = ""
        self.receipts: list[tuple[str, str, int]] = []
        self.hung = asyncio.Event()
        self.hung_id: str | None = None
        self.abandoned = False

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not webhooks_out.verify(self.secret, headers, body):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        webhook_id = headers["webhook-id"]
        if self.hung_id is None:
            self.hung_id = webhook_id
            self.hung.set()
            while not await request.is_disconnected():  # noqa: ASYNC110 - Starlette offers no event for it
                await asyncio.sleep(0.05)
            self.abandoned = True
            return JSONResponse({"error": "sender went away"}, status_code=500)
        data = (await request.json())["data"]
        self.receipts.append((webhook_id, data["session_id"], int(data["seq"])))
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.endpoint, methods=["POST"])])


async def test_worker_killed_mid_job_loses_and_duplicates_nothing(postgres_url: str, tmp_path: Path) -> None:
    settings = make_settings(postgres_url, tmp_path)
    target = HangingTarget()
    env = relaydesk_env(postgres_url, tmp_path, RELAYDESK_DELIVERY_LEASE_S="3", RELAYDESK_DELIVERY_CONCURRENCY="4",
                        RELAYDESK_DELIVERY_TIMEOUT_S="2.5")
    async with LiveServer(target.app()) as receiver, app_client(settings, run_workers=False) as (client, app):
        conversations = app.state.runtime.conversations
        workspace_id, _, key = await create_workspace(app)
        created = await client.post("/api/v1/webhooks", headers=api(key),
                                    json={"url": f"{receiver.url}/hook", "events": ["message.created"]})
        target.secret = created.json()["secret"]
        contact = await conversations.create_contact(workspace_id)
        sessions = [(await conversations.open_session(workspace_id, contact.id)).id for _ in range(6)]
        for n in range(5):
            for session_id in sessions:
                await conversations.post_message(workspace_id, session_id, NewMessage("visitor", f"message {n}"))

        first = Process(["worker"], env, tmp_path / "worker-1.log")
        try:
            await asyncio.wait_for(target.hung.wait(), 30)
            first.kill()
        finally:
            first.stop()
        killed_at = time.monotonic()
        second = Process(["worker"], env, tmp_path / "worker-2.log")
        try:
            deadline = time.monotonic() + 60
            while True:
                # The agent answers too (its jobs run on the workers), so the store says how many messages to expect.
                totals = {s: (await conversations.get_session(workspace_id, s)).last_seq for s in sessions}
                if len({r[0] for r in target.receipts}) >= sum(totals.values()):
                    break
                assert time.monotonic() < deadline, f"not all delivered:\n{second.output()}"
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
        finally:
            second.stop()
        took_over_after = time.monotonic() - killed_at

    assert target.abandoned, "the killed worker's request should have been cut off"
    unique: dict[str, tuple[str, int]] = {}
    for webhook_id, session_id, seq in target.receipts:
        unique.setdefault(webhook_id, (session_id, seq))
    assert target.hung_id in unique, "the job held by the killed worker was redone"
    by_session: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for webhook_id, session_id, seq in target.receipts:
        if webhook_id not in seen:
            seen.add(webhook_id)
            by_session[session_id].append(seq)
    assert sorted(by_session) == sorted(sessions)
    assert all(seqs == list(range(1, totals[s] + 1)) for s, seqs in by_session.items()), dict(by_session)
    assert all(totals[s] >= 5 for s in sessions)
    # A repeat can only be a job another in-flight request had finished at the target when the worker died;
    # it carries the same webhook-id, so a receiver drops it.
    assert len(target.receipts) - len(unique) <= 4
    assert took_over_after < 60
