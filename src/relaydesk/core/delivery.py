"""Delivery workers: claim outbox jobs, run the handler for each job's kind, record the outcome on the timeline."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import Counter, Histogram

from relaydesk.config import Settings
from relaydesk.core import outbox
from relaydesk.core.bus import Bus
from relaydesk.core.db import Database
from relaydesk.core.models import TimelineEntry

log = structlog.get_logger(__name__)

OUTBOX_CHANNEL = "outbox"

DELIVERIES = Counter("relaydesk_deliveries_total", "Delivery attempts by kind and outcome", ["kind", "outcome"])
DELIVERY_SECONDS = Histogram("relaydesk_delivery_seconds", "Time spent in one delivery attempt", ["kind"])


class DeliveryError(Exception):
    """A failed attempt. `permanent` sends the job to the dead letters; otherwise it is retried after a backoff."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_s = retry_after_s


@dataclass
class DeliveryResult:
    """What a handler tells the timeline about a successful call."""

    detail: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[outbox.Job], Awaitable[DeliveryResult | None]]


class DeliveryWorker:
    """Runs jobs from the outbox with bounded concurrency until stopped."""

    def __init__(self, db: Database, bus: Bus, settings: Settings, handlers: dict[str, Handler]) -> None:
        self.db = db
        self.bus = bus
        self.settings = settings
        self.handlers = handlers
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and run jobs until `stop` is set, then let the jobs in flight finish."""
        log.info("worker.started", worker_id=self.worker_id)
        async with self.bus.subscribe(OUTBOX_CHANNEL) as wakeups:
            listener = asyncio.create_task(self._listen(wakeups, stop))
            try:
                while not stop.is_set():
                    claimed = await self._claim_batch()
                    if claimed:
                        continue
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.settings.delivery_poll_s)
            finally:
                listener.cancel()
                if self._inflight:
                    await asyncio.wait(self._inflight, timeout=self.settings.delivery_timeout_s)
        log.info("worker.stopped", worker_id=self.worker_id)

    async def _listen(self, wakeups: Any, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if await wakeups.get(wait_s=1.0) is not None:
                self._wake.set()
        self._wake.set()

    async def _claim_batch(self) -> int:
        free = self.settings.delivery_concurrency - len(self._inflight)
        if free <= 0:
            await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
            return 1
        try:
            async with self.db.transaction() as tx:
                jobs = await outbox.claim(
                    tx, worker_id=self.worker_id, limit=free, lease_s=self.settings.delivery_lease_s
                )
        except Exception as exc:  # a database hiccup must not kill the worker
            log.warning("worker.claim_failed", error=str(exc))
            await asyncio.sleep(self.settings.delivery_poll_s)
            return 0
        for job in jobs:
            task = asyncio.create_task(self._run(job))
            self._inflight.add(task)
            task.add_done_callback(self._done)
        return len(jobs)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # the next job of that session may now be due

    async def _run(self, job: outbox.Job) -> None:
        handler = self.handlers.get(job.kind)
        started = time.perf_counter()
        error: DeliveryError | None = None
        result: DeliveryResult | None = None
        if handler is None:
            error = DeliveryError(f"no handler for delivery kind {job.kind!r}", permanent=True)
        else:
            try:
                result = await asyncio.wait_for(handler(job), self.settings.delivery_timeout_s)
            except DeliveryError as exc:
                error = exc
            except TimeoutError:
                error = DeliveryError(f"timed out after {self.settings.delivery_timeout_s:g}s")
            except Exception as exc:
                log.exception("delivery.handler_crashed", job_id=job.id, kind=job.kind)
                error = DeliveryError(f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - started
        DELIVERY_SECONDS.labels(job.kind).observe(elapsed)
        await self._record(job, result, error, elapsed)

    async def _record(
        self, job: outbox.Job, result: DeliveryResult | None, error: DeliveryError | None, elapsed: float
    ) -> None:
        s = self.settings
        for attempt in range(5):
            try:
                async with self.db.transaction() as tx:
                    if error is None:
                        kept = await outbox.complete(tx, job)
                        outcome = "done" if kept else "lease_lost"
                    else:
                        outcome = (
                            await outbox.fail(
                                tx,
                                job,
                                error=str(error),
                                permanent=error.permanent,
                                retry_after_s=error.retry_after_s,
                                base_s=s.delivery_backoff_base_s,
                                cap_s=s.delivery_backoff_cap_s,
                                max_age_s=s.delivery_max_age_s,
                                max_attempts=s.delivery_max_attempts,
                            )
                            or "lease_lost"
                        )
                    if job.session_id:
                        detail: dict[str, Any] = {
                            "job_id": job.id,
                            "kind": job.kind,
                            "attempt": job.attempts,
                            "outcome": outcome,
                            "ms": round(elapsed * 1000, 1),
                        }
                        if error is not None:
                            detail["error"] = str(error)[:500]
                        if result is not None:
                            detail.update(result.detail)
                        tx.add(
                            TimelineEntry(
                                workspace_id=job.workspace_id,
                                session_id=job.session_id,
                                actor=f"delivery:{job.target}",
                                action="delivery.attempt",
                                detail=detail,
                            )
                        )
                DELIVERIES.labels(job.kind, outcome).inc()
                log.log(
                    20 if error is None else 30,
                    "delivery.attempt",
                    job_id=job.id,
                    kind=job.kind,
                    attempt=job.attempts,
                    outcome=outcome,
                    error=None if error is None else str(error)[:300],
                )
                return
            except Exception as exc:  # keep trying to record; if we cannot, the lease expires and it is redone
                log.warning("delivery.record_failed", job_id=job.id, error=str(exc), attempt=attempt)
                await asyncio.sleep(0.2 * 2**attempt)


async def notify_outbox(bus: Bus) -> None:
    """Wake the workers (in this process and, through Redis, in others) after a commit that added jobs."""
    await bus.publish(OUTBOX_CHANNEL, {"type": "outbox"})
