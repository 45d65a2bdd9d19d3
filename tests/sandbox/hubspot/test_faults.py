"""Fault injection, HubSpot's rate limits, and webhook retries."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import httpx2
import pytest

from relaydesk.sandbox.hubspot import HubSpotSandbox

if TYPE_CHECKING:
    from conftest import Conversation, Installed, Portal, Receiver

INBOXES = "/conversations/v3/conversations/inboxes"


async def test_admin_endpoint_arms_429_with_retry_after(installed: Installed) -> None:
    armed = await installed.client.post("/_sandbox/faults", json={"kind": "rate_limit", "count": 1, "retryAfter": 7})
    assert armed.status_code == 201
    limited = await installed.client.get(INBOXES)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert (await installed.client.get(INBOXES)).status_code == 200
    assert (await installed.client.get("/_sandbox/faults")).json()["results"] == []


async def test_errors_can_target_a_path_and_carry_hubspots_body(installed: Installed, sandbox: HubSpotSandbox) -> None:
    sandbox.faults.fail_next(2, 502, path="/crm/")
    assert (await installed.client.get(INBOXES)).status_code == 200
    failed = await installed.client.get("/crm/v3/owners")
    assert failed.status_code == 502
    assert failed.json()["status"] == "error" and failed.json()["correlationId"]
    assert (await installed.client.get("/crm/v3/owners")).status_code == 502
    assert (await installed.client.get("/crm/v3/owners")).status_code == 200


async def test_outage_window_ends_on_time(installed: Installed, sandbox: HubSpotSandbox) -> None:
    now = [1000.0]
    sandbox.faults.clock = lambda: now[0]
    sandbox.faults.outage(30)
    assert (await installed.client.get(INBOXES)).status_code == 503
    now[0] += 29
    assert (await installed.client.get(INBOXES)).status_code == 503
    now[0] += 1
    assert (await installed.client.get(INBOXES)).status_code == 200
    assert (await installed.client.get("/_sandbox/console")).status_code == 200


async def test_latency_delays_but_serves(installed: Installed, sandbox: HubSpotSandbox) -> None:
    await installed.client.post("/_sandbox/faults", json={"kind": "latency", "seconds": 0.2, "count": 1})
    started = time.perf_counter()
    response = await installed.client.get(INBOXES)
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.2


async def test_hang_times_out_a_client_and_drop_looks_like_a_dead_peer(
    installed: Installed, sandbox: HubSpotSandbox
) -> None:
    sandbox.faults.hang_next(1, seconds=0.05)
    assert (await installed.client.get(INBOXES)).status_code == 504
    sandbox.faults.drop_next()
    with pytest.raises(httpx2.RemoteProtocolError):
        await installed.client.get(INBOXES)
    assert (await installed.client.delete("/_sandbox/faults")).status_code == 204


async def test_failed_webhooks_are_retried_with_attempt_numbers(
    conversation: Conversation, portal: Portal, sandbox: HubSpotSandbox, receiver: Receiver
) -> None:
    await portal.subscribe("conversation.propertyChange", "status")
    receiver.requests.clear()
    receiver.statuses.extend([500, 429])
    sandbox.set_status(conversation.thread_id, "CLOSED")
    await sandbox.webhooks.drain()
    attempts = [json.loads(r.body)[0]["attemptNumber"] for r in receiver.to(portal.app_webhook)]
    assert attempts == [0, 1, 2]
    assert sandbox.webhooks.deliveries[-1].state == "delivered"


async def test_final_statuses_stop_retries(
    conversation: Conversation, portal: Portal, sandbox: HubSpotSandbox, receiver: Receiver
) -> None:
    receiver.requests.clear()
    receiver.statuses.append(404)
    sandbox.send_rep_message(conversation.thread_id, "hello", actor_id=sandbox.default_rep_actor)
    await sandbox.webhooks.drain()
    assert len(receiver.to(portal.channel_webhook)) == 1
    assert sandbox.webhooks.deliveries[-1].state == "failed"
