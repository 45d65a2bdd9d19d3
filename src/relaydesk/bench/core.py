"""`relaydesk bench core`: messages accepted per second end to end, and the outbox drain rate.

Accept rate: a `relaydesk serve` process on each backend, visitors posting messages over HTTP from this process; a
message counts when its 201 came back, which happens only after it was committed and its event published.
Drain rate: jobs queued for an outgoing webhook whose receiver answers after 20 ms, drained by one worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relaydesk.config import Settings
from relaydesk.core import outbox, webhooks_out
from relaydesk.core.bus import Bus
from relaydesk.core.conversations import Conversations
from relaydesk.core.db import Database, upgrade
from relaydesk.core.delivery import DeliveryWorker
from relaydesk.core.models import OutboxJob, WebhookEndpoint
from relaydesk.crypto import SecretBox

TARGET_DELAY_S = 0.020
# The load comes from one address and each visitor writes as fast as it can: lift the flood limits.
LIFTED_LIMITS = {
    "RELAYDESK_WIDGET_IP_BURST": "1000000", "RELAYDESK_WIDGET_IP_PER_SECOND": "1000000",
    "RELAYDESK_WIDGET_CONTACT_BURST": "1000000", "RELAYDESK_WIDGET_CONTACT_PER_SECOND": "1000000",
}
CONCURRENCY = 32


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def throwaway_database(backend: str, postgres_url: str, workdir: Path) -> AsyncIterator[str]:
    """A throwaway database at the newest migration."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        await upgrade(url)
        yield url
        return
    import asyncpg

    name = f"relaydesk_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = postgres_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    await upgrade(url)
    try:
        yield url
    finally:
        admin = await asyncpg.connect(postgres_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def serve_process(url: str, workdir: Path) -> AsyncIterator[tuple[int, str]]:
    """A `relaydesk serve` process on `url`, ready to answer: its pid and base URL."""
    port = free_port()
    env = {**os.environ, "RELAYDESK_DATABASE_URL": url, "RELAYDESK_DATA_DIR": str(workdir),
           "RELAYDESK_SECRET_KEY": "bench", "RELAYDESK_LOG_LEVEL": "warning", "RELAYDESK_LOG_JSON": "true",
           **LIFTED_LIMITS}
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "relaydesk", "serve", "--port", str(port), "--no-workers",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx2.AsyncClient(base_url=base) as client:
            for _ in range(300):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx2.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the server did not become ready")
        yield server.pid, base
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)


async def _accept_rate(url: str, workdir: Path, messages: int, processes: int = 1) -> float:
    """Messages per second through `processes` separate server processes, the visitors spread evenly over them."""
    db = Database(url)
    workspace, _ = await Conversations(db, Bus()).create_workspace("bench")
    await db.dispose()
    async with contextlib.AsyncExitStack() as stack:
        bases = [(await stack.enter_async_context(serve_process(url, workdir)))[1] for _ in range(processes)]
        clients = [await stack.enter_async_context(httpx2.AsyncClient(
            base_url=base, timeout=30, limits=httpx2.Limits(max_connections=CONCURRENCY))) for base in bases]
        sessions = []
        for n in range(CONCURRENCY):
            client = clients[n % processes]
            token = (await client.post("/api/widget/v1/contacts", json={},
                                       headers={"X-Widget-Token": workspace.widget_token})).json()["token"]
            headers = {"X-Widget-Token": workspace.widget_token, "Authorization": f"Bearer {token}"}
            session = (await client.post("/api/widget/v1/sessions", json={}, headers=headers)).json()["id"]
            sessions.append((client, session, headers))
        per_session = messages // CONCURRENCY

        async def visitor(client: httpx2.AsyncClient, session_id: str, headers: dict[str, str]) -> None:
            for i in range(per_session):
                response = await client.post(f"/api/widget/v1/sessions/{session_id}/messages",
                                             json={"text": f"message {i}", "client_id": f"m{i}"}, headers=headers)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(visitor(c, s, h) for c, s, h in sessions))
        return per_session * CONCURRENCY / (time.perf_counter() - started)


async def wait_until(condition: Callable[[], bool], step_s: float = 0.02) -> None:
    while not condition():  # noqa: ASYNC110 - polling a flag another library sets
        await asyncio.sleep(step_s)


