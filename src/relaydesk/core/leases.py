"""Named leases on long-running work that exactly one process may do at a time, such as holding an event stream.

A lease row names the work, who holds it and until when, and a cursor (e.g. the last event id a stream consumer
applied) so that whoever takes the work over (after a restart, or when the holder died and its lease expired) resumes
where the last holder stopped. `secret` holds the work's credentials, encrypted by the caller. A holder renews its
leases well before they expire; every write that matters (the cursor) is fenced by the holder, so a process that lost
its lease cannot move the cursor of the one that took it over. Claims use SKIP LOCKED on PostgreSQL, as the outbox
does, so competing workers never wait on each other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, Text, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.core.db import Database
from relaydesk.core.models import Base, Json, UTCDateTime, utcnow


class StreamLease(Base):
    """One piece of long-running work: who holds it, until when, and how far it got."""

    __tablename__ = "stream_leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    cursor: Mapped[str | None] = mapped_column(String(200), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    secret: Mapped[str] = mapped_column(Text, default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _claimable(now: datetime, holder: str) -> Any:
    return and_(
        StreamLease.ended_at.is_(None),
        or_(StreamLease.holder.is_(None), StreamLease.holder == holder, StreamLease.expires_at < now),
    )


class Leases:
    """The lease table, as the workers that hold streams use it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, name: str, *, data: dict[str, Any], cursor: str | None, secret: str) -> None:
        """Create the lease if it does not exist (a repeat keeps the existing row and its cursor)."""
        try:
            async with self.db.transaction() as tx:
                tx.add(StreamLease(name=name, data=data, cursor=cursor, secret=secret))
        except IntegrityError:
            return

    async def get(self, name: str) -> StreamLease | None:
        async with self.db.read() as db:
            return await db.get(StreamLease, name)

    async def claim(self, prefix: str, holder: str, *, ttl_s: float, limit: int) -> list[StreamLease]:
        """Take up to `limit` open leases under `prefix` that nobody holds (or whose holder let them expire)."""
        now = utcnow()
        async with self.db.transaction() as tx:
            query = (select(StreamLease.name)
                     .where(StreamLease.name.startswith(prefix, autoescape=True), _claimable(now, holder))
                     .order_by(StreamLease.created_at).limit(limit))
            if self.db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            names = list((await tx.scalars(query)).all())
            if not names:
                return []
            rows = await tx.scalars(
                update(StreamLease)
                .where(StreamLease.name.in_(names), _claimable(now, holder))
                .values(holder=holder, expires_at=now + timedelta(seconds=ttl_s), updated_at=now)
                .returning(StreamLease)
                .execution_options(synchronize_session=False)
            )
            return list(rows.all())

    async def renew(self, names: list[str], holder: str, *, ttl_s: float) -> set[str]:
        """Extend the leases still held by `holder`; the names it still holds (ended leases are let go)."""
        if not names:
            return set()
        now = utcnow()
        async with self.db.transaction() as tx:
            rows = await tx.scalars(
                update(StreamLease)
                .where(StreamLease.name.in_(names), StreamLease.holder == holder, StreamLease.ended_at.is_(None))
                .values(expires_at=now + timedelta(seconds=ttl_s), updated_at=now)
                .returning(StreamLease.name)
                .execution_options(synchronize_session=False)
            )
            return set(rows.all())

    async def advance(self, name: str, holder: str, cursor: str) -> bool:
        """Record how far the holder got; False when the lease is no longer its own."""
        async with self.db.transaction() as tx:
            result = await tx.execute(
                update(StreamLease).where(StreamLease.name == name, StreamLease.holder == holder)
                .values(cursor=cursor, updated_at=utcnow()).execution_options(synchronize_session=False)
            )
        return bool(getattr(result, "rowcount", 0))

    async def store_secret(self, name: str, secret: str) -> None:
        """Replace the work's (encrypted) credentials, e.g. after a token was renewed."""
        async with self.db.transaction() as tx:
            await tx.execute(update(StreamLease).where(StreamLease.name == name)
                             .values(secret=secret, updated_at=utcnow()).execution_options(synchronize_session=False))

    async def release(self, name: str, holder: str) -> None:
        """Let go of a lease (on shutdown) so another process can take it over at once."""
        async with self.db.transaction() as tx:
            await tx.execute(update(StreamLease).where(StreamLease.name == name, StreamLease.holder == holder)
                             .values(holder=None, expires_at=None, updated_at=utcnow())
                             .execution_options(synchronize_session=False))

    async def end(self, name: str) -> None:
        """The work is finished: nobody claims the lease again."""
        now = utcnow()
        async with self.db.transaction() as tx:
            await tx.execute(update(StreamLease).where(StreamLease.name == name, StreamLease.ended_at.is_(None))
                             .values(ended_at=now, holder=None, expires_at=None, updated_at=now)
                             .execution_options(synchronize_session=False))
