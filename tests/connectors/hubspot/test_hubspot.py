"""HubSpot specifics against the sandbox: contacts, help desk tickets, attachments, notes, status, limits, OAuth."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from relaydesk.connectors.hubspot.client import HubSpotClient, HubSpotError
from relaydesk.core.conversations import NewMessage
from relaydesk.sandbox.hubspot import signature_v3
from tests.connectors.contract import HubSpotDriver, Stack, stack_with

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
async def hubspot(tmp_path: Path) -> AsyncIterator[tuple[Stack, HubSpotDriver]]:
    async with stack_with("hubspot", f"sqlite:///{tmp_path}/relaydesk.db", tmp_path) as (relaydesk, driver):
        await driver.connect(relaydesk)
        yield relaydesk, driver


async def test_a_verified_email_links_the_existing_hubspot_contact(hubspot: tuple[Stack, HubSpotDriver]) -> None:
    relaydesk, driver = hubspot
    existing = driver.sandbox.create_contact({"email": "jane@acme.com", "firstname": "Jane"})
    visitor = await relaydesk.verified_visitor("jane@acme.com", "Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "Where is my order?"))
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    found = driver.handoff(session_id)
    assert found is not None and found.contact_id == existing.id
    assert driver.sandbox.state.tickets[found.ticket_id or ""].associations["contacts"] == {existing.id}
    assert len(driver.sandbox.state.contacts) == 1


async def test_a_self_declared_email_never_attaches_to_someone_elses_contact(
    hubspot: tuple[Stack, HubSpotDriver],
) -> None:
    relaydesk, driver = hubspot
    ceo = driver.sandbox.create_contact({"email": "ceo@acme.com", "firstname": "Real"})
    visitor = await relaydesk.visitor(name="Mallory", email="ceo@acme.com")
    session_id = await relaydesk.chat(visitor, ("visitor", "Transfer the account to me"))
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    found = driver.handoff(session_id)
    assert found is not None and found.contact_id not in (None, ceo.id)
    assert "not verified" in found.note
    assert driver.sandbox.state.contacts[found.contact_id or ""].properties["firstname"] == "Mallory"


async def test_already_exists_answers_name_the_existing_contact(hubspot: tuple[Stack, HubSpotDriver]) -> None:
    relaydesk, driver = hubspot
    existing = driver.sandbox.create_contact({"email": "sam@acme.com"})
    runtime = relaydesk.app.state.runtime
    token = next(t.token for t in driver.sandbox.state.access_tokens.values())

    async def bearer(_: bool) -> str:
        return token

    client = HubSpotClient(runtime.http, driver.url, tokens=bearer, limit_key="409-test")
    with pytest.raises(HubSpotError) as raised:
        await client.create_contact({"email": "sam@acme.com"})
    assert raised.value.status == 409 and raised.value.existing_id == existing.id


async def test_an_anonymous_visitor_gets_a_new_contact(hubspot: tuple[Stack, HubSpotDriver]) -> None:
    relaydesk, driver = hubspot
    visitor = await relaydesk.visitor()
    session_id = await relaydesk.chat(visitor, ("visitor", "hello?"))
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    found = driver.handoff(session_id)
    assert found is not None and found.contact_id
    assert driver.sandbox.state.contacts[found.contact_id].properties["firstname"] == "Website visitor"


async def test_help_desk_tickets_are_adopted_not_duplicated(tmp_path: Path) -> None:
    async with stack_with("hubspot", f"sqlite:///{tmp_path}/relaydesk.db", tmp_path) as (relaydesk, driver):
        driver.settings = lambda: {**HubSpotDriver.settings(driver), "inbox_id": "1002"}  # type: ignore[method-assign]
        await driver.connect(relaydesk)
        visitor = await relaydesk.visitor(name="Jane Doe")
        session_id = await relaydesk.chat(visitor, ("visitor", "Refund please"))
        await relaydesk.hand_off(session_id, summary="Wants a refund")
        await relaydesk.settled(session_id)
        found = driver.handoff(session_id)
        assert found is not None and len(driver.sandbox.state.tickets) == 1
        assert "Wants a refund" in str(driver.sandbox.state.tickets[found.ticket_id or ""].properties["content"])


async def test_widget_attachments_appear_on_the_thread(hubspot: tuple[Stack, HubSpotDriver]) -> None:
    relaydesk, driver = hubspot
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "My screen shows an error"))
    await relaydesk.hand_off(session_id)
    content = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    uploaded = await relaydesk.client.post("/api/widget/v1/uploads", headers=visitor.headers,
                                           files={"file": ("screen.png", content, "image/png")})
    assert uploaded.status_code == 201, uploaded.text
    attachment = {k: uploaded.json()[k] for k in ("name", "url", "content_type", "size")}
    await relaydesk.say(visitor, session_id, "visitor", "", attachments=[attachment])
    await relaydesk.settled(session_id)
    thread = driver.thread(session_id)
    [message] = [m for m in thread.messages if m.get("attachments")]
    file_id = message["attachments"][0]["fileId"]
    assert driver.sandbox.state.files[file_id].content == content
    assert message["text"] == "screen.png"


async def test_rep_replies_are_acknowledged_and_notes_stay_internal(hubspot: tuple[Stack, HubSpotDriver]) -> None:
    relaydesk, driver = hubspot
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "Hi"))
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    driver.rep_reply(session_id, "Hello from Ada")
    await driver.drain()
    await relaydesk.settled(session_id)
    reply = next(m for m in driver.thread(session_id).messages if m.get("text") == "Hello from Ada")
    assert reply["status"]["statusType"] == "SENT"

    body = (FIXTURES / "outgoing_channel_message_created_comment.json").read_text()
    channel = driver.thread(session_id).channel_id
    body = body.replace("5b1f0c2a9d8e4f7a8c6b3d2e1f0a9b8c", session_id).replace('"1000"', f'"{channel}"')
    integration = (await relaydesk.client.get("/api/v1/integrations/hubspot", headers=relaydesk.admin)).json()
    url, stamp = integration["webhook_url"], str(int(driver.sandbox.now_ms()))
    headers = {"X-HubSpot-Signature-v3": signature_v3(driver.sandbox.config.client_secret, "POST", url,
                                                      body.encode(), stamp),
               "X-HubSpot-Request-Timestamp": stamp, "Content-Type": "application/json"}
    posted = await relaydesk.webhook_client.post(url, content=body.encode(), headers=headers)
    assert posted.status_code == 200 and posted.json()["applied"], posted.text
    admin_view = [m["text"] for m in await relaydesk.messages(session_id) if m["kind"] == "note"]
    assert admin_view == ["Customer is a VIP, refund without questions."]
    widget = await relaydesk.client.get(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers)
    assert "Customer is a VIP" not in widget.text


async def test_component_messages_reach_hubspot_as_plain_text(hubspot: tuple[Stack, HubSpotDriver]) -> None:
    relaydesk, driver = hubspot
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "Track order 42"))
    await relaydesk.conversations.post_message(relaydesk.workspace_id, session_id, NewMessage(
        "ai", "", component={"key": "order_status", "data": {"id": 42}, "text": "Order 42 ships tomorrow."}))
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    found = driver.handoff(session_id)
    assert found is not None and found.transcript == await relaydesk.transcript(session_id)
    assert "Order 42 ships tomorrow." in found.transcript


async def test_rate_limited_calls_wait_for_retry_after_and_then_succeed(hubspot: tuple[Stack, HubSpotDriver]) -> None:
    relaydesk, driver = hubspot
    driver.sandbox.faults.rate_limit_next(1, retry_after=1, path="/conversations/v3/custom-channels")
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "Hi"))
    await relaydesk.hand_off(session_id)
    deliveries = await relaydesk.settled(session_id)
    assert [d["state"] for d in deliveries] == ["done"] and deliveries[0]["attempts"] == 2
    timeline = (await relaydesk.session(session_id))["timeline"]
    errors = [t["detail"]["error"] for t in timeline if t["action"] == "delivery.attempt" and "error" in t["detail"]]
    assert errors and "429" in errors[0]
    assert driver.handoff(session_id) is not None


async def test_an_expired_access_token_is_refreshed(hubspot: tuple[Stack, HubSpotDriver]) -> None:
    relaydesk, driver = hubspot
    driver.sandbox.clock = lambda: time.time() + 3600  # the portal's clock: every token has expired
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "Hi"))
    await relaydesk.hand_off(session_id)
    deliveries = await relaydesk.settled(session_id)
    assert [d["state"] for d in deliveries] == ["done"]
    assert driver.handoff(session_id) is not None


async def test_check_names_an_unknown_inbox_and_lists_the_real_ones(hubspot: tuple[Stack, HubSpotDriver]) -> None:
    relaydesk, _ = hubspot
    tested = await relaydesk.client.post("/api/v1/integrations/hubspot/test", headers=relaydesk.admin,
                                         json={"settings": {"inbox_id": "999"}})
    body = tested.json()
    assert body["ok"] is False and body["setting"] == "inbox_id"
    assert "Inbox 999 does not exist" in body["reason"] and "1001 (Support inbox)" in body["reason"]
    wrong_secret = await relaydesk.client.post("/api/v1/integrations/hubspot/test", headers=relaydesk.admin,
                                               json={"settings": {"client_secret": "nope"}})
    assert wrong_secret.json()["setting"] == "client_secret"
    still = await relaydesk.client.get("/api/v1/integrations/hubspot", headers=relaydesk.admin)
    assert still.json()["settings"]["inbox_id"] == "1001" and still.json()["status"] == "active"


async def test_the_authorize_url_asks_for_the_scopes_the_handoff_needs(tmp_path: Path) -> None:
    async with stack_with("hubspot", f"sqlite:///{tmp_path}/relaydesk.db", tmp_path) as (relaydesk, driver):
        saved = await relaydesk.client.put("/api/v1/integrations/hubspot", headers=relaydesk.admin,
                                           json={"settings": driver.settings()})
        assert saved.json()["status"] == "inactive" and "connect" in saved.json()["status_reason"]
        query = parse_qs(urlsplit(saved.json()["authorize_url"]).query)
        assert {"conversations.custom_channels.write", "tickets", "files"} <= set(query["scope"][0].split())
        assert query["redirect_uri"] == ["http://relaydesk.test/api/v1/integrations/hubspot/oauth/callback"]
        forged = await relaydesk.client.get("/api/v1/integrations/hubspot/oauth/callback",
                                            params={"code": "x", "state": "forged"})
        assert forged.status_code == 422


async def test_cli_check_reports_the_integration(hubspot: tuple[Stack, HubSpotDriver], tmp_path: Path) -> None:
    env = {**os.environ, "RELAYDESK_DATABASE_URL": f"sqlite:///{tmp_path}/relaydesk.db",
           "RELAYDESK_SECRET_KEY": "test-secret-key", "RELAYDESK_DATA_DIR": str(tmp_path),
           "RELAYDESK_LOG_JSON": "true"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "relaydesk", "integrations", "check", "hubspot",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "Connected to portal 62515" in out.decode()
    unknown = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "relaydesk", "integrations", "check", "zendesk",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(unknown.communicate(), 60)
    assert unknown.returncode != 0 and b"unknown connector" in err

