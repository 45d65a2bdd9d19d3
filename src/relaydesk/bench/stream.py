"""`relaydesk bench stream`: rep replies reaching open widget streams, and what an open stream costs the server.

A `relaydesk serve` process holds N widget streams opened by this process. Rep replies are posted through the admin
API to random sessions at a steady pace; each reply's latency is the time from its commit (the message's `created_at`,
stamped in the committing transaction) to its arrival on the visitor's stream. The server's resident memory is read
before and after the streams open. Client and server share the machine, so the figures include the client's own work.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2

from relaydesk.bench.core import serve_process, throwaway_database, wait_until
from relaydesk.core.bus import Bus
from relaydesk.core.conversations import Conversations
from relaydesk.core.db import Database


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def _follow(client: httpx2.AsyncClient, url: str, headers: dict[str, str], arrivals: dict[str, float],
                  opened: asyncio.Event) -> None:
    async with client.stream("GET", url, headers=headers, timeout=httpx2.Timeout(30, read=None)) as response:
        opened.set()
        event: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line:
                name, _, value = line.partition(":")
                event[name] = value.lstrip()
                continue
            if event.get("event") == "message":
                arrived = time.time()
                message = json.loads(event["data"])
                if message["author"] == "rep" and message["kind"] == "text":
                    committed = datetime.fromisoformat(message["created_at"]).timestamp()
                    arrivals[message["client_id"]] = arrived - committed
            event = {}


async def _run(
    backend: str, postgres_url: str, workdir: Path, streams: int, replies: int, rate: float
) -> dict[str, Any]:
    async with throwaway_database(backend, postgres_url, workdir) as url:
        db = Database(url)
        workspace, key = await Conversations(db, Bus()).create_workspace("bench")
        await db.dispose()
        limits = httpx2.Limits(max_connections=streams + 64, max_keepalive_connections=streams + 64)
        tasks: list[asyncio.Task[None]] = []
        async with serve_process(url, workdir) as (pid, base), httpx2.AsyncClient(
            base_url=base, timeout=30, limits=limits
        ) as client:
            try:
                widget = {"X-Widget-Token": workspace.widget_token}
                sessions: list[tuple[str, dict[str, str]]] = []
                for _ in range(streams):
                    token = (await client.post("/api/widget/v1/contacts", json={}, headers=widget)).json()["token"]
                    headers = {**widget, "Authorization": f"Bearer {token}"}
                    session = (await client.post("/api/widget/v1/sessions", json={}, headers=headers)).json()["id"]
                    sessions.append((session, headers))
                await asyncio.sleep(1.0)
                rss_before = _rss_bytes(pid)
                arrivals: dict[str, float] = {}
                for session, headers in sessions:
                    opened = asyncio.Event()
                    tasks.append(asyncio.create_task(_follow(
                        client, f"/api/widget/v1/sessions/{session}/events", headers, arrivals, opened)))
                    await opened.wait()
                await asyncio.sleep(2.0)
                rss_after = _rss_bytes(pid)
                admin = {"Authorization": f"Bearer {key}"}
                sent: list[str] = []
                started = time.perf_counter()
                for n in range(replies):
                    session, _ = random.choice(sessions)
                    client_id = f"bench-{n}"
                    response = await client.post(f"/api/v1/sessions/{session}/messages", headers=admin,
                                                 json={"text": f"reply {n}", "client_id": client_id})
                    response.raise_for_status()
                    sent.append(client_id)
                    await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
                deadline = time.monotonic() + 30
                await wait_until(lambda: len(arrivals) >= len(sent) or time.monotonic() > deadline, 0.05)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        latencies_ms = [arrivals[c] * 1000 for c in sent if c in arrivals]
        return {
            "streams": streams,
            "replies": len(sent),
            "delivered": len(latencies_ms),
            "latency_ms": {"median": statistics.median(latencies_ms), "p99": _percentile(latencies_ms, 0.99),
                           "max": max(latencies_ms)},
            "server_rss_mb": {"before_streams": rss_before / 2**20, "after_streams": rss_after / 2**20},
            "memory_per_stream_kb": (rss_after - rss_before) / streams / 1024,
        }


async def run_stream_bench(
    *, backends: list[str], postgres_url: str, streams: int, replies: int, rate: float
) -> dict[str, Any]:
    """The figures per backend, and a table to print."""
    # Each stream is a socket on both ends; the server process inherits the raised limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * streams + 1024)), hard))
    figures: dict[str, Any] = {"cpu_count": os.cpu_count(), "backends": {}}
    table = [f"{'backend':<10} {'streams':>8} {'replies':>8} {'median ms':>10} {'p99 ms':>8} {'KB/stream':>10}"]
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-") as tmp:
        for backend in backends:
            result = await _run(backend, postgres_url, Path(tmp), streams, replies, rate)
            figures["backends"][backend] = result
            latency = result["latency_ms"]
            table.append(f"{backend:<10} {result['streams']:>8} {result['delivered']:>8} {latency['median']:>10.1f} "
                         f"{latency['p99']:>8.1f} {result['memory_per_stream_kb']:>10.1f}")
    figures["table"] = table
    return figures
