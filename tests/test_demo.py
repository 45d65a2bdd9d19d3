"""The newcomer's path through `relaydesk demo`, and `relaydesk sandbox` as a user starts it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from relaydesk.demo import Demo, DemoWorkspace, create_demo_app, prepare
from relaydesk.sandbox.hubspot.state import Thread
from relaydesk.sandbox.server import mount_sandboxes
from relaydesk.web.app import create_app
from tests.conftest import free_port, make_settings
from tests.helpers import api, new_session, new_visitor
from tests.widget.conftest import PortServer


async def read_messages(client: httpx2.AsyncClient, url: str, headers: dict[str, str],
                        found: asyncio.Queue[dict[str, Any]]) -> None:
    """Push every message event of a widget stream onto a queue until cancelled."""
    event: dict[str, str] = {}
    async with client.stream("GET", url, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line:
                name, _, value = line.partition(":")
                event[name] = value.lstrip()
                continue
            if event.get("event") == "message":
                await found.put(json.loads(event["data"]))
            event = {}


async def wait_for_thread(demo: Demo, within_s: float = 10.0) -> Thread:
    deadline = time.monotonic() + within_s
    while not demo.sandboxes.hubspot.state.threads:
        assert time.monotonic() < deadline, "no thread reached the HubSpot sandbox"
        await asyncio.sleep(0.05)
    return next(iter(demo.sandboxes.hubspot.state.threads.values()))


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[Demo, DemoWorkspace, httpx2.AsyncClient]]:
    """The demo as `relaydesk demo` builds it, served on a loopback port."""
    port = free_port()
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path, public_url=f"http://127.0.0.1:{port}",
                             host="127.0.0.1", port=port, in_process_workers=True)
    workspace = await prepare(settings)
    demo = create_demo_app(settings, workspace.id)
    async with PortServer(demo.app, port) as server, httpx2.AsyncClient(base_url=server.url, timeout=15) as client:
        yield demo, workspace, client


async def test_a_newcomer_hands_off_to_the_sandbox_hubspot_and_the_rep_reply_reaches_the_widget(
    running: tuple[Demo, DemoWorkspace, httpx2.AsyncClient],
) -> None:
    demo, workspace, client = running
    integration = await client.get("/api/v1/integrations/hubspot", headers=api(workspace.api_key))
    assert integration.status_code == 200, integration.text
    assert integration.json()["status"] == "active", integration.json()
    assert integration.json()["authorize_url"] is None  # connected: nothing left for the admin to do

    visitor = await new_visitor(client, workspace.widget_token, name="Noor", email="noor@example.com")
    session_id = await new_session(client, visitor)
    asked = await client.post(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers,
                              json={"text": "I want to talk to a person", "client_id": "c1"})
    assert asked.status_code == 201, asked.text

    thread = await wait_for_thread(demo)
    assert "I want to talk to a person" in [m["text"] for m in thread.messages if m["type"] == "MESSAGE"]
    console = demo.sandboxes.console_url.removeprefix(str(client.base_url).rstrip("/"))
    inbox_page = await client.get(console)
    assert inbox_page.status_code == 200 and "Noor" in inbox_page.text
    assert f"{console}/threads/{thread.id}" in inbox_page.text
    thread_page = await client.get(f"{console}/threads/{thread.id}")
    assert "I want to talk to a person" in thread_page.text

    found: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    stream = asyncio.create_task(read_messages(client, f"/api/widget/v1/sessions/{session_id}/events",
                                               visitor.headers, found))
    try:
        await asyncio.sleep(0.2)  # the stream is open before the rep answers
        started = time.monotonic()
        replied = await client.post(f"{console}/threads/{thread.id}/reply",
                                    data={"text": "Hi Noor, Ada here. How can I help?"})
        assert replied.status_code == 303 and replied.headers["location"] == f"{console}/threads/{thread.id}"
        while True:
            message = await asyncio.wait_for(found.get(), timeout=2.0 - (time.monotonic() - started))
            if message["author"] == "rep" and message["kind"] == "text":
                break
        assert message["text"] == "Hi Noor, Ada here. How can I help?"
        assert time.monotonic() - started < 2.0
    finally:
        stream.cancel()

    session = await client.get(f"/api/v1/sessions/{session_id}", headers=api(workspace.api_key))
    assert session.json()["session"]["state"] == "human"
    dashboard = await client.get("/app/login")
    assert dashboard.status_code == 200


async def test_serve_mounts_no_sandbox(tmp_path: Path) -> None:
    app = create_app(make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path), configure_logs=False)
    paths = [getattr(route, "path", "") for route in app.routes]
    assert paths and not [p for p in paths if p.startswith("/sandbox")]


def test_sandbox_command_prints_what_to_paste_and_answers(tmp_path: Path) -> None:
    shown = subprocess.run([sys.executable, "-m", "relaydesk", "sandbox", "--help"], capture_output=True, text=True,
                           check=False)
    assert shown.returncode == 0 and "--port" in shown.stdout
    port = free_port()
    env = {**os.environ, "RELAYDESK_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "relaydesk", "sandbox", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                index = httpx2.get(f"{base}/", timeout=1)
                break
            except httpx2.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert index.json()["hubspot_console"] == f"{base}/hubspot/_sandbox/console"
        assert httpx2.get(index.json()["hubspot_console"]).status_code == 200
        models = httpx2.get(f"{index.json()['openai']}/models", headers={"Authorization": "Bearer sk-sandbox"})
        assert models.json()["data"][0]["id"] == "sandbox-chat"
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    for expected in (f"{base}/hubspot", "sandbox-developer-api-key", "1000001", "sandbox-client-id",
                     "sandbox-client-secret", f"{base}/hubspot/_sandbox/console"):
        assert expected in out


async def test_mounted_sandboxes_behave_as_they_do_at_the_root() -> None:
    app = FastAPI()
    sandboxes = mount_sandboxes(app, "http://relaydesk.test", "/sandbox")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url="http://relaydesk.test") as client:
        chat = await client.post("/sandbox/openai/v1/chat/completions", headers={"Authorization": "Bearer sk-sandbox"},
                                 json={"model": "sandbox-chat", "messages": [{"role": "user", "content": "Hello"}]})
        assert chat.status_code == 200, chat.text
        assert len(sandboxes.chat.completions()) == 1
        sandboxes.hubspot.faults.outage(60)
        down = await client.get("/sandbox/hubspot/conversations/v3/conversations/inboxes")
        assert down.status_code == 503
        faults = await client.get("/sandbox/hubspot/_sandbox/faults")  # the admin API stays up during an outage
        assert faults.status_code == 200 and faults.json()
    await sandboxes.aclose()
