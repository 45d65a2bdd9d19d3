"""Dashboard users: accounts, workspace memberships with roles, server-side login sessions, and the audit log."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, DomainError, Forbidden, NotFound
from relaydesk.core.models import Base, BigId, Json, UTCDateTime, Workspace, new_id, utcnow

SESSION_IDLE = timedelta(hours=12)
SESSION_MAX_AGE = timedelta(days=7)
TOUCH_EVERY = timedelta(minutes=5)
MIN_PASSWORD_CHARS = 10

_hasher = PasswordHash((Argon2Hasher(),))
# Checked against when the email is unknown, so a wrong email costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"


MANAGERS = frozenset({Role.OWNER, Role.ADMIN})


class User(Base):
    """A person who signs in to the dashboard; belongs to workspaces through memberships."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def display_name(self) -> str:
        return self.name or self.email


class Membership(Base):
    """A user's role in one workspace."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "workspace_id", name="uq_memberships_user_workspace"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DashboardSession(Base):
    """A signed-in browser. The cookie holds a random id; only its SHA-256 is stored."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    flash: Mapped[dict[str, Any] | None] = mapped_column(Json, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One settings change: who made it, what it changed, before and after (secrets left out)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_workspace_at", "workspace_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(80))
    target: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(Json, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(Json, default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A valid dashboard session with its user and their role in the session's workspace."""

    session: DashboardSession
    user: User
    role: Role

    @property
    def can_manage(self) -> bool:
        """Owners and admins change integrations, keys and the team."""
        return self.role in MANAGERS


async def hash_password(password: str) -> str:
    """The argon2 hash of a password, computed in a worker thread: it takes a good part of a second of CPU, which
    the event loop spends serving other requests meanwhile."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password: str, password_hash: str) -> tuple[bool, str | None]:
    """Whether the password matches, and a new hash when argon2's parameters changed; in a worker thread."""
    return await asyncio.to_thread(_hasher.verify_and_update, password, password_hash)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise DomainError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")


class Users:
    """Accounts, memberships, login sessions and the audit log over one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- accounts ---------------------------------------------------------------------------------------------

    async def add_member(
        self, workspace_id: str, email: str, role: Role, *, password: str | None = None, name: str | None = None
    ) -> User:
        """Give a person a role in a workspace, creating their account (with `password`) if they have none."""
        email = email.strip().lower()
        if "@" not in email:
            raise DomainError(f"{email!r} is not an email address")
        # Hashed before the transaction, which would otherwise hold the database's write lock meanwhile.
        password_hash = await hash_password(password) if password is not None else None
        async with self.db.transaction() as tx:
            if await tx.get(Workspace, workspace_id) is None:
                raise NotFound(f"no workspace {workspace_id}")
            user = (await tx.scalars(select(User).where(User.email == email))).first()
            if user is None:
                if password is None or password_hash is None:
                    raise DomainError(f"{email} has no account yet: give them a first password")
                check_password_rules(password)
                user = User(email=email, name=name, password_hash=password_hash)
                tx.add(user)
                await tx.flush()
            existing = (
                await tx.scalars(
                    select(Membership).where(Membership.user_id == user.id, Membership.workspace_id == workspace_id)
                )
            ).first()
            if existing is not None:
                raise Conflict(f"{email} is already a member of this workspace ({existing.role})")
            tx.add(Membership(user_id=user.id, workspace_id=workspace_id, role=role.value))
        return user

    async def authenticate(self, email: str, password: str) -> User | None:
        """The user whose email and password these are, or None; rehashes when argon2's parameters changed."""
        async with self.db.read() as db:
            user = (await db.scalars(select(User).where(User.email == email.strip().lower()))).first()
        if user is None:
            await verify_password(password, _DUMMY_HASH)
            return None
        valid, updated = await verify_password(password, user.password_hash)
        if not valid:
            return None
        async with self.db.transaction() as tx:
            stored = await tx.get(User, user.id)
            if stored is not None:
                stored.last_login_at = utcnow()
                if updated:
                    stored.password_hash = updated
        return user

    async def memberships(self, user_id: str) -> list[tuple[Workspace, Role]]:
        """The workspaces a user belongs to, by name."""
        async with self.db.read() as db:
            rows = await db.execute(
                select(Workspace, Membership.role)
                .join(Membership, Membership.workspace_id == Workspace.id)
                .where(Membership.user_id == user_id)
                .order_by(Workspace.name, Workspace.id)
            )
            return [(workspace, Role(role)) for workspace, role in rows.all()]

    async def members(self, workspace_id: str) -> list[tuple[User, Role]]:
        async with self.db.read() as db:
            rows = await db.execute(
                select(User, Membership.role)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.workspace_id == workspace_id)
                .order_by(User.email)
            )
            return [(user, Role(role)) for user, role in rows.all()]

    async def change_role(self, workspace_id: str, user_id: str, role: Role, *, by: SignedIn) -> tuple[str, str]:
        """Change a member's role; returns (email, previous role). Only owners make or unmake owners."""
        async with self.db.transaction() as tx:
            membership, user = await self._membership(tx, workspace_id, user_id)
            previous = Role(membership.role)
            if Role.OWNER in (previous, role) and by.role is not Role.OWNER:
                raise Forbidden("only an owner can make or unmake owners")
            if previous is Role.OWNER and role is not Role.OWNER:
                await self._keep_an_owner(tx, workspace_id)
            membership.role = role.value
            return user.email, previous.value

    async def remove_member(self, workspace_id: str, user_id: str, *, by: SignedIn) -> tuple[str, str]:
        """Take a member out of a workspace and sign them out of it; returns (email, role they had)."""
        async with self.db.transaction() as tx:
            membership, user = await self._membership(tx, workspace_id, user_id)
            role = Role(membership.role)
            if role is Role.OWNER:
                if by.role is not Role.OWNER:
                    raise Forbidden("only an owner can remove an owner")
                await self._keep_an_owner(tx, workspace_id)
            await tx.delete(membership)
            await tx.execute(
                delete(DashboardSession).where(
                    DashboardSession.user_id == user_id, DashboardSession.workspace_id == workspace_id
                )
            )
            return user.email, role.value

    async def _membership(self, tx: Any, workspace_id: str, user_id: str) -> tuple[Membership, User]:
        row = (
            await tx.execute(
                select(Membership, User)
                .join(User, User.id == Membership.user_id)
                .where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
            )
        ).first()
        if row is None:
            raise NotFound(f"no member {user_id} in this workspace")
        return row[0], row[1]

    async def _keep_an_owner(self, tx: Any, workspace_id: str) -> None:
        owners = await tx.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == workspace_id, Membership.role == Role.OWNER.value)
        )
        if int(owners or 0) <= 1:
            raise Conflict("a workspace keeps at least one owner: make someone else owner first")

    # -- login sessions ---------------------------------------------------------------------------------------

    async def open_session(self, user: User, workspace_id: str | None = None) -> str:
        """A new login session in `workspace_id` (default: the user's first workspace); returns the cookie value."""
        memberships = await self.memberships(user.id)
        if not memberships:
            raise Forbidden("this account belongs to no workspace yet; ask an owner to add you")
        chosen = next((w.id for w, _ in memberships if w.id == workspace_id), memberships[0][0].id)
        token = secrets.token_urlsafe(32)
        async with self.db.transaction() as tx:
            tx.add(
                DashboardSession(
                    token_hash=_token_hash(token),
                    user_id=user.id,
                    workspace_id=chosen,
                    csrf_token=secrets.token_urlsafe(32),
                )
            )
        return token

    async def signed_in(self, token: str) -> SignedIn | None:
        """The login session a cookie names, if it is current and its user still belongs to its workspace."""
        now = utcnow()
        async with self.db.read() as db:
            row = (
                await db.execute(
                    select(DashboardSession, User, Membership.role)
                    .join(User, User.id == DashboardSession.user_id)
                    .join(
                        Membership,
                        (Membership.user_id == DashboardSession.user_id)
                        & (Membership.workspace_id == DashboardSession.workspace_id),
                    )
                    .where(DashboardSession.token_hash == _token_hash(token))
                )
            ).first()
        if row is None:
            return None
        session, user, role = row
        if now - session.last_seen_at > SESSION_IDLE or now - session.created_at > SESSION_MAX_AGE:
            await self.close_session(token)
            return None
        if now - session.last_seen_at > TOUCH_EVERY:
            async with self.db.transaction() as tx:
                stored = await tx.get(DashboardSession, session.id)
                if stored is not None:
                    stored.last_seen_at = now
        return SignedIn(session, user, Role(role))

    async def close_session(self, token: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(delete(DashboardSession).where(DashboardSession.token_hash == _token_hash(token)))

    async def switch_workspace(self, signed: SignedIn, workspace_id: str) -> None:
        """Move a login session to another workspace the user belongs to."""
        if workspace_id not in {w.id for w, _ in await self.memberships(signed.user.id)}:
            raise Forbidden("you are not a member of that workspace")
        async with self.db.transaction() as tx:
            stored = await tx.get(DashboardSession, signed.session.id)
            if stored is not None:
                stored.workspace_id = workspace_id

    async def set_flash(self, session_id: str, kind: str, text: str) -> None:
        """A notice shown once, on the next page the session opens."""
        async with self.db.transaction() as tx:
            stored = await tx.get(DashboardSession, session_id)
            if stored is not None:
                stored.flash = {"kind": kind, "text": text}

    async def take_flash(self, signed: SignedIn) -> dict[str, Any] | None:
        if signed.session.flash is None:
            return None
        async with self.db.transaction() as tx:
            stored = await tx.get(DashboardSession, signed.session.id)
            if stored is not None:
                stored.flash = None
        return signed.session.flash

    # -- audit log --------------------------------------------------------------------------------------------

    async def audit(
        self,
        workspace_id: str,
        actor: str,
        action: str,
        *,
        target: str = "",
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Record a settings change. Callers pass values with secrets already left out."""
        async with self.db.transaction() as tx:
            tx.add(AuditEntry(workspace_id=workspace_id, actor=actor, action=action, target=target,
                              before=before, after=after))

    async def audit_entries(self, workspace_id: str, *, limit: int = 50) -> list[AuditEntry]:
        async with self.db.read() as db:
            rows = await db.scalars(
                select(AuditEntry).where(AuditEntry.workspace_id == workspace_id).order_by(AuditEntry.id.desc())
                .limit(limit)
            )
            return list(rows.all())
