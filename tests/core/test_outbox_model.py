"""The outbox against a model, driven by Hypothesis: random enqueues, claims, completions, failures and dead workers.

Invariants after every step: at most one job of an ordering key is leased at a time, and it is the key's oldest
unfinished job; a finished job is never claimed again; jobs finish in id order within their key; and at the end,
with every worker honest, every job is done or dead and none was completed twice.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select, update

from relaydesk.core import outbox
from relaydesk.core.bus import Bus
from relaydesk.core.conversations import Conversations
from relaydesk.core.db import Database, upgrade
from relaydesk.core.models import OutboxJob, utcnow

KEYS = ("s1", "s2", "s3")
WORKERS = ("w1", "w2")


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.path = Path(TMP) / f"model-{id(self)}.db"
        url = f"sqlite+aiosqlite:///{self.path}"
        self.run(upgrade(url))
        self.db = Database(url)
        workspace, _ = self.run(Conversations(self.db, Bus()).create_workspace("model"))
        self.workspace_id = workspace.id
        self.held: dict[str, list[outbox.Job]] = defaultdict(list)
        self.finished_order: dict[str, list[int]] = defaultdict(list)
        self.completed: list[int] = []
        self.count = 0

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    async def _jobs(self) -> list[OutboxJob]:
        async with self.db.read() as db:
            return list((await db.scalars(select(OutboxJob).order_by(OutboxJob.id))).all())

    @rule(key=st.sampled_from(KEYS))
    def enqueue(self, key: str) -> None:
        async def go() -> None:
            async with self.db.transaction() as tx:
                outbox.enqueue(tx, workspace_id=self.workspace_id, target="t", kind="k", payload={"key": key},
                               idempotency_key=f"job-{self.count}", session_id=key)
        self.run(go())
        self.count += 1

    @rule(worker=st.sampled_from(WORKERS), limit=st.integers(1, 4))
    def claim(self, worker: str, limit: int) -> None:
        async def go() -> list[outbox.Job]:
            async with self.db.transaction() as tx:
                return await outbox.claim(tx, worker_id=worker, limit=limit, lease_s=60)
        claimed = self.run(go())
        keys = [job.payload["key"] for job in claimed]
        assert len(keys) == len(set(keys)), "two jobs of one key claimed together"
        for job in claimed:
            assert job.id not in self.completed, "a finished job was claimed again"
        self.held[worker].extend(claimed)

    @precondition(lambda self: any(self.held.values()))
    @rule(worker=st.sampled_from(WORKERS), data=st.data())
    def complete(self, worker: str, data: st.DataObject) -> None:
        if not self.held[worker]:
            return
        job = self.held[worker].pop(data.draw(st.integers(0, len(self.held[worker]) - 1)))

        async def go() -> bool:
            async with self.db.transaction() as tx:
                return await outbox.complete(tx, job)
        if self.run(go()):
            assert job.id not in self.completed
            self.completed.append(job.id)
            self.finished_order[job.payload["key"]].append(job.id)

    @precondition(lambda self: any(self.held.values()))
    @rule(worker=st.sampled_from(WORKERS), permanent=st.booleans())
    def fail(self, worker: str, permanent: bool) -> None:
        if not self.held[worker]:
            return
        job = self.held[worker].pop(0)

        async def go() -> str:
            async with self.db.transaction() as tx:
                state = await outbox.fail(tx, job, error="boom", permanent=permanent, retry_after_s=None,
                                          base_s=0.0, cap_s=0.0, max_age_s=3600, max_attempts=4)
                if state == "pending":  # due again at once, so the model can claim it
                    await tx.execute(update(OutboxJob).where(OutboxJob.id == job.id)
                                     .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
                return state
        if self.run(go()) == "dead":
            self.finished_order[job.payload["key"]].append(job.id)

    @precondition(lambda self: any(self.held.values()))
    @rule(worker=st.sampled_from(WORKERS))
    def worker_dies(self, worker: str) -> None:
        """The worker vanishes with its jobs; their leases run out."""
        jobs, self.held[worker] = self.held[worker], []

        async def go() -> None:
            async with self.db.transaction() as tx:
                for job in jobs:
                    await tx.execute(update(OutboxJob).where(OutboxJob.id == job.id, OutboxJob.lease_owner == worker)
                                     .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        self.run(go())

    @invariant()
    def one_leased_job_per_key_and_it_is_the_oldest_unfinished(self) -> None:
        jobs = self.run(self._jobs())
        now = utcnow()
        for key in KEYS:
            mine = [j for j in jobs if j.ordering_key == f"t:{key}"]
            live = [j for j in mine if j.state == "running" and j.lease_expires_at and j.lease_expires_at > now]
            assert len(live) <= 1, f"{key}: {len(live)} jobs leased at once"
            unfinished = [j for j in mine if j.state in ("pending", "running")]
            if live:
                assert live[0].id == unfinished[0].id, f"{key}: a younger job is leased before an older one"

    @invariant()
    def jobs_finish_in_order_within_their_key(self) -> None:
        for key, ids in self.finished_order.items():
            assert ids == sorted(ids), f"{key} finished out of order: {ids}"


TMP = ""


def test_outbox_keeps_its_promises_under_random_schedules(tmp_path: Path) -> None:
    global TMP
    TMP = str(tmp_path)
    OutboxMachine.TestCase.settings = settings(
        max_examples=40, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)
    )
    OutboxMachine.TestCase().runTest()
