"""The payloads in a real browser: the widget on a shop's page and the dashboard's pages render every attack as text.

Each payload sets `window.__xss` (or opens a dialog) if it runs; neither may happen, and no element may carry an
event-handler attribute, a script URL, a frame or a script the page did not ship.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio
from playwright.async_api import expect

from relaydesk.core.states import Action
from tests.conftest import LiveServer, app_client, make_settings
from tests.dashboard.conftest import OWNER, add_people
from tests.helpers import api
from tests.security.support import WIDGET_ATTACK, XSS, XSS_EMAIL, XSS_PAYLOADS, seed_payloads
from tests.widget.conftest import Relaydesk, ShopSite, browser, running_relaydesk, shop  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# Everything in the page and in open shadow roots that could run script.
SCRIPT_RISKS = """() => {
  const found = [];
  const urls = ["href", "src", "action", "formaction", "xlink:href", "poster", "data"];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      for (const a of el.attributes) {
        if (a.name.startsWith("on")) found.push(el.tagName + " " + a.name);
        if (a.name === "srcdoc") found.push(el.tagName + " srcdoc");
        const script = /^\\s*(javascript|vbscript|data):/i.test(a.value);
        if (urls.includes(a.name) && script) found.push(el.tagName + " " + a.value);
      }
      const src = el.getAttribute("src") || "";
      if (["IFRAME", "OBJECT", "EMBED"].includes(el.tagName) && !src.startsWith("/demo?")) found.push(el.tagName);
      const shipped = /(\\/widget\\.js|\\/app\\/static\\/app\\.js)$/.test(src) || el.hasAttribute("data-host");
      if (el.tagName === "SCRIPT" && !shipped) found.push("SCRIPT " + (src || "inline"));
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return found;
}"""


class Watched:
    """A tab whose dialogs are recorded: an `alert(…)` that ran would show up here."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", self._dialog)

    async def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    async def assert_no_script_ran(self, where: str) -> None:
        assert await self.page.evaluate("window.__xss") is None, where
        assert self.dialogs == [], where
        assert await self.page.evaluate(SCRIPT_RISKS) == [], where


def _in_script(value: Any) -> str:
    """JSON safe inside the host page's own <script>: its `</script>` must not end the element."""
    return json.dumps(value).replace("<", "\\u003c")


def _shop_html(desk: Relaydesk) -> str:
    settings = {"open": True, "context": {"title": XSS, "plan": XSS_PAYLOADS[1]},
                "user": {"name": XSS[:200], "email": XSS_EMAIL, "customData": {XSS_PAYLOADS[0][:60]: XSS}}}
    return ("<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1>"
            f"<script data-host>window.relaydeskSettings = {_in_script(settings)};</script>"
            f'<script src="{desk.url}/widget.js" data-token="{desk.widget_token}" async></script></body></html>')


@pytest_asyncio.fixture(loop_scope="module")
async def desk(tmp_path: Path) -> AsyncIterator[Relaydesk]:
    async with running_relaydesk(tmp_path, in_process_workers=False) as running:
        await running.set_workspace_settings(widget=WIDGET_ATTACK)
        yield running


