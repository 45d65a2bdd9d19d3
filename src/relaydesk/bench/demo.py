"""What the benchmarks that drive `relaydesk demo` share: the demo in its own process, visitors, handed-off threads.

The demo serves relaydesk with its sandbox HubSpot mounted and connected, so a handoff really creates a thread in
the sandbox, a reply typed in the sandbox's rep console becomes a signed webhook, and the sandbox enforces
HubSpot's documented rate limits on every call relaydesk makes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from relaydesk.bench.core import LIFTED_LIMITS, free_port

SANDBOX = "/sandbox/hubspot"
CONSOLE = f"{SANDBOX}/_sandbox/console"
LINK_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Demo:
    """A running demo: where it answers, its workspace's credentials and its process."""

    base: str
    widget_token: str
    api_key: str
    process: asyncio.subprocess.Process

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    async def visitor_session(self, client: httpx2.AsyncClient) -> tuple[str, dict[str, str]]:
        """A new anonymous visitor with an open session: the session id and the visitor's headers."""
        widget = {"X-Widget-Token": self.widget_token}
        token = (await client.post("/api/widget/v1/contacts", json={}, headers=widget)).json()["token"]
        headers = {**widget, "Authorization": f"Bearer {token}"}
        session = (await client.post("/api/widget/v1/sessions", json={}, headers=headers)).json()["id"]
        return str(session), headers

    async def hand_off(self, client: httpx2.AsyncClient, sessions: list[str]) -> dict[str, str]:
        """Hand the sessions off to the sandbox HubSpot; their thread ids there, once every handoff arrived."""
        for session in sessions:
            (await client.post(f"/api/v1/sessions/{session}/handoff", headers=self.admin,
                               json={"reason": "explicit_request", "summary": "benchmark"})).raise_for_status()
        thread_of: dict[str, str] = {}
        deadline = time.monotonic() + LINK_TIMEOUT_S
        while len(thread_of) < len(sessions):
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(thread_of)} of {len(sessions)} handoffs reached the sandbox")
            for session in sessions:
                if session not in thread_of:
                    links = (await client.get(f"/api/v1/sessions/{session}", headers=self.admin)).json()["links"]
                    thread = next((x["external_id"] for x in links if x["kind"] == "thread"), None)
                    if thread:
                        thread_of[session] = thread
            await asyncio.sleep(0.5)
        return thread_of


async def start_process(args: list[str], env: dict[str, str], ready_url: str) -> asyncio.subprocess.Process:
    """A process started with `args`, once `ready_url` answers (or RuntimeError after a minute)."""
    process = await asyncio.create_subprocess_exec(*args, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.DEVNULL)
    async with httpx2.AsyncClient() as client:
        for _ in range(600):
            with contextlib.suppress(httpx2.HTTPError):
                if (await client.get(ready_url)).status_code < 500:
                    return process
            await asyncio.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"{' '.join(args[2:4])} did not start")


@contextlib.asynccontextmanager
async def demo_process(workdir: Path, database_url: str | None) -> AsyncIterator[Demo]:
    """`relaydesk demo` in its own process on `database_url` (its SQLite file when None), ready to answer."""
    port = free_port()
    env = {**os.environ, "RELAYDESK_DATA_DIR": str(workdir / "demo"), "RELAYDESK_LOG_LEVEL": "warning",
           "RELAYDESK_LOG_JSON": "true", **LIFTED_LIMITS}
    env.pop("RELAYDESK_DATABASE_URL", None)
    if database_url:
        env["RELAYDESK_DATABASE_URL"] = database_url
    base = f"http://127.0.0.1:{port}"
    process = await start_process([sys.executable, "-m", "relaydesk", "demo", "--port", str(port)], env,
                                  f"{base}/readyz")
    try:
        credentials = json.loads((workdir / "demo" / "demo-workspace.json").read_text())
        yield Demo(base, credentials["widget_token"], credentials["api_key"], process)
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 20)


async def paced(count: int, rate: float, send: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    """`send(n)` for n in range(count), started `rate` times a second, each in its own task."""
    started = time.perf_counter()
    pending = []
    for n in range(count):
        pending.append(asyncio.create_task(send(n)))
        await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
    await asyncio.gather(*pending)
