"""The contract every connector keeps, run against each helpdesk's sandbox through relaydesk's public APIs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.connectors.contract import DRIVERS, Stack, has_webhooks, read_stream, stack_with


@pytest.fixture(params=list(DRIVERS))
async def stack(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Stack, Any]]:
    async with stack_with(request.param, database_url, tmp_path) as pair:
        yield pair


@pytest.fixture
async def connected(stack: tuple[Stack, Any]) -> tuple[Stack, Any]:
    relaydesk, helpdesk = stack
    await helpdesk.connect(relaydesk)
    return relaydesk, helpdesk


async def handed_off(relaydesk: Stack, helpdesk: Any) -> tuple[Any, str]:
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "I was charged twice on my invoice"),
                                      ("ai", "Let me look at your invoice."), ("visitor", "It was in March"))
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    return visitor, session_id


async def test_check_before_save_names_the_wrong_credential_and_saves_nothing(stack: tuple[Stack, Any]) -> None:
    relaydesk, helpdesk = stack
    settings, fragment, setting = helpdesk.wrong_credentials()
    tested = await relaydesk.client.post(f"/api/v1/integrations/{helpdesk.name}/test", headers=relaydesk.admin,
                                         json={"settings": settings})
    assert tested.status_code == 200
    assert tested.json()["ok"] is False
    assert fragment in tested.json()["reason"] and tested.json()["setting"] == setting
    saved = await relaydesk.client.put(f"/api/v1/integrations/{helpdesk.name}", headers=relaydesk.admin,
                                       json={"settings": settings})
    assert saved.status_code == 422
    assert fragment in saved.json()["error"]["message"]
    assert (await relaydesk.client.get(f"/api/v1/integrations/{helpdesk.name}",
                                       headers=relaydesk.admin)).status_code == 404


async def test_secrets_are_write_only(connected: tuple[Stack, Any]) -> None:
    relaydesk, helpdesk = connected
    shown = (await relaydesk.client.get(f"/api/v1/integrations/{helpdesk.name}", headers=relaydesk.admin)).json()
    text = str(shown)
    for name, value in helpdesk.settings().items():
        if name in shown["secrets_set"]:
            assert str(value) not in text
    assert shown["secrets_set"] and shown["status"] == "active"
    assert shown["webhook_url"].startswith(f"http://relaydesk.test/webhooks/{helpdesk.name}/{shown['id']}?key=")


async def test_handoff_creates_contact_conversation_transcript_note_and_ticket(connected: tuple[Stack, Any]) -> None:
    relaydesk, helpdesk = connected
    _, session_id = await handed_off(relaydesk, helpdesk)
    found = helpdesk.handoff(session_id)
    assert found is not None
    assert found.transcript == await relaydesk.transcript(session_id)
    assert found.transcript[:2] == ["I was charged twice on my invoice", "Let me look at your invoice."]
    assert "Invoice charged twice" in found.note and "billing" in found.note
    assert f"/app/sessions/{session_id}" in found.note
    assert found.contact_id and bool(found.ticket_id) == helpdesk.makes_tickets
    links = {link["kind"]: link for link in (await relaydesk.session(session_id))["links"]}
    assert links[helpdesk.link_kind]["external_id"] == found.conversation_id and links[helpdesk.link_kind]["url"]
    if helpdesk.makes_tickets:
        assert links["ticket"]["external_id"] == found.ticket_id


async def test_rep_reply_reaches_the_widget_stream_within_two_seconds(connected: tuple[Stack, Any]) -> None:
    relaydesk, helpdesk = connected
    visitor, session_id = await handed_off(relaydesk, helpdesk)
    found: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    url = f"/api/widget/v1/sessions/{session_id}/events"
    last = (await relaydesk.messages(session_id))[-1]["seq"]
    async with httpx2.AsyncClient(base_url=str(relaydesk.client.base_url)) as widget:
        reader = asyncio.create_task(read_stream(widget, url, {**visitor.headers, "Last-Event-ID": str(last)}, found))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        helpdesk.rep_reply(session_id, "Hi Jane, refunding the second charge now.")
        while True:
            event = await asyncio.wait_for(found.get(), 2.0)
            if event["author"] == "rep" and event["kind"] == "text":
                break
        elapsed = time.monotonic() - started
        reader.cancel()
    assert event["text"] == "Hi Jane, refunding the second charge now."
    assert elapsed < 2.0
    session = await relaydesk.session(session_id)
    assert session["session"]["state"] == "human"


async def test_close_syncs_both_ways(connected: tuple[Stack, Any]) -> None:
    relaydesk, helpdesk = connected
    _, closed_there = await handed_off(relaydesk, helpdesk)
    helpdesk.close_in_helpdesk(closed_there)
    await helpdesk.drain()
    assert (await relaydesk.session(closed_there))["session"]["state"] == "resolved"

    _, resolved_here = await handed_off(relaydesk, helpdesk)
    response = await relaydesk.client.post(f"/api/v1/sessions/{resolved_here}/resolve", headers=relaydesk.admin)
    assert response.status_code == 200
    await relaydesk.wait_for(lambda: helpdesk.is_closed(resolved_here))
    await helpdesk.drain()
    assert (await relaydesk.session(resolved_here))["session"]["state"] == "resolved"
    kinds = [d["kind"] for d in await relaydesk.settled(closed_there)]
    assert "connector.resolve" not in kinds  # the close came from the helpdesk: nothing is echoed back


async def test_an_outage_of_thirty_seconds_loses_and_duplicates_nothing(connected: tuple[Stack, Any]) -> None:
    relaydesk, helpdesk = connected
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "first message"), ("ai", "second message"))
    advance = helpdesk.outage(30)
    await relaydesk.hand_off(session_id)
    await relaydesk.say(visitor, session_id, "visitor", "third message")
    await relaydesk.say(visitor, session_id, "visitor", "fourth message")

    async def retried() -> bool:
        return any(d["attempts"] >= 3 and d["last_error"] for d in await relaydesk.deliveries(session_id))

    await relaydesk.wait_for(retried)
    assert helpdesk.handoff(session_id) is None
    advance(29)
    await asyncio.sleep(0.3)
    assert helpdesk.handoff(session_id) is None
    advance(1)
    deliveries = await relaydesk.settled(session_id, within_s=15)
    assert all(d["state"] == "done" for d in deliveries)
    found = helpdesk.handoff(session_id)
    assert found is not None
    assert found.transcript == await relaydesk.transcript(session_id)
    assert found.transcript[-2:] == ["third message", "fourth message"]
    assert bool(found.ticket_id) == helpdesk.makes_tickets


async def test_duplicate_webhooks_change_nothing(connected: tuple[Stack, Any]) -> None:
    relaydesk, helpdesk = connected
    if not has_webhooks(helpdesk):
        pytest.skip(f"{helpdesk.name} sends no webhooks; its own tests cover repeated stream events")
    _, session_id = await handed_off(relaydesk, helpdesk)
    helpdesk.rep_reply(session_id, "Only once, please.")
    await helpdesk.drain()
    before = await relaydesk.messages(session_id)
    url, headers, body = helpdesk.webhook_requests()[-1]
    for _ in range(2):
        again = await relaydesk.webhook_client.post(url, content=body, headers=headers)
        assert again.status_code == 200, again.text
        assert again.json()["duplicates"]
    assert await relaydesk.messages(session_id) == before
    assert [m["text"] for m in before].count("Only once, please.") == 1


async def test_a_bad_signature_is_refused_with_401_and_changes_nothing(connected: tuple[Stack, Any]) -> None:
    relaydesk, helpdesk = connected
    if not has_webhooks(helpdesk):
        pytest.skip(f"{helpdesk.name} sends no webhooks, so there is no signature to forge")
    _, session_id = await handed_off(relaydesk, helpdesk)
    helpdesk.rep_reply(session_id, "Signed reply")
    await helpdesk.drain()
    before = await relaydesk.messages(session_id)
    url, headers, body = helpdesk.webhook_requests()[-1]
    forged = body.replace(b"Signed reply", b"Forged reply")
    refused = await relaydesk.webhook_client.post(url, content=forged, headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    wrong_key = await relaydesk.webhook_client.post(url.split("?")[0] + "?key=guess", content=body, headers=headers)
    assert wrong_key.status_code == 401
    assert await relaydesk.messages(session_id) == before
