"""HubSpot's documented rate limits as the sandbox enforces them, and the shared rate limiter."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from relaydesk.sandbox.faults import RateLimiter, RateLimitRule, WindowKind
from relaydesk.sandbox.hubspot import SandboxConfig

if TYPE_CHECKING:
    from conftest import Installed, Portal

INBOXES = "/conversations/v3/conversations/inboxes"


@pytest.fixture
def config(config: SandboxConfig) -> SandboxConfig:
    return replace(config, oauth_burst_limit=3, search_limit_per_second=1)


async def test_burst_limit_answers_429_with_rate_limit_headers(installed: Installed) -> None:
    responses = [await installed.client.get(INBOXES) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0].headers["X-HubSpot-RateLimit-Max"] == "3"
    assert responses[0].headers["X-HubSpot-RateLimit-Remaining"] == "2"
    assert responses[0].headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert "X-HubSpot-RateLimit-Daily" not in responses[0].headers
    body = responses[3].json()
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")


async def test_search_has_its_own_per_second_limit_without_headers(installed: Installed) -> None:
    search = {"filterGroups": []}
    first = await installed.client.post("/crm/v3/objects/contacts/search", json=search)
    second = await installed.client.post("/crm/v3/objects/contacts/search", json=search)
    assert (first.status_code, second.status_code) == (200, 429)
    assert "X-HubSpot-RateLimit-Max" not in first.headers
    assert second.json()["policyName"] == "SECONDLY"


async def test_private_app_calls_carry_daily_headers(portal: Portal) -> None:
    response = await portal.client.post(
        "/crm/v3/objects/contacts/search", json={}, headers={"Authorization": "Bearer pat-na1-contacts-only"}
    )
    assert response.status_code == 200
    owners = await portal.client.get("/crm/v3/owners", headers={"Authorization": "Bearer pat-na1-contacts-only"})
    assert owners.status_code == 403
    assert owners.headers["X-HubSpot-RateLimit-Daily"] == "650000"
    assert owners.headers["X-HubSpot-RateLimit-Max"] == "190"


def test_rate_limiter_rolling_and_fixed_windows() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    rolling = RateLimitRule("burst", 2, 10.0)
    daily = RateLimitRule("daily", 3, 100.0, WindowKind.FIXED)
    assert [d.allowed for d in limiter.hit("k", [rolling, daily])] == [True, True]
    now[0] = 5
    limiter.hit("k", [rolling, daily])
    blocked = limiter.hit("k", [rolling, daily])
    assert not blocked[0].allowed and blocked[0].retry_after_header == "5"
    now[0] = 10.5
    assert all(d.allowed for d in limiter.hit("k", [rolling, daily]))
    now[0] = 11
    assert not limiter.hit("k", [rolling, daily])[1].allowed
    now[0] = 100
    assert all(d.allowed for d in limiter.hit("k", [rolling, daily]))
