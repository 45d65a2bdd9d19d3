"""Deliveries (the outbox, with retry and discard) and Team & keys (members, roles, API keys, the audit log)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select
from starlette.responses import HTMLResponse, Response

from relaydesk.core import outbox
from relaydesk.core.delivery import notify_outbox
from relaydesk.core.errors import DomainError
from relaydesk.core.models import OutboxJob
from relaydesk.core.users import Role, SignedIn, Users
from relaydesk.web.admin_api import JobId
from relaydesk.web.dashboard.auth import FormDep, SignedInDep, require_manager
from relaydesk.web.dashboard.i18n import t
from relaydesk.web.dashboard.pages import actor, done, page
from relaydesk.web.dashboard.workspace_admin import api_keys, create_api_key, revoke_api_key
from relaydesk.web.deps import RuntimeDep
from relaydesk.web.runtime import Runtime

router = APIRouter()
DELIVERY_STATES = ("pending", "running", "dead", "done", "discarded")
DELIVERY_LIMIT = 200


@router.get("/deliveries", response_class=HTMLResponse)
async def deliveries(
    runtime: RuntimeDep, signed: SignedInDep, state: Annotated[str, Query(max_length=10)] = ""
) -> Response:
    """What the outbox holds: waiting, retrying (pending with attempts), dead with their errors, delivered."""
    workspace_id = signed.session.workspace_id
    query = select(OutboxJob).where(OutboxJob.workspace_id == workspace_id)
    if state in DELIVERY_STATES:
        query = query.where(OutboxJob.state == state)
    else:
        query = query.where(OutboxJob.state.in_(("pending", "running", "dead")))
    async with runtime.db.read() as db:
        jobs = list(await db.scalars(query.order_by(OutboxJob.id.desc()).limit(DELIVERY_LIMIT)))
        rows = await db.execute(
            select(OutboxJob.state, func.count()).where(OutboxJob.workspace_id == workspace_id)
            .group_by(OutboxJob.state)
        )
        counts: dict[str, int] = {state_name: count for state_name, count in rows.all()}
    return await page(runtime, signed, "deliveries.html", "deliveries", jobs=jobs, state=state, counts=counts,
                      states=DELIVERY_STATES)


@router.post("/deliveries/{job_id}/retry")
async def retry(job_id: JobId, runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    async with runtime.db.transaction() as tx:
        await outbox.retry_dead(tx, signed.session.workspace_id, job_id)
    await notify_outbox(runtime.bus)
    return await done(runtime, signed, "/deliveries", t("deliveries.retried", id=job_id))


@router.post("/deliveries/{job_id}/discard")
async def discard(job_id: JobId, runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    require_manager(signed)
    async with runtime.db.transaction() as tx:
        await outbox.discard(tx, signed.session.workspace_id, job_id)
    return await done(runtime, signed, "/deliveries", t("deliveries.discarded", id=job_id))


async def _team_page(runtime: Runtime, signed: SignedIn, *, new_key: str | None = None,
                     status: int = 200) -> Response:
    workspace_id = signed.session.workspace_id
    users = Users(runtime.db)
    return await page(
        runtime, signed, "team.html", "team", members=await users.members(workspace_id),
        keys=await api_keys(runtime, workspace_id), audit=await users.audit_entries(workspace_id),
        roles=[role.value for role in Role], new_key=new_key, status=status,
    )


@router.get("/team", response_class=HTMLResponse)
async def team(runtime: RuntimeDep, signed: SignedInDep) -> Response:
    return await _team_page(runtime, signed)


def _role(value: object) -> Role:
    try:
        return Role(str(value))
    except ValueError as exc:
        raise DomainError(t("team.bad_role")) from exc


@router.post("/team/members")
async def add_member(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    """Add a person with a role; a new account gets the first password given here."""
    require_manager(signed)
    role = _role(form.get("role"))
    if role is Role.OWNER and signed.role is not Role.OWNER:
        raise DomainError(t("team.only_owner_adds_owner"))
    email = str(form.get("email") or "")
    workspace_id = signed.session.workspace_id
    await Users(runtime.db).add_member(
        workspace_id, email, role, password=str(form.get("password") or "") or None,
        name=str(form.get("name") or "").strip() or None,
    )
    await Users(runtime.db).audit(workspace_id, actor(signed), "member.added", target=email.strip().lower(),
                                  after={"role": role.value})
    return await done(runtime, signed, "/team", t("team.added", email=email))


@router.post("/team/members/{user_id}/role")
async def change_role(user_id: str, runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    require_manager(signed)
    role = _role(form.get("role"))
    users = Users(runtime.db)
    workspace_id = signed.session.workspace_id
    email, previous = await users.change_role(workspace_id, user_id, role, by=signed)
    await users.audit(workspace_id, actor(signed), "member.role_changed", target=email,
                      before={"role": previous}, after={"role": role.value})
    return await done(runtime, signed, "/team", t("team.role_changed", email=email, role=t(f"role.{role.value}")))


@router.post("/team/members/{user_id}/remove")
async def remove_member(user_id: str, runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    require_manager(signed)
    users = Users(runtime.db)
    workspace_id = signed.session.workspace_id
    email, role = await users.remove_member(workspace_id, user_id, by=signed)
    await users.audit(workspace_id, actor(signed), "member.removed", target=email, before={"role": role})
    return await done(runtime, signed, "/team", t("team.removed", email=email))


@router.post("/team/keys", response_class=HTMLResponse)
async def new_key(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    """Create an API key and show it this once: it is stored hashed and never shown again."""
    require_manager(signed)
    _, key = await create_api_key(runtime, signed.session.workspace_id, str(form.get("name") or ""),
                                  actor=actor(signed))
    return await _team_page(runtime, signed, new_key=key, status=201)


@router.post("/team/keys/{key_id}/revoke")
async def revoke_key(key_id: str, runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    require_manager(signed)
    row = await revoke_api_key(runtime, signed.session.workspace_id, key_id, actor=actor(signed))
    return await done(runtime, signed, "/team", t("team.key_revoked", name=row.name))
