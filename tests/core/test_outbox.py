"""The outbox delivers every message through a flaky target: in order per session, none lost, none twice."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path

import httpx2
from sqlalchemy import select

from relaydesk.config import Settings
from relaydesk.core import outbox
from relaydesk.core.bus import Bus
from relaydesk.core.conversations import Conversations, NewMessage
from relaydesk.core.db import Database, upgrade
from relaydesk.core.delivery import DeliveryError, DeliveryWorker
from relaydesk.core.http_delivery import parse_retry_after
from relaydesk.core.models import OutboxJob
from tests.conftest import LiveServer, app_client, make_settings
from tests.flaky_target import FlakyTarget
from tests.helpers import api, create_workspace, new_session, new_visitor


async def wait_until(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_flaky_target_gets_every_message_once_and_in_order_per_session(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, delivery_timeout_s=0.5, delivery_concurrency=8)
    target = FlakyTarget(hang_s=1.0, retry_after_s=1)
    async with LiveServer(target.app()) as receiver, app_client(settings) as (client, app):
        workspace_id, widget_token, key = await create_workspace(app)
        created = await client.post("/api/v1/webhooks", headers=api(key),
                                    json={"url": f"{receiver.url}/hook", "events": ["message.created"]})
        assert created.status_code == 201, created.text
        target.secret = created.json()["secret"]
        sessions = []
        for _ in range(12):
            visitor = await new_visitor(client, widget_token)
            sessions.append((visitor, await new_session(client, visitor)))

        async def converse(visitor: object, session_id: str) -> None:
            for i in range(8):
                response = await client.post(f"/api/widget/v1/sessions/{session_id}/messages",
                                             json={"text": f"message {i}", "client_id": f"{session_id}-{i}"},
                                             headers=visitor.headers)  # type: ignore[attr-defined]
                assert response.status_code == 201

        await asyncio.gather(*(converse(v, s) for v, s in sessions))
        conversations = app.state.runtime.conversations

        async def stored() -> dict[str, int]:
            return {s: (await conversations.get_session(workspace_id, s)).last_seq for _, s in sessions}

        def received() -> dict[str, list[int]]:
            by_session: dict[str, list[int]] = defaultdict(list)
            for receipt in target.first_receipts():
                by_session[receipt.session_id].append(receipt.seq)
            return by_session

        deadline = time.monotonic() + 60
        while True:
            counts = await stored()
            if all(received().get(s) == list(range(1, n + 1)) for s, n in counts.items()):
                break
            assert time.monotonic() < deadline, {s: received().get(s, [])[-5:] for s in counts}
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.2)  # let any late repeat of a hung request land too
        assert await stored() == counts, "nothing more was written meanwhile"

    unique = target.first_receipts()
    assert sum(counts.values()) == len(unique) >= 12 * 8
    assert target.bad_signatures == 0
    for session_id, seqs in received().items():
        assert seqs == list(range(1, counts[session_id] + 1)), seqs
    faults = set(target.faults.values())
    assert {"error", "hang", "rate_limited", "ok"} <= faults
    # Every repeat the receiver saw carries a webhook-id it had already accepted, so it can drop it.
    repeats = len(target.receipts) - len(unique)
    assert repeats <= sum(1 for f in target.faults.values() if f == "hang")
    for webhook_id, fault in target.faults.items():
        times = target.attempts[webhook_id]
        if fault == "rate_limited":
            assert times[1] - times[0] >= 0.95, "Retry-After was not honoured"


async def test_a_permanently_refused_delivery_is_dead_lettered_with_its_error_and_can_be_retried(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path)
    calls: list[str] = []
    refuse = True

    async def handler(job: outbox.Job) -> None:
        calls.append(job.idempotency_key)
        if refuse:
            raise DeliveryError("HTTP 400: unknown inbox", permanent=True)

    async with app_client(settings) as (client, app):
        runtime = app.state.runtime
        runtime.handlers["test.deliver"] = handler
        workspace_id, widget_token, key = await create_workspace(app)
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)
        async with runtime.db.transaction() as tx:
            outbox.enqueue(tx, workspace_id=workspace_id, session_id=session_id, target="t", kind="test.deliver",
                           payload={}, idempotency_key="job-1")
        runtime.worker.wake()
        await wait_until(lambda: len(calls) == 1, 10, "first attempt")
        await asyncio.sleep(0.3)
        dead = (await client.get("/api/v1/deliveries", params={"state": "dead"}, headers=api(key))).json()
        assert [d["last_error"] for d in dead["deliveries"]] == ["HTTP 400: unknown inbox"]
        assert len(calls) == 1, "a permanent failure must not be retried on its own"
        refuse = False
        retried = await client.post(f"/api/v1/deliveries/{dead['deliveries'][0]['id']}/retry", headers=api(key))
        assert retried.status_code == 200 and retried.json()["state"] == "pending"
        await wait_until(lambda: len(calls) == 2, 10, "manual retry")
        await asyncio.sleep(0.2)
        done = (await client.get("/api/v1/deliveries", params={"state": "done"}, headers=api(key))).json()
        assert len(done["deliveries"]) == 1
        timeline = (await client.get(f"/api/v1/sessions/{session_id}", headers=api(key))).json()["timeline"]
        outcomes = [t["detail"]["outcome"] for t in timeline if t["action"] == "delivery.attempt"]
        assert outcomes == ["dead", "done"]
        again = await client.post(f"/api/v1/deliveries/{dead['deliveries'][0]['id']}/retry", headers=api(key))
        assert again.status_code == 409


async def test_retries_stop_after_the_bounded_time_and_keep_the_last_error(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, delivery_max_age_s=0.6, delivery_backoff_base_s=0.05)
    attempts: list[float] = []

    async def handler(job: outbox.Job) -> None:
        attempts.append(time.monotonic())
        raise DeliveryError(f"HTTP 503 on attempt {len(attempts)}")

    async with app_client(settings) as (client, app):
        runtime = app.state.runtime
        runtime.handlers["test.deliver"] = handler
        workspace_id, _, key = await create_workspace(app)
        async with runtime.db.transaction() as tx:
            outbox.enqueue(tx, workspace_id=workspace_id, target="t", kind="test.deliver", payload={},
                           idempotency_key="job-2")
        runtime.worker.wake()

        async def is_dead() -> bool:
            rows = (await client.get("/api/v1/deliveries", params={"state": "dead"}, headers=api(key))).json()
            return bool(rows["deliveries"])

        deadline = time.monotonic() + 10
        while not await is_dead():
            assert time.monotonic() < deadline, "never dead-lettered"
            await asyncio.sleep(0.05)
        dead = (await client.get("/api/v1/deliveries", params={"state": "dead"}, headers=api(key))).json()
        assert len(attempts) >= 2
        assert dead["deliveries"][0]["last_error"] == f"HTTP 503 on attempt {len(attempts)}"
        assert dead["deliveries"][0]["attempts"] == len(attempts)


async def test_a_job_whose_worker_vanished_is_taken_over_when_its_lease_expires(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (_client, app):
        runtime = app.state.runtime
        workspace_id, _, _ = await create_workspace(app)
        async with runtime.db.transaction() as tx:
            for i in range(2):
                outbox.enqueue(tx, workspace_id=workspace_id, session_id="s1", target="t", kind="test.deliver",
                               payload={"i": i}, idempotency_key=f"lease-{i}")
        async with runtime.db.transaction() as tx:
            claimed = await outbox.claim(tx, worker_id="gone", limit=10, lease_s=0.3)
        assert [job.payload["i"] for job in claimed] == [0], "only the head of a session is claimable"
        async with runtime.db.transaction() as tx:
            assert await outbox.claim(tx, worker_id="other", limit=10, lease_s=5) == []
        await asyncio.sleep(0.4)
        async with runtime.db.transaction() as tx:
            taken = await outbox.claim(tx, worker_id="other", limit=10, lease_s=5)
        assert [(job.payload["i"], job.attempts) for job in taken] == [(0, 2)]
        async with runtime.db.transaction() as tx:
            assert not await outbox.complete(tx, claimed[0]), "the vanished worker's late answer must not count"
            assert await outbox.complete(tx, taken[0])
        async with runtime.db.transaction() as tx:
            following = await outbox.claim(tx, worker_id="other", limit=10, lease_s=5)
        assert [job.payload["i"] for job in following] == [1]


async def test_sessions_deliver_in_parallel_while_each_stays_in_order(settings: Settings) -> None:
    delivered: dict[str, list[int]] = defaultdict(list)
    running = 0
    peak = 0

    async def handler(job: outbox.Job) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        delivered[job.payload["session"]].append(job.payload["n"])
        running -= 1

    async with app_client(settings, run_workers=False) as (_client, app):
        runtime = app.state.runtime
        runtime.handlers["test.deliver"] = handler
        workspace_id, _, _ = await create_workspace(app)
        contact = await runtime.conversations.create_contact(workspace_id)
        sessions = [(await runtime.conversations.open_session(workspace_id, contact.id)).id for _ in range(4)]
        async with runtime.db.transaction() as tx:
            for n in range(10):
                for session in sessions:
                    outbox.enqueue(tx, workspace_id=workspace_id, session_id=session, target="t",
                                   kind="test.deliver", payload={"session": session, "n": n},
                                   idempotency_key=f"{session}-{n}")
        worker = DeliveryWorker(runtime.db, runtime.bus, runtime.settings, runtime.handlers)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await wait_until(lambda: sum(map(len, delivered.values())) == 40, 20, "40 deliveries")
        stop.set()
        await task
        async with runtime.db.read() as db:
            states = set((await db.scalars(select(OutboxJob.state))).all())
    assert states == {"done"}
    assert all(seq == list(range(10)) for seq in delivered.values())
    assert peak > 1, "different sessions should deliver at the same time"


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


async def test_unreachable_target_is_retried_not_dropped(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path)
    async with app_client(settings) as (client, app):
        workspace_id, widget_token, key = await create_workspace(app)
        created = await client.post("/api/v1/webhooks", headers=api(key),
                                    json={"url": "http://127.0.0.1:9/nothing-listens-here"})
        assert created.status_code == 201
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)
        await app.state.runtime.conversations.post_message(workspace_id, session_id, NewMessage("visitor", "hi"))
        await asyncio.sleep(0.8)
        rows = [r for r in (await client.get("/api/v1/deliveries", headers=api(key))).json()["deliveries"]
                if r["kind"] == "webhook.deliver"]
        assert rows and all(r["state"] in ("pending", "running") for r in rows)
        assert any(r["attempts"] >= 2 and "ConnectError" in (r["last_error"] or "") for r in rows)
    _ = httpx2


async def test_a_retry_that_succeeds_makes_the_targets_backed_off_jobs_due_at_once(database_url: str,
                                                                                   tmp_path: Path) -> None:
    url = make_settings(database_url, tmp_path).resolved_database_url
    await upgrade(url)
    db = Database(url)  # no worker runs here: the test alone claims, fails and completes
    try:
        workspace_id = (await Conversations(db, Bus()).create_workspace("Acme"))[0].id

        async def enqueue(target: str, session: str) -> None:
            async with db.transaction() as tx:
                outbox.enqueue(tx, workspace_id=workspace_id, target=target, kind="k", payload={},
                               idempotency_key=f"{target}-{session}", session_id=None)

        for session in ("a", "b", "c"):
            await enqueue("down", session)
        await enqueue("other", "a")
        async with db.transaction() as tx:
            claimed = await outbox.claim(tx, worker_id="w", limit=10, lease_s=60)
            for job in claimed:  # the outage: every attempt fails and backs off for minutes
                await outbox.fail(tx, job, error="503", permanent=False, retry_after_s=None, base_s=120.0,
                                  cap_s=300.0, max_age_s=3600, max_attempts=10)
        async with db.transaction() as tx:
            assert await outbox.claim(tx, worker_id="w", limit=10, lease_s=60) == []
            first = (await tx.scalars(select(OutboxJob).where(OutboxJob.target == "down").order_by(OutboxJob.id)
                                      )).first()
            assert first is not None
            first.next_attempt_at = first.created_at  # its own backoff ran out first
        async with db.transaction() as tx:
            [retry] = await outbox.claim(tx, worker_id="w", limit=10, lease_s=60)
            assert retry.attempts == 2 and await outbox.complete(tx, retry)
        async with db.transaction() as tx:
            due = await outbox.claim(tx, worker_id="w", limit=10, lease_s=60)
        assert sorted(job.idempotency_key for job in due) == ["down-b", "down-c"]  # not "other-a": not its target
    finally:
        await db.dispose()
