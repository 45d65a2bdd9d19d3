"""`relaydesk bench drain`: deliveries to a helpdesk that answers in 50 ms under its documented rate limits, and the
time to drain a backlog built up while it was down.

`relaydesk demo` runs with its sandbox HubSpot, which enforces HubSpot's documented limits on every call (an OAuth
app: 110 calls per rolling ten seconds per account) and here answers each call after 50 ms. Sessions are handed off
to it; then visitors write in those sessions, each message one delivery job for HubSpot:

1. steady: `steady` messages sent as fast as the widget API takes them; deliveries per second until all are done;
2. outage: the sandbox answers 503 to everything for `outage_s`; `backlog` messages are sent meanwhile; when it
   is back, the time until every one of them has been delivered, and how many were dead-lettered (none should be).

The rate limit is the ceiling: relaydesk's HubSpot client keeps under it rather than collecting 429s.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import func, select

from relaydesk.bench.core import throwaway_database
from relaydesk.bench.demo import SANDBOX, Demo, demo_process
from relaydesk.config import Settings
from relaydesk.connectors.outbound import SEND_MESSAGE
from relaydesk.core.db import Database
from relaydesk.core.models import OutboxJob
from relaydesk.sandbox.hubspot.config import SandboxConfig

LATENCY_S = 0.050
SENDERS = 16


async def _counts(db: Database) -> dict[str, int]:
    """Delivery jobs for HubSpot messages, by state."""
    async with db.read() as session:
        rows = await session.execute(select(OutboxJob.state, func.count()).where(OutboxJob.kind == SEND_MESSAGE)
                                     .group_by(OutboxJob.state))
        return {str(state): int(count) for state, count in rows.all()}


async def _send(client: httpx2.AsyncClient, sessions: list[tuple[str, dict[str, str]]], count: int, tag: str) -> None:
    """`count` visitor messages spread over the sessions, from SENDERS concurrent senders."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def sender() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            session_id, headers = sessions[n % len(sessions)]
            response = await client.post(f"/api/widget/v1/sessions/{session_id}/messages", headers=headers,
                                         json={"text": f"{tag} message {n}", "client_id": f"{tag}-{n}"})
            response.raise_for_status()

    await asyncio.gather(*(sender() for _ in range(SENDERS)))


async def _until_done(db: Database, total: int, timeout_s: float) -> tuple[float, dict[str, int]]:
    """Seconds until `total` message jobs are finished (done or dead), and the final counts."""
    started = time.perf_counter()
    while True:
        counts = await _counts(db)
        if counts.get("done", 0) + counts.get("dead", 0) >= total:
            return time.perf_counter() - started, counts
        if time.perf_counter() - started > timeout_s:
            raise RuntimeError(f"not drained after {timeout_s:.0f} s: {counts}")
        await asyncio.sleep(0.25)


async def _fault(client: httpx2.AsyncClient, demo: Demo, body: dict[str, Any]) -> None:
    (await client.post(f"{demo.base}{SANDBOX}/_sandbox/faults", json=body)).raise_for_status()


async def _run(workdir: Path, database_url: str | None, sessions_n: int, steady: int, backlog: int,
               outage_s: float) -> dict[str, Any]:
    settings = Settings(_env_file=None, data_dir=workdir / "demo", database_url=database_url)
    async with demo_process(workdir, database_url) as demo, httpx2.AsyncClient(
            base_url=demo.base, timeout=60) as client:
        db = Database(settings.resolved_database_url)
        try:
            sessions = [await demo.visitor_session(client) for _ in range(sessions_n)]
            await demo.hand_off(client, [s for s, _ in sessions])
            await _fault(client, demo, {"kind": "latency", "seconds": LATENCY_S, "count": None})
            started = time.perf_counter()
            await _send(client, sessions, steady, "steady")
            await _until_done(db, steady, timeout_s=3600)
            steady_rate = steady / (time.perf_counter() - started)
            await _fault(client, demo, {"kind": "outage", "seconds": outage_s, "status": 503})
            outage_ends = time.perf_counter() + outage_s
            await _send(client, sessions, backlog, "backlog")
            sent_by = outage_ends - time.perf_counter()
            await asyncio.sleep(max(0.0, outage_ends - time.perf_counter()))
            drain_s, counts = await _until_done(db, steady + backlog, timeout_s=4 * 3600)
        finally:
            await db.dispose()
    limit = SandboxConfig().oauth_burst_limit / 10
    return {"sessions": sessions_n, "steady_messages": steady, "steady_deliveries_per_s": steady_rate,
            "rate_limit_calls_per_s": limit, "backlog": backlog, "outage_s": outage_s,
            "backlog_sent_before_outage_end": sent_by >= 0, "drain_after_outage_s": drain_s,
            "backlog_deliveries_per_s": backlog / drain_s if drain_s else None,
            "dead_letters": counts.get("dead", 0), "jobs": counts}


async def run_drain_bench(*, backends: list[str], postgres_url: str, sessions: int, steady: int, backlog: int,
                          outage_s: float) -> dict[str, Any]:
    """The drain figures on each backend, and a table to print."""
    figures: dict[str, Any] = {"latency_ms": LATENCY_S * 1000, "backends": {}}
    table = [f"{'backend':<10} {'steady deliveries/s':>20} {'limit calls/s':>14} {'backlog':>8} {'outage s':>9}"
             f" {'drain s':>8} {'backlog/s':>10} {'dead':>5}"]
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-") as tmp:
        for backend in backends:
            workdir = Path(tmp) / backend
            workdir.mkdir()
            async with throwaway_database(backend, postgres_url, workdir) as url:
                found = await _run(workdir, url if backend == "postgres" else None, sessions, steady, backlog,
                                   outage_s)
            figures["backends"][backend] = found
            table.append(f"{backend:<10} {found['steady_deliveries_per_s']:>20.1f}"
                         f" {found['rate_limit_calls_per_s']:>14.1f} {backlog:>8} {outage_s:>9.0f}"
                         f" {found['drain_after_outage_s']:>8.1f} {found['backlog_deliveries_per_s']:>10.1f}"
                         f" {found['dead_letters']:>5}")
    figures["table"] = table
    return figures
