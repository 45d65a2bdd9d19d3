"""An event committed in one server process reaches a stream subscriber in another, through Redis."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2

from tests.conftest import app_client, make_settings
from tests.helpers import create_workspace
from tests.scaleout.processes import relaydesk_env, start_server


async def read_events(response: httpx2.Response, out: asyncio.Queue[dict[str, Any]]) -> None:
    event: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if event.get("event") == "message":
                await out.put(json.loads(event["data"]))
            event = {}
            continue
        field, _, value = line.partition(":")
        event[field] = value.lstrip()


async def test_message_posted_on_one_server_streams_from_the_other(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = make_settings(postgres_url, tmp_path)
    async with app_client(settings, run_workers=False) as (_client, app):
        _, widget_token, key = await create_workspace(app)
    env = relaydesk_env(postgres_url, tmp_path, RELAYDESK_REDIS_URL=redis_url)
    server_a, url_a = await start_server(env, tmp_path / "a.log")
    server_b, url_b = await start_server(env, tmp_path / "b.log")
    try:
        async with httpx2.AsyncClient(timeout=10) as client:
            contact = (await client.post(f"{url_a}/api/widget/v1/contacts", json={},
                                         headers={"X-Widget-Token": widget_token})).json()
            headers = {"X-Widget-Token": widget_token, "Authorization": f"Bearer {contact['token']}"}
            session_id = (await client.post(f"{url_a}/api/widget/v1/sessions", json={}, headers=headers)).json()["id"]
            received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            async with client.stream("GET", f"{url_b}/api/widget/v1/sessions/{session_id}/events",
                                     headers=headers, timeout=None) as stream:
                assert stream.status_code == 200
                reader = asyncio.create_task(read_events(stream, received))
                await asyncio.sleep(0.3)  # the subscription on B is in place
                posted = await client.post(f"{url_a}/api/widget/v1/sessions/{session_id}/messages",
                                           json={"text": "hello from A", "client_id": "a-1"}, headers=headers)
                assert posted.status_code == 201
                first = await asyncio.wait_for(received.get(), 5)
                assert (first["seq"], first["text"]) == (1, "hello from A")
                reply = await client.post(f"{url_a}/api/v1/sessions/{session_id}/messages",
                                          json={"text": "a rep on A answers"},
                                          headers={"Authorization": f"Bearer {key}"})
                assert reply.status_code == 201
                seen = [await asyncio.wait_for(received.get(), 5) for _ in range(2)]
                assert [(m["seq"], m["kind"]) for m in seen] == [(2, "event"), (3, "text")]
                assert seen[1]["text"] == "a rep on A answers"
                reader.cancel()
    finally:
        server_a.stop()
        server_b.stop()