async def test_the_widget_shows_every_payload_as_text(browser: Any, desk: Relaydesk, shop: ShopSite) -> None:  # noqa: F811
    page = await browser.new_page()
    page.set_default_timeout(10_000)
    tab = Watched(page)
    shop.html = _shop_html(desk)
    await page.goto(shop.origin)
    await page.locator(".composer textarea").wait_for()
    await page.locator(".composer textarea").fill(XSS)
    await page.keyboard.press("Enter")
    await page.locator(".row.me:not(.pending)").wait_for()
    session_id = (await desk.conversations.list_sessions(desk.workspace_id))[0].id
    conversations = desk.conversations
    await desk.post(session_id, author="ai", text=XSS, component={
        "key": "card", "text": XSS, "data": {"title": XSS, "text": XSS, "url": XSS_PAYLOADS[3],
                                             "image_url": XSS_PAYLOADS[3], "button": XSS}})
    await desk.post(session_id, author="ai", text=XSS, component={
        "key": "list", "text": XSS, "data": {"title": XSS, "items": [{"title": XSS, "text": XSS,
                                                                         "url": XSS_PAYLOADS[3]}]}})
    await conversations.transition(desk.workspace_id, session_id, Action.HAND_OFF, actor="ai")
    await conversations.transition(desk.workspace_id, session_id, Action.REP_JOIN, actor="rep",
                                   actor_name=XSS_PAYLOADS[2])
    await desk.post(session_id, author="rep", author_name=XSS_PAYLOADS[1], text=XSS,
                    html=XSS + '<a href="javascript:window.__xss=1">details</a>',
                    attachments=[{"name": XSS, "url": XSS_PAYLOADS[3]},
                                 {"name": XSS, "url": "https://files.example/a.png", "content_type": "image/png"}])
    await conversations.transition(desk.workspace_id, session_id, Action.RESOLVE, actor="rep")
    token = await page.evaluate("relaydesk.visitorToken()")
    async with httpx2.AsyncClient(base_url=desk.url) as client:
        rated = await client.post(f"/api/widget/v1/sessions/{session_id}/csat", json={"score": 2, "comment": XSS},
                                  headers={"X-Widget-Token": desk.widget_token, "Authorization": f"Bearer {token}"})
    assert rated.status_code == 200, rated.text
    await page.locator(".ev", has_text="Thank you for your feedback").wait_for()
    shown = await page.locator(".rd").inner_text()
    assert "window.__xss='img'" in shown and "<script>window.__xss='script'</script>" in shown
    await tab.assert_no_script_ran("widget")
    await page.close()


@pytest_asyncio.fixture(loop_scope="module")
async def dashboard(tmp_path: Path) -> AsyncIterator[tuple[str, str, str]]:
    """A served relaydesk whose workspace holds the payloads everywhere: (URL, session id, API key)."""
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path, in_process_workers=False)
    async with app_client(settings, run_workers=False) as (_, app), LiveServer(app) as server, \
            httpx2.AsyncClient(base_url=server.url, timeout=15) as client:
        workspace, key = await app.state.runtime.conversations.create_workspace(XSS_PAYLOADS[0])
        await add_people(app, workspace.id)
        session_id = await seed_payloads(client, app, workspace.id, workspace.widget_token, key)
        yield server.url, session_id, key


async def test_the_dashboard_shows_every_payload_as_text(
    browser: Any, dashboard: tuple[str, str, str]  # noqa: F811
) -> None:
    url, session_id, key = dashboard
    page = await browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(10_000)
    tab = Watched(page)
    await page.goto(f"{url}/app/login")
    await page.get_by_label("Email").fill(OWNER[0])
    await page.get_by_label("Password").fill(OWNER[1])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("[data-live-indicator]")).to_have_text("Live")
    await tab.assert_no_script_ran("inbox")

    await page.goto(f"{url}/app/sessions/{session_id}")
    await page.locator("#transcript").wait_for()
    # A reply arriving live is drawn from server HTML swapped into the page: the same escaping must hold.
    async with httpx2.AsyncClient(base_url=url) as client:
        reopened = await client.post(f"/api/v1/sessions/{session_id}/reopen", headers=api(key), json={})
        replied = await client.post(f"/api/v1/sessions/{session_id}/messages", headers=api(key),
                                    json={"text": "live " + XSS, "author_name": XSS_PAYLOADS[1]})
    assert (reopened.status_code, replied.status_code) == (200, 201), (reopened.text, replied.text)
    await page.locator("#transcript", has_text="live <script>").wait_for()
    await tab.assert_no_script_ran("session")

    for path in ("/app/knowledge", "/app/settings/integrations", "/app/settings/ai", "/app/settings/widget",
                 "/app/deliveries?state=dead", "/app/team"):
        await page.goto(url + path)
        await tab.assert_no_script_ran(path)
    await page.close()
