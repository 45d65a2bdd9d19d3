"""A session's stream resumes from its cursor: after a dropped connection or a server restart, every message once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx2

from relaydesk.core.conversations import NewMessage
from relaydesk.web.app import create_app
from tests.conftest import LiveServer, make_settings
from tests.helpers import Visitor


async def collect(client: httpx2.AsyncClient, url: str, headers: dict[str, str], count: int) -> list[dict[str, object]]:
    """Read `count` message events from the stream, then hang up."""
    events: list[dict[str, object]] = []
    current: dict[str, str] = {}
    async with client.stream("GET", url, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line:
                field, _, value = line.partition(":")
                current[field] = value.lstrip()
                continue
            if current.get("event") == "message":
                message = json.loads(current["data"])
                assert current["id"] == str(message["seq"])
                events.append(message)
                if len(events) == count:
                    return events
            current = {}
    return events


async def test_stream_resumes_after_a_drop_and_after_a_server_restart(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path)
    app = create_app(settings, configure_logs=False, run_workers=False)
    async with LiveServer(app) as server, httpx2.AsyncClient(base_url=server.url) as client:
        conversations = app.state.runtime.conversations
        workspace, _key = await conversations.create_workspace("Acme")
        token = (await client.post("/api/widget/v1/contacts", json={},
                                   headers={"X-Widget-Token": workspace.widget_token})).json()["token"]
        visitor = Visitor(workspace.widget_token, token, "")
        session_id = (await client.post("/api/widget/v1/sessions", json={}, headers=visitor.headers)).json()["id"]
        events_url = f"/api/widget/v1/sessions/{session_id}/events"

        async def post(text: str, author: str = "visitor", kind: str = "text") -> None:
            await conversations.post_message(workspace.id, session_id, NewMessage(author, text, kind=kind))

        await post("first")
        reader = asyncio.create_task(collect(client, events_url, visitor.headers, 3))
        await asyncio.sleep(0.3)
        await post("second")
        await post("third", author="rep")
        first_batch = await asyncio.wait_for(reader, 10)
        assert [(m["seq"], m["text"]) for m in first_batch] == [(1, "first"), (2, "second"), (3, "third")]
        # Connection dropped; meanwhile the rep writes, and an internal note is added that must stay internal.
        await post("fourth", author="rep")
        await post("private remark", author="rep", kind="note")
        await post("sixth", author="rep")
        resumed = await collect(client, events_url, {**visitor.headers, "Last-Event-ID": "3"}, 2)
        assert [(m["seq"], m["text"]) for m in resumed] == [(4, "fourth"), (6, "sixth")]

    restarted = create_app(settings, configure_logs=False, run_workers=False)
    async with LiveServer(restarted) as server, httpx2.AsyncClient(base_url=server.url) as client:
        await restarted.state.runtime.conversations.post_message(
            workspace.id, session_id, NewMessage("rep", "after restart"))
        after = await collect(client, events_url, {**visitor.headers, "Last-Event-ID": "6"}, 1)
        assert [(m["seq"], m["text"]) for m in after] == [(7, "after restart")]
        by_query = await collect(client, f"{events_url}?after=5", visitor.headers, 2)
        assert [m["seq"] for m in by_query] == [6, 7]