async def _drain_rate(url: str, workdir: Path, jobs: int) -> float:
    """Deliveries per second from a backlog of `jobs`, against a receiver that answers in 20 ms."""

    async def receive(request: Request) -> Response:
        await request.body()
        await asyncio.sleep(TARGET_DELAY_S)
        return JSONResponse({"ok": True})

    port = free_port()
    target = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/hook", receive, methods=["POST"])]),
                                           host="127.0.0.1", port=port, log_config=None, access_log=False))
    target_task = asyncio.create_task(target.serve())
    await wait_until(lambda: target.started)
    db = Database(url)
    box = SecretBox("bench")
    conversations = Conversations(db, Bus())
    workspace, _ = await conversations.create_workspace("bench")
    contact = await conversations.create_contact(workspace.id)
    sessions = [(await conversations.open_session(workspace.id, contact.id)).id for _ in range(100)]
    async with db.transaction() as tx:
        endpoint = WebhookEndpoint(workspace_id=workspace.id, url=f"http://127.0.0.1:{port}/hook",
                                   secret_encrypted=box.encrypt(webhooks_out.new_secret()), events=[])
        tx.add(endpoint)
        await tx.flush()
        for n in range(jobs):
            session_id = sessions[n % len(sessions)]
            outbox.enqueue(tx, workspace_id=workspace.id, session_id=session_id, target=f"webhook:{endpoint.id}",
                           kind=webhooks_out.KIND, idempotency_key=f"bench-{n}",
                           payload={"endpoint_id": endpoint.id, "type": "message.created",
                                    "data": {"session_id": session_id, "seq": n}})
    settings = Settings(_env_file=None, delivery_concurrency=64, delivery_poll_s=0.05)
    async with httpx2.AsyncClient(timeout=10, limits=httpx2.Limits(max_connections=64)) as http:
        worker = DeliveryWorker(db, Bus(), settings, {webhooks_out.KIND: webhooks_out.WebhookSender(db, box, http)})
        stop = asyncio.Event()
        started = time.perf_counter()
        run = asyncio.create_task(worker.run(stop))
        while True:
            async with db.read() as session:
                left = await session.scalar(
                    select(func.count()).select_from(OutboxJob).where(OutboxJob.state != "done"))
            if not left:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        stop.set()
        await run
    await db.dispose()
    target.should_exit = True
    await target_task
    return jobs / elapsed


async def run_core_bench(
    *, backends: list[str], postgres_url: str, runs: int, messages: int, jobs: int, processes: list[int] | None = None
) -> dict[str, Any]:
    """Medians over `runs` of each figure, per backend, and a table to print. With `processes`, the accept rate is
    also measured with that many server processes sharing the database, as a ratio to one process."""
    counts = sorted(set(processes or [1]) | {1})
    figures: dict[str, Any] = {"runs": runs, "messages_per_run": messages, "jobs_per_run": jobs,
                               "target_delay_ms": TARGET_DELAY_S * 1000, "cpu_count": os.cpu_count(), "backends": {}}
    table = [f"{'backend':<10} {'processes':>9} {'accepted msg/s (median)':>24} {'vs 1 process':>12}"
             f" {'outbox drain jobs/s (median)':>30}"]
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-") as tmp:
        workdir = Path(tmp)
        for backend in backends:
            accepted: dict[int, list[float]] = {count: [] for count in counts}
            drained: list[float] = []
            for _ in range(runs):
                for count in counts:
                    async with throwaway_database(backend, postgres_url, workdir) as url:
                        accepted[count].append(await _accept_rate(url, workdir, messages, count))
                async with throwaway_database(backend, postgres_url, workdir) as url:
                    drained.append(await _drain_rate(url, workdir, jobs))
            one = statistics.median(accepted[1])
            figures["backends"][backend] = {
                "accepted_per_s": {"median": one, "runs": accepted[1]},
                "accepted_per_s_by_processes": {
                    str(count): {"median": statistics.median(rates), "runs": rates,
                                 "ratio_to_one": statistics.median(rates) / one}
                    for count, rates in accepted.items()
                },
                "drain_per_s": {"median": statistics.median(drained), "runs": drained},
            }
            for count, rates in accepted.items():
                drain = f"{statistics.median(drained):>30.0f}" if count == 1 else ""
                table.append(f"{backend:<10} {count:>9} {statistics.median(rates):>24.0f}"
                             f" {statistics.median(rates) / one:>11.2f}x {drain}".rstrip())
    figures["table"] = table
    return figures
