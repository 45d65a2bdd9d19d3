"""What every dashboard page shares: the signed-in user, the workspace switcher, the CSRF token, one-time notices."""

from __future__ import annotations

from typing import Any

from starlette.responses import HTMLResponse, RedirectResponse

from relaydesk.core.users import SignedIn, Users
from relaydesk.web.dashboard.render import PREFIX, render
from relaydesk.web.runtime import Runtime


async def page(
    runtime: Runtime, signed: SignedIn, template: str, active: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """A full page inside the dashboard's frame."""
    users = Users(runtime.db)
    workspaces = await users.memberships(signed.user.id)
    workspace = next(w for w, _ in workspaces if w.id == signed.session.workspace_id)
    flash = await users.take_flash(signed)
    return render(
        template,
        {
            "signed": signed,
            "workspace": workspace,
            "workspaces": workspaces,
            "csrf": signed.session.csrf_token,
            "flash": flash,
            "active": active,
            **context,
        },
        status=status,
    )


async def done(runtime: Runtime, signed: SignedIn, path: str, text: str, *, kind: str = "ok") -> RedirectResponse:
    """After a form: a notice for the next page, and a redirect to it (so a reload never posts twice)."""
    await Users(runtime.db).set_flash(signed.session.id, kind, text)
    return RedirectResponse(f"{PREFIX}{path}", status_code=303)


def actor(signed: SignedIn) -> str:
    """How the audit log names a dashboard user."""
    return signed.user.email
