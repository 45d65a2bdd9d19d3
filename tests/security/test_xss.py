"""Script payloads in every field that reaches the dashboard or the widget are shown as text: pages escape them,
rep HTML is sanitized on the way in and again on the way out, and script links are refused at the door.

The browser half (tests/security/test_xss_browser.py) renders the same payloads in Chromium.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio
from sqlalchemy import func, select, update

from relaydesk.core.conversations import NewMessage
from relaydesk.core.models import Message
from tests.conftest import LiveServer, app_client, make_settings
from tests.dashboard.conftest import OWNER, add_people, csrf_of, sign_in
from tests.helpers import Visitor, new_session, new_visitor
from tests.security.support import XSS, XSS_PAYLOADS, script_risks, seed_payloads
from tests.web.test_bad_input import assert_json_error

W = "/api/widget/v1"
ESCAPED = ("&lt;script&gt;window.__xss", "&lt;img src=x onerror=")


@dataclass
class Attacked:
    client: httpx2.AsyncClient
    app: Any
    workspace_id: str
    widget_token: str
    session_id: str


@pytest_asyncio.fixture
async def attacked(tmp_path: Path) -> AsyncIterator[Attacked]:
    """A workspace (itself named with an attack) with payloads everywhere, and its owner signed in."""
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path)
    async with app_client(settings, run_workers=False) as (client, app):
        workspace, key = await app.state.runtime.conversations.create_workspace(XSS_PAYLOADS[0])
        await add_people(app, workspace.id)
        session_id = await seed_payloads(client, app, workspace.id, workspace.widget_token, key)
        await sign_in(client, OWNER)
        yield Attacked(client, app, workspace.id, workspace.widget_token, session_id)


def _pages(session_id: str) -> list[str]:
    return ["/app/inbox", "/app/inbox?partial=1", f"/app/inbox?channel={XSS_PAYLOADS[0]}&integration={XSS_PAYLOADS[1]}",
            f"/app/sessions/{session_id}", f"/app/sessions/{session_id}?partial=1", "/app/knowledge",
            "/app/settings/ai", "/app/settings/integrations", "/app/settings/widget", "/app/deliveries?state=dead",
            "/app/team"]


async def test_every_dashboard_page_shows_the_payloads_as_text(attacked: Attacked) -> None:
    client = attacked.client
    pages = {path: await client.get(path) for path in _pages(attacked.session_id)}
    form = {"csrf": csrf_of((await client.get("/app/knowledge")).text), "question": XSS}
    pages["POST /app/knowledge/try"] = await client.post("/app/knowledge/try", data=form)
    for path, page in pages.items():
        assert page.status_code == 200, (path, page.status_code)
        assert script_risks(page.text) == [], path
        assert not any(payload in page.text for payload in XSS_PAYLOADS if "<" in payload), path
        assert any(escaped in page.text for escaped in ESCAPED), f"{path} does not show the payloads at all"
    session = pages[f"/app/sessions/{attacked.session_id}"].text
    for shown in ("&lt;svg onload=", "&lt;iframe srcdoc=", "window.__xss=&#39;link&#39;"):
        assert shown in session, shown
    assert 'href="javascript:' not in session.lower()


async def test_the_demo_page_keeps_a_hostile_token_inside_its_attribute(tmp_path: Path) -> None:
    async with app_client(make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path), run_workers=False) as (
            client, _):
        page = await client.get("/demo", params={"token": XSS_PAYLOADS[2]})
    scripts: list[dict[str, str | None]] = []

    class Scripts(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("script", "svg"):
                scripts.append({"tag": tag, **dict(attrs)})

    Scripts().feed(page.text)
    assert [s.get("data-token") for s in scripts if s["tag"] == "script" and s.get("src")] == [XSS_PAYLOADS[2]]
    assert not any(name.startswith("on") for s in scripts for name in s)


RAW_REP_HTML = ('<p onclick="x()">Your refund<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> '
                '<a href="javascript:window.__xss=3">details</a></p>')


async def _stored_raw(app: Any, workspace_id: str, session_id: str) -> None:
    """A rep message whose HTML reached the database without passing the sanitizer (an older version, a manual
    fix, an import): the way out must hold on its own."""
    conversations = app.state.runtime.conversations
    posted = await conversations.post_message(workspace_id, session_id, NewMessage(
        author="rep", text="Your refund", html="<p>Your refund</p>"))
    async with app.state.runtime.db.transaction() as tx:
        await tx.execute(update(Message).where(Message.id == posted.message.id).values(
            html=RAW_REP_HTML))


async def test_rep_html_is_sanitized_again_on_the_way_to_the_widget(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path)
    async with app_client(settings, run_workers=False) as (_, app), LiveServer(app) as server, \
            httpx2.AsyncClient(base_url=server.url, timeout=10) as client:
        workspace, _ = await app.state.runtime.conversations.create_workspace("Larkbox")
        visitor = await new_visitor(client, workspace.widget_token)
        session_id = await new_session(client, visitor)
        await _stored_raw(app, workspace.id, session_id)

        listed = await client.get(f"{W}/sessions/{session_id}/messages", headers=visitor.headers)
        [html] = [m["html"] for m in listed.json()["messages"] if m["html"]]
        assert len(script_risks(RAW_REP_HTML)) == 5 and script_risks(html) == []
        assert html.startswith("<p>Your refund") and "details</a>" in html
        streamed = await asyncio.wait_for(_first_message(client, visitor, session_id), 5)
        assert streamed["html"] == html


async def _first_message(client: httpx2.AsyncClient, visitor: Visitor, session_id: str) -> dict[str, Any]:
    async with client.stream("GET", f"{W}/sessions/{session_id}/events", headers=visitor.headers) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                message: dict[str, Any] = json.loads(line.removeprefix("data:"))
                return message
    raise AssertionError("the stream ended without a message")


@pytest.mark.parametrize("url", ["javascript:window.__xss=1", " JAVASCRIPT:alert(1)", "data:text/html,<script>x",
                                 "vbscript:msgbox", "//evil.example/x.png", "/api/widget/v1/files/x/y.png"])
async def test_a_visitors_attachment_link_must_be_a_web_address(tmp_path: Path, url: str) -> None:
    """Reps open attachment links in their helpdesk: a script URL is refused before it is stored or sent on."""
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path)
    async with app_client(settings, run_workers=False) as (client, app):
        workspace, _ = await app.state.runtime.conversations.create_workspace("Larkbox")
        visitor = await new_visitor(client, workspace.widget_token)
        session_id = await new_session(client, visitor)
        sent = await client.post(f"{W}/sessions/{session_id}/messages", headers=visitor.headers,
                                 json={"text": "see file", "attachments": [{"name": "invoice.pdf", "url": url}]})
        assert_json_error(sent, 422, "invalid_request")
        async with app.state.runtime.db.read() as db:
            assert await db.scalar(select(func.count()).select_from(Message)) == 0
