"""`relaydesk bench webhook`: a rep's reply in the helpdesk reaching the visitor's open widget stream, against a floor.

The path measured is the whole inbound one: `relaydesk demo` runs with its sandbox HubSpot; a reply typed in the
sandbox's rep console becomes a signed webhook to relaydesk, which verifies it, records the receipt, stores the rep
message and streams it to the visitor. Latency runs from the console request to the message's arrival on the stream,
so it includes the console's own work: an upper bound on webhook received → on the stream.

The floor is the same server stack (uvicorn, Starlette, sse-starlette) relaying a posted message to an SSE stream
with no database, no signature and no routing, measured the same way at the same rate and number of open streams.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relaydesk.bench.core import free_port, throwaway_database, wait_until
from relaydesk.bench.demo import CONSOLE, demo_process, paced, start_process


def floor_app() -> Starlette:
    """The floor: POST /relay/{n} puts a message on stream n; GET /stream/{n} sends what arrives as SSE."""
    queues: dict[str, asyncio.Queue[str]] = {}

    async def stream(request: Request) -> Response:
        queue = queues.setdefault(request.path_params["n"], asyncio.Queue())

        async def events() -> AsyncIterator[dict[str, str]]:
            while True:
                yield {"event": "message", "data": await queue.get()}

        return EventSourceResponse(events())

    async def relay(request: Request) -> Response:
        await queues.setdefault(request.path_params["n"], asyncio.Queue()).put((await request.body()).decode())
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/stream/{n}", stream), Route("/relay/{n}", relay, methods=["POST"])])


async def _follow(client: httpx2.AsyncClient, url: str, headers: dict[str, str], on_message: Any,
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
                on_message(time.perf_counter(), event["data"])
            event = {}


async def _open_all(client: httpx2.AsyncClient, targets: list[tuple[str, dict[str, str]]], on_message: Any
                    ) -> list[asyncio.Task[None]]:
    tasks = []
    for url, headers in targets:
        opened = asyncio.Event()
        tasks.append(asyncio.create_task(_follow(client, url, headers, on_message, opened)))
        await opened.wait()
    return tasks


def _summary(latencies_s: list[float], sent: int) -> dict[str, Any]:
    ordered = sorted(ms * 1000 for ms in latencies_s)
    return {"sent": sent, "delivered": len(ordered), "median_ms": statistics.median(ordered),
            "p99_ms": ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)], "max_ms": ordered[-1]}


async def _relaydesk(workdir: Path, database_url: str | None, streams: int, threads: int, replies: int, rate: float,
                     limits: httpx2.Limits) -> dict[str, Any]:
    tasks: list[asyncio.Task[None]] = []
    async with demo_process(workdir, database_url) as demo, httpx2.AsyncClient(
            base_url=demo.base, timeout=60, limits=limits) as client:
        try:
            sessions = [await demo.visitor_session(client) for _ in range(streams)]
            thread_of = await demo.hand_off(client, [s for s, _ in sessions[:threads]])
            handed = list(thread_of)
            sent_at: dict[str, float] = {}
            latencies: list[float] = []

            def arrived(at: float, data: str) -> None:
                message = json.loads(data)
                started = sent_at.pop(message["text"], None) if message["author"] == "rep" else None
                if started is not None:
                    latencies.append(at - started)

            tasks = await _open_all(client, [(f"/api/widget/v1/sessions/{s}/events", h) for s, h in sessions],
                                    arrived)
            await asyncio.sleep(1.0)

            async def reply(n: int) -> None:
                text = f"rep reply {n}"
                thread = thread_of[handed[n % len(handed)]]
                sent_at[text] = time.perf_counter()
                response = await client.post(f"{CONSOLE}/threads/{thread}/reply", data={"text": text})
                if response.status_code >= 400:
                    raise RuntimeError(f"console refused a reply: {response.status_code}")

            await paced(replies, rate, reply)
            deadline = time.monotonic() + 30
            await wait_until(lambda: not sent_at or time.monotonic() > deadline, 0.05)
            return _summary(latencies, replies)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _floor(streams: int, replies: int, rate: float, limits: httpx2.Limits) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = await start_process([sys.executable, "-m", "uvicorn", "relaydesk.bench.webhook:floor_app", "--factory",
                             "--port", str(port), "--log-level", "warning"], dict(os.environ), f"{base}/relay/x")
    tasks: list[asyncio.Task[None]] = []
    try:
        async with httpx2.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            sent_at: dict[str, float] = {}
            latencies: list[float] = []

            def arrived(at: float, data: str) -> None:
                started = sent_at.pop(data, None)
                if started is not None:
                    latencies.append(at - started)

            tasks = await _open_all(client, [(f"/stream/{n}", {}) for n in range(streams)], arrived)
            await asyncio.sleep(1.0)

            async def relay(n: int) -> None:
                text = f"rep reply {n}"
                sent_at[text] = time.perf_counter()
                (await client.post(f"/relay/{n % streams}", content=text)).raise_for_status()

            await paced(replies, rate, relay)
            deadline = time.monotonic() + 30
            await wait_until(lambda: not sent_at or time.monotonic() > deadline, 0.05)
            return _summary(latencies, replies)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.terminate()
        await asyncio.wait_for(server.wait(), 20)


async def run_webhook_bench(
    *, backends: list[str], postgres_url: str, streams: int, threads: int, replies: int, rate: float
) -> dict[str, Any]:
    """relaydesk on each backend and the floor, at the same rate and number of open streams, and the ratios."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * streams + 1024)), hard))
    # Idle connections are dropped before the server's 5 s keep-alive ends, as a well-set client or balancer does:
    # otherwise a request may go out on a connection the server is closing at that moment.
    limits = httpx2.Limits(max_connections=streams + 256, max_keepalive_connections=streams + 256,
                           keepalive_expiry=2.0)
    figures: dict[str, Any] = {"streams": streams, "handed_off_threads": threads, "replies": replies,
                               "rate_per_s": rate, "backends": {}}
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-") as tmp:
        floor = await _floor(streams, replies, rate, limits)
        figures["floor"] = floor
        table = [f"{'':<28} {'delivered':>10} {'median ms':>10} {'p99 ms':>8} {'p99 / floor':>12}"]
        for backend in backends:
            workdir = Path(tmp) / backend
            workdir.mkdir()
            async with throwaway_database(backend, postgres_url, workdir) as url:
                ours = await _relaydesk(workdir, url if backend == "postgres" else None, streams, threads, replies,
                                        rate, limits)
            ours["ratio_p99"] = ours["p99_ms"] / floor["p99_ms"]
            figures["backends"][backend] = ours
            table.append(f"{'relaydesk demo, ' + backend:<28} {ours['delivered']:>5}/{ours['sent']:<4} "
                         f"{ours['median_ms']:>10.1f} {ours['p99_ms']:>8.1f} {ours['ratio_p99']:>11.1f}x")
    table.append(f"{'floor (relay, no storage)':<28} {floor['delivered']:>5}/{floor['sent']:<4} "
                 f"{floor['median_ms']:>10.1f} {floor['p99_ms']:>8.1f}")
    figures["table"] = table
    return figures
