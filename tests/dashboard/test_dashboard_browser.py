"""The dashboard in a real browser: sign in, a handoff appears live, a rep answers, a dead delivery is retried,
HubSpot is connected through Settings → Integrations; screenshots of the main pages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
import pytest_asyncio
from playwright.async_api import expect

from relaydesk.agent.responder import ingest_documents
from relaydesk.agent.sample import SAMPLE_KB_DIR
from relaydesk.core.models import OutboxJob, utcnow
from relaydesk.sandbox.hubspot.app import create_app as create_hubspot
from relaydesk.sandbox.hubspot.sandbox import HubSpotSandbox
from relaydesk.web.app import create_app
from tests.conftest import LiveServer, free_port, make_settings
from tests.dashboard.conftest import OWNER, add_people
from tests.helpers import Visitor, api, new_session, new_visitor
from tests.widget.conftest import SCREENSHOTS, PortServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@dataclass
class Running:
    url: str
    app: Any
    workspace_id: str
    widget_token: str
    api_key: str
    client: httpx2.AsyncClient
    hubspot: HubSpotSandbox
    hubspot_url: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    """relaydesk (no delivery workers: the tests look at the outbox as it is) and a HubSpot sandbox, both served."""
    data_dir = tmp_path_factory.mktemp("dashboard")
    port = free_port()
    settings = make_settings(f"sqlite:///{data_dir}/relaydesk.db", data_dir, public_url=f"http://127.0.0.1:{port}",
                             in_process_workers=False)
    app = create_app(settings, configure_logs=False)
    sandbox = HubSpotSandbox()
    async with PortServer(app, port) as server, LiveServer(create_hubspot(sandbox=sandbox)) as helpdesk, \
            httpx2.AsyncClient(base_url=server.url, timeout=15) as client:
        workspace, key = await app.state.runtime.conversations.create_workspace("Larkbox")
        await add_people(app, workspace.id)
        await ingest_documents(settings, workspace.id, str(SAMPLE_KB_DIR))
        yield Running(server.url, app, workspace.id, workspace.widget_token, key, client, sandbox, helpdesk.url)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def page(browser: Any, running: Running) -> AsyncIterator[Any]:
    """One signed-in owner's tab, shared by the module's tests in order."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    tab = await context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    await context.close()


async def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"), full_page=full_page)


async def visitor_hands_off(running: Running, name: str, text: str) -> tuple[Visitor, str]:
    visitor = await new_visitor(running.client, running.widget_token, name=name, email=f"{name.lower()}@example.com")
    session_id = await new_session(running.client, visitor)
    sent = await running.client.post(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers,
                                     json={"text": text})
    assert sent.status_code in (200, 201), sent.text
    handed = await running.client.post(f"/api/v1/sessions/{session_id}/handoff", headers=api(running.api_key),
                                       json={"reason": "explicit_request", "summary": f"{name} wants a person"})
    assert handed.status_code == 200, handed.text
    return visitor, session_id


async def test_an_owner_signs_in(page: Any, running: Running) -> None:
    await page.goto(f"{running.url}/app/inbox")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await shot(page, "login")
    await page.get_by_label("Email").fill(OWNER[0])
    await page.get_by_label("Password").fill(OWNER[1])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    await expect(page.locator("[data-live-indicator]")).to_have_text("Live")


async def test_a_handed_off_session_appears_in_the_inbox_without_a_reload(page: Any, running: Running) -> None:
    await expect(page.locator("[data-live-indicator]")).to_have_text("Live")
    await page.evaluate("window.__sameDocument = true")
    _, session_id = await visitor_hands_off(running, "Mira", "My Dock blinks red, can I talk to a person?")
    row = page.locator(f'tr[data-session-id="{session_id}"]')
    await expect(row).to_be_visible()
    await expect(row.locator(".badge")).to_have_text("Waiting for a rep")
    await expect(row).to_contain_text("talk to a person")
    assert await page.evaluate("window.__sameDocument === true"), "the Inbox reloaded instead of updating live"
    await shot(page, "inbox")


