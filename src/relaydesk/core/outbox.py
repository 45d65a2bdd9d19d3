"""The transactional outbox: jobs written with the change that causes them, claimed under a lease, in order per key.

A job is claimable when it is pending and due, or running under a lease that has expired (its worker died). Only the
oldest unfinished job of an ordering key may be claimed, so deliveries for one session happen one at a time, in order,
while different sessions deliver in parallel. Dead jobs do not block their key: one poisoned message must not stall
a conversation; the dashboard shows it with its error and a retry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from relaydesk.core.errors import Conflict, NotFound
from relaydesk.core.models import OutboxJob, utcnow

UNFINISHED = ("pending", "running")


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job, detached from the database session that claimed it."""

    id: int
    workspace_id: str
    session_id: str | None
    target: str
    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int
    created_at: datetime
    lease_owner: str


def ordering_key(target: str, session_id: str | None, idempotency_key: str) -> str:
    return f"{target}:{session_id}" if session_id else f"{target}:~{idempotency_key}"


def enqueue(
    db: AsyncSession,
    *,
    workspace_id: str,
    target: str,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    session_id: str | None = None,
    delay_s: float = 0.0,
) -> OutboxJob:
    """Add a job to the caller's transaction; it exists only if that transaction commits."""
    job = OutboxJob(
        workspace_id=workspace_id,
        session_id=session_id,
        ordering_key=ordering_key(target, session_id, idempotency_key),
        target=target,
        kind=kind,
        payload=payload,
        idempotency_key=idempotency_key,
        next_attempt_at=utcnow() + timedelta(seconds=delay_s),
    )
    db.add(job)
    return job


def _claimable(job: type[OutboxJob] | Any, now: datetime) -> Any:
    return or_(
        and_(job.state == "pending", job.next_attempt_at <= now),
        and_(job.state == "running", job.lease_expires_at < now),
    )


async def claim(db: AsyncSession, *, worker_id: str, limit: int, lease_s: float) -> list[Job]:
    """Lease up to `limit` due jobs, the head of each ordering key only. Call inside a transaction."""
    now = utcnow()
    candidate, earlier = aliased(OutboxJob), aliased(OutboxJob)
    blocked = exists().where(
        earlier.ordering_key == candidate.ordering_key,
        earlier.id < candidate.id,
        earlier.state.in_(UNFINISHED),
    )
    query = select(candidate.id).where(_claimable(candidate, now), ~blocked).order_by(candidate.id).limit(limit)
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=candidate, skip_locked=True)
    ids = list((await db.scalars(query)).all())
    if not ids:
        return []
    rows = await db.scalars(
        update(OutboxJob)
        .where(OutboxJob.id.in_(ids), _claimable(OutboxJob, now))
        .values(
            state="running",
            lease_owner=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_s),
            attempts=OutboxJob.attempts + 1,
            updated_at=now,
        )
        .returning(OutboxJob)
        .execution_options(synchronize_session=False)
    )
    return sorted(
        (
            Job(
                id=row.id,
                workspace_id=row.workspace_id,
                session_id=row.session_id,
                target=row.target,
                kind=row.kind,
                payload=row.payload,
                idempotency_key=row.idempotency_key,
                attempts=row.attempts,
                created_at=row.created_at,
                lease_owner=worker_id,
            )
            for row in rows
        ),
        key=lambda job: job.id,
    )


async def complete(db: AsyncSession, job: Job) -> bool:
    """Mark a job done; False when its lease was lost to another worker meanwhile.

    A retry that succeeds means its target is back: the target's other jobs waiting out a backoff become due at
    once (never before a Retry-After the provider gave them), so a backlog built up during an outage drains at the
    target's pace rather than at each job's backoff.
    """
    now = utcnow()
    result = await db.execute(
        update(OutboxJob)
        .where(OutboxJob.id == job.id, OutboxJob.lease_owner == job.lease_owner, OutboxJob.state == "running")
        .values(state="done", finished_at=now, updated_at=now, lease_owner=None, lease_expires_at=None, last_error=None)
    )
    kept = bool(result.rowcount)  # type: ignore[attr-defined]
    if kept and job.attempts > 1:
        await db.execute(
            update(OutboxJob)
            .where(OutboxJob.target == job.target, OutboxJob.state == "pending", OutboxJob.attempts > 0,
                   OutboxJob.next_attempt_at > now, or_(OutboxJob.not_before.is_(None), OutboxJob.not_before <= now))
            .values(next_attempt_at=now, updated_at=now)
        )
    return kept


def backoff_delay(attempts: int, *, base_s: float, cap_s: float, retry_after_s: float | None) -> float:
    """Exponential backoff with jitter; a provider's Retry-After is a floor, never shortened."""
    exponential = min(cap_s, base_s * float(2 ** max(attempts - 1, 0)))
    delay: float = exponential * random.uniform(0.5, 1.0)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay


async def fail(
    db: AsyncSession,
    job: Job,
    *,
    error: str,
    permanent: bool,
    retry_after_s: float | None,
    base_s: float,
    cap_s: float,
    max_age_s: float,
    max_attempts: int,
) -> str:
    """Record a failed attempt: back to pending after a backoff, or dead. Returns the new state ('' if lease lost)."""
    now = utcnow()
    delay = backoff_delay(job.attempts, base_s=base_s, cap_s=cap_s, retry_after_s=retry_after_s)
    too_old = (now + timedelta(seconds=delay) - job.created_at).total_seconds() > max_age_s
    dead = permanent or too_old or job.attempts >= max_attempts
    values: dict[str, Any] = {
        "state": "dead" if dead else "pending",
        "last_error": error[:2000],
        "updated_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
        "next_attempt_at": now + timedelta(seconds=delay),
        "not_before": None if retry_after_s is None else now + timedelta(seconds=retry_after_s),
    }
    if dead:
        values["finished_at"] = now
    result = await db.execute(
        update(OutboxJob)
        .where(OutboxJob.id == job.id, OutboxJob.lease_owner == job.lease_owner, OutboxJob.state == "running")
        .values(**values)
    )
    return str(values["state"]) if result.rowcount else ""  # type: ignore[attr-defined]


async def retry_dead(db: AsyncSession, workspace_id: str, job_id: int) -> OutboxJob:
    """Put a dead job back in line, as the dashboard's retry button does."""
    job = await _get(db, workspace_id, job_id)
    if job.state != "dead":
        raise Conflict(f"only a dead delivery can be retried; this one is {job.state}")
    now = utcnow()
    job.state, job.next_attempt_at, job.updated_at, job.finished_at = "pending", now, now, None
    job.attempts, job.not_before = 0, None
    job.created_at = now  # the bounded retry time starts again from the manual retry
    return job


async def discard(db: AsyncSession, workspace_id: str, job_id: int) -> OutboxJob:
    """Give up on a pending or dead job for good."""
    job = await _get(db, workspace_id, job_id)
    if job.state in ("done", "discarded", "running"):
        raise Conflict(f"a delivery that is {job.state} cannot be discarded")
    now = utcnow()
    job.state, job.updated_at, job.finished_at = "discarded", now, now
    return job


async def _get(db: AsyncSession, workspace_id: str, job_id: int) -> OutboxJob:
    job = await db.get(OutboxJob, job_id, with_for_update=db.get_bind().dialect.name == "postgresql")
    if job is None or job.workspace_id != workspace_id:
        raise NotFound(f"no delivery {job_id} in this workspace")
    return job
