"""Creatio business-process calls: each event's fixture parses to exactly these events once confirmed against the
sandbox; a call whose record does not match Creatio is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from relaydesk.connectors.base import InboundEvent, SessionRef, WebhookRejected
from relaydesk.connectors.creatio import webhooks
from relaydesk.connectors.creatio.client import CreatioClient
from relaydesk.sandbox.creatio import CreatioSandbox, create_app

FIXTURES = Path(__file__).parent / "fixtures"
CASE = "5d3c1a2b-7e8f-4a9b-8c7d-6e5f4a3b2c1d"
OPEN_CASE = "6e4d2b3c-8f9a-4b0c-9d8e-7f6a5b4c3d2e"
RESOLVED = "ae7f411e-f46b-1410-009b-0050ba5d6c38"
NEW = "ae5f2f10-f46b-1410-fd9a-0050ba5d6c38"
CASE_REF = SessionRef(link_kind="case", external_id=CASE)


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


@pytest.fixture
async def scope() -> AsyncIterator[webhooks.Scope]:
    """A sandbox holding the fixtures' cases and activities, and a client signed in to it."""
    sandbox = CreatioSandbox()
    config, rep = sandbox.config, sandbox.rep()
    us = config.integration_user
    sandbox.create("Case", {"Id": CASE, "Subject": "Chat handoff: Jane Doe"}, us)
    sandbox.create("Case", {"Id": OPEN_CASE, "Subject": "Chat handoff: John Roe", "StatusId": NEW}, us)
    sandbox.update("Case", CASE, {"StatusId": RESOLVED}, rep)
    sandbox.create("Activity", {"Id": "a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a5b", "CaseId": CASE,
                                "Title": "Refund done", "Notes": "Hi Jane, I have refunded the second charge."}, rep)
    sandbox.create("Activity", {"Id": "a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a5b", "CaseId": CASE,
                                "Title": "relaydesk · #1 Visitor: I was charged twice on my invoice",
                                "Notes": "I was charged twice on my invoice"}, rep)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(create_app(sandbox=sandbox)),
                                  base_url="http://creatio.test") as http:
        client = CreatioClient(http, "http://creatio.test", "http://creatio.test/0/odata")

        async def bearer(_: bool) -> dict[str, str]:
            return {"Authorization": f"Bearer {sandbox.issue_token(config.client_id, config.client_secret)}"}

        client.sign_in = bearer
        yield webhooks.Scope(client, RESOLVED)


GOLDEN: list[tuple[str, list[InboundEvent], list[str]]] = [
    ("new_activity", [InboundEvent("activity:a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a5b", "rep_message", CASE_REF,
                                   text="Hi Jane, I have refunded the second charge.", author_name="Ada Lovelace")],
     []),
    ("new_activity_own", [], ["activity a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a5b is relaydesk's own"]),
    ("case_resolved_stale", [], [f"case {OPEN_CASE} is in status {NEW}, not the "
                                 "resolved status"]),
    ("case_reopened", [], ["unhandled event type case_reopened"]),
]


@pytest.mark.parametrize(("name", "events", "ignored"), GOLDEN, ids=[g[0] for g in GOLDEN])
async def test_each_event_fixture_parses_to_its_events(
    scope: webhooks.Scope, name: str, events: list[InboundEvent], ignored: list[str]
) -> None:
    batch = await webhooks.parse(fixture(name), scope)
    assert batch.events == events
    assert batch.ignored == ignored


async def test_a_resolved_case_resolves_the_session_once_per_change(scope: webhooks.Scope) -> None:
    first = await webhooks.parse(fixture("case_resolved"), scope)
    again = await webhooks.parse(fixture("case_resolved"), scope)
    [event] = first.events
    assert (event.type, event.ref) == ("resolved", CASE_REF)
    assert event.event_id.startswith(f"case:{CASE}:resolved:")
    assert again.events == first.events  # the same change has the same id: a repeat is a duplicate


@pytest.mark.parametrize(("name", "reason"), [
    ("new_activity_forged", "posted text differs"),
    ("new_activity_unknown", "has no activity"),
])
async def test_calls_that_creatio_does_not_confirm_are_refused(scope: webhooks.Scope, name: str, reason: str) -> None:
    with pytest.raises(WebhookRejected, match=reason):
        await webhooks.parse(fixture(name), scope)


@pytest.mark.parametrize("body", [b"{nope", b"[]", b'{"event_type": "new_activity"}'])
async def test_malformed_calls_are_refused(scope: webhooks.Scope, body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        await webhooks.parse(body, scope)