async def test_a_rep_reply_from_the_inbox_reaches_the_widget(page: Any, running: Running) -> None:
    visitor, session_id = await visitor_hands_off(running, "Noor", "I was charged twice for my plan")
    await page.goto(f"{running.url}/app/inbox")
    await page.locator(f'tr[data-session-id="{session_id}"] a.row-link').click()
    await expect(page.locator(".handoff-card")).to_contain_text("Visitor asked for a person")
    await page.get_by_label("Your message").fill("Sorry about that, Noor: I have refunded the second charge.")
    await page.get_by_role("button", name="Send reply").click()
    await expect(page.locator("#transcript")).to_contain_text("refunded the second charge")
    await expect(page.locator("#session-head .badge")).to_have_text("With a rep")
    for _ in range(100):
        seen = await running.client.get(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers)
        if any("refunded the second charge" in m["text"] for m in seen.json()["messages"]):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the rep's reply never reached the widget's messages")
    await running.client.post(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers,
                              json={"text": "Thank you, that was quick!"})
    await expect(page.locator("#transcript")).to_contain_text("that was quick")
    await shot(page, "session")


async def test_a_dead_delivery_is_retried_from_the_deliveries_page(page: Any, running: Running) -> None:
    async with running.app.state.runtime.db.transaction() as tx:
        job = OutboxJob(workspace_id=running.workspace_id, ordering_key="hook", target="webhook",
                        kind="webhook.deliver", payload={}, idempotency_key="browser-dead-1", state="dead",
                        attempts=25, last_error="POST https://hooks.example.com/relaydesk answered 503 Service "
                        "Unavailable", finished_at=utcnow())
        tx.add(job)
    await page.goto(f"{running.url}/app/deliveries")
    row = page.locator(f'tr[data-job-id="{job.id}"]')
    await expect(row).to_contain_text("answered 503")
    await shot(page, "deliveries")
    await row.get_by_role("button", name="Retry").click()
    await expect(page.locator(".notice")).to_have_text(f"Delivery {job.id} is back in line.")
    async with running.app.state.runtime.db.read() as db:
        stored = await db.get(OutboxJob, job.id)
    assert stored is not None and stored.state == "pending" and stored.attempts == 0


async def test_hubspot_is_connected_through_settings(page: Any, running: Running) -> None:
    config = running.hubspot.config
    await page.goto(f"{running.url}/app/settings/integrations")
    card = page.locator('[data-connector="hubspot"]')
    await expect(card.locator("[data-status]")).to_have_text("Inactive")
    values = {"app_id": str(config.app_id), "client_id": config.client_id, "client_secret": config.client_secret,
              "developer_api_key": "not-the-developer-key", "inbox_id": "1001", "api_base_url": running.hubspot_url,
              "app_base_url": running.hubspot_url}
    for name, value in values.items():
        await card.locator(f'[name="{name}"]').fill(value)
    await card.get_by_role("button", name="Test & Save").click()
    card = page.locator('[data-connector="hubspot"]')
    await expect(card.locator("[data-check-error]")).to_contain_text("HubSpot refused the developer API key")
    listed = await running.client.get("/api/v1/integrations", headers=api(running.api_key))
    assert listed.json() == [], "a failed check saved the integration"
    await card.locator('[name="developer_api_key"]').fill(config.developer_api_key)
    await card.locator('[name="client_secret"]').fill(config.client_secret)
    await card.get_by_role("button", name="Test & Save").click()
    await expect(page.locator(".notice-ok")).to_contain_text("HubSpot saved")
    await page.locator("[data-connect]").click()
    await page.wait_for_url(f"{running.url}/app/settings/integrations*")  # back from the connect flow by itself
    card = page.locator('[data-connector="hubspot"]')
    await expect(card.locator("[data-status]")).to_have_text("Active")
    assert config.developer_api_key not in await page.content()
    await shot(page, "integrations")


async def test_the_settings_pages_look_right(page: Any, running: Running) -> None:
    await page.goto(f"{running.url}/app/knowledge")
    await page.get_by_label("Question").fill("How do I reset my password?")
    await page.get_by_role("button", name="Ask").click()
    await expect(page.locator("[data-trial]")).to_contain_text("Passages found")
    await shot(page, "knowledge", full_page=False)
    for name, path in (("ai", "/app/settings/ai"), ("widget", "/app/settings/widget"), ("team", "/app/team")):
        await page.goto(f"{running.url}{path}")
        await expect(page.locator("h1")).to_be_visible()
        await shot(page, name)
