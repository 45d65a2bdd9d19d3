"""Rate limits hold under a burst of concurrent requests to a served relaydesk: the widget's per-address and
per-contact limits and the dashboard's sign-in limit answer 429 with Retry-After past their budget, and other
addresses and contacts go on unaffected.

The server trusts X-Forwarded-For from loopback (uvicorn's default, as behind a local proxy), which is how these tests
speak from several addresses.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio

from relaydesk.web.dashboard.auth import LoginLimiter, TooManyAttempts
from tests.conftest import LiveServer, app_client, make_settings
from tests.dashboard.conftest import AGENT, OWNER, add_people, csrf_of
from tests.helpers import Visitor, new_session, new_visitor

W = "/api/widget/v1"
BURST = 20
SLOW_REFILL = 0.2  # tokens per second: the tests end long before a bucket refills much


@pytest_asyncio.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, Any, str]]:
    """relaydesk on a loopback port with small widget budgets: (base URL, app, widget token)."""
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path, widget_ip_burst=BURST,
                             widget_ip_per_second=SLOW_REFILL, widget_contact_burst=BURST,
                             widget_contact_per_second=SLOW_REFILL)
    async with app_client(settings, run_workers=False) as (_, app), LiveServer(app) as server:
        workspace, _ = await app.state.runtime.conversations.create_workspace("Larkbox")
        yield server.url, app, workspace.widget_token


def _from(address: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return {**(headers or {}), "X-Forwarded-For": address}


def _assert_limited(responses: list[httpx2.Response], allowed: int, ok: int) -> None:
    """`allowed` (give or take what refills during the burst) answered `ok`, every other one 429 with Retry-After."""
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {ok, 429}, statuses
    assert allowed <= statuses[ok] <= allowed + 2, statuses
    for refused in (r for r in responses if r.status_code == 429):
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"]["code"] == "rate_limited"


async def test_a_burst_from_one_address_is_cut_at_its_budget_and_others_go_on(served: tuple[str, Any, str]) -> None:
    url, _, token = served
    async with httpx2.AsyncClient(base_url=url, timeout=30) as client:
        flood = [client.get(f"{W}/config", headers=_from("203.0.113.7", {"X-Widget-Token": token}))
                 for _ in range(BURST * 3)]
        others = [client.get(f"{W}/config", headers=_from(f"198.51.100.{n}", {"X-Widget-Token": token}))
                  for n in range(1, 11)]
        answers = await asyncio.gather(*flood, *others)
    _assert_limited(list(answers[: len(flood)]), BURST, 200)
    assert [a.status_code for a in answers[len(flood):]] == [200] * len(others)


async def test_a_burst_from_one_contact_is_cut_at_its_budget_and_nothing_is_lost(
    served: tuple[str, Any, str],
) -> None:
    url, app, token = served
    async with httpx2.AsyncClient(base_url=url, timeout=30) as client:
        # Each contact is made from an address of its own, so only the contact's budget is in play.
        noisy = await new_visitor(client, token)
        calm = await _visitor_from(client, token, "198.51.100.50")
        noisy_session, calm_session = await new_session(client, noisy), await new_session(client, calm)
        spent = 1  # opening the session counted against the contact

        def send(visitor: Visitor, session_id: str, n: int, address: str) -> Any:
            return client.post(f"{W}/sessions/{session_id}/messages", json={"text": f"message {n}",
                               "client_id": f"c-{n}"}, headers=_from(address, visitor.headers))

        flood = [send(noisy, noisy_session, n, f"203.0.113.{n}") for n in range(BURST * 2)]
        others = [send(calm, calm_session, n, "198.51.100.50") for n in range(5)]
        answers = await asyncio.gather(*flood, *others)
        _assert_limited(list(answers[: len(flood)]), BURST - spent, 201)
        assert [a.status_code for a in answers[len(flood):]] == [201] * len(others)
        stored = await app.state.runtime.conversations.messages_after(
            (await app.state.runtime.conversations.workspace_by_widget_token(token)).id, noisy_session)
    accepted = sorted(a.json()["message"]["text"] for a in answers[: len(flood)] if a.status_code == 201)
    assert sorted(m.text for m in stored) == accepted, "every accepted message is stored, and only those"


async def _visitor_from(client: httpx2.AsyncClient, token: str, address: str) -> Visitor:
    answer = await client.post(f"{W}/contacts", json={}, headers=_from(address, {"X-Widget-Token": token}))
    return Visitor(token, answer.json()["token"], answer.json()["contact"]["id"])


async def _sign_in(url: str, address: str, who: tuple[str, str]) -> httpx2.Response:
    async with httpx2.AsyncClient(base_url=url, timeout=60) as browser:
        form = await browser.get("/app/login", headers=_from(address))
        return await browser.post("/app/login", headers=_from(address),
                                  data={"email": who[0], "password": who[1], "csrf": csrf_of(form.text)})


async def test_concurrent_password_guesses_stop_at_five_and_others_still_sign_in(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path)
    async with app_client(settings, run_workers=False) as (_, app), LiveServer(app) as server:
        workspace, _ = await app.state.runtime.conversations.create_workspace("Larkbox")
        await add_people(app, workspace.id)
        guesses = await asyncio.gather(*(_sign_in(server.url, "203.0.113.9", (OWNER[0], f"guess-{n}"))
                                         for n in range(12)))
        statuses = Counter(g.status_code for g in guesses)
        assert statuses == {401: 5, 429: 7}, statuses
        assert all(int(g.headers["retry-after"]) > 0 for g in guesses if g.status_code == 429)
        # The guessed account stays locked from anywhere for a while; other people sign in as usual.
        assert (await _sign_in(server.url, "198.51.100.3", OWNER)).status_code == 429
        assert (await _sign_in(server.url, "198.51.100.3", AGENT)).status_code == 303


def test_many_addresses_cannot_wipe_the_sign_in_counters() -> None:
    """Past the 50,000 keys it tracks, the limiter forgets expired and unlocked keys first: a flood of new addresses
    leaves the locked account and address locked, and the limiter's size bounded."""
    limiter = LoginLimiter()
    for _ in range(limiter.max_failures):
        limiter.attempt("ip:203.0.113.9", "email:owner@example.com")
    for n in range(50_001):
        limiter.attempt(f"ip:10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")

    for key in ("email:owner@example.com", "ip:203.0.113.9"):
        with pytest.raises(TooManyAttempts):
            limiter.attempt(key)
    limiter.attempt("ip:198.51.100.3", "email:agent@example.com")
    assert limiter.tracked <= 50_000
