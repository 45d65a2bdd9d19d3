"""Signing in and out, and switching between workspaces."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.core.users import Users
from relaydesk.crypto import constant_time_equal
from relaydesk.web.dashboard.auth import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    FormDep,
    LoginLimiter,
    SignedInDep,
    TooManyAttempts,
    clear_cookie,
    from_this_site,
    login_limiter,
    new_login_csrf,
    set_cookie,
)
from relaydesk.web.dashboard.i18n import t
from relaydesk.web.dashboard.render import PREFIX, render
from relaydesk.web.deps import RuntimeDep

router = APIRouter()
SESSION_COOKIE_MAX_AGE = 7 * 86400


def _next_path(value: str | None) -> str:
    """Where to go after signing in: a dashboard path only, never another site."""
    if value and value.startswith(f"{PREFIX}/") and not value.startswith("//") and "\\" not in value:
        return value
    return f"{PREFIX}/inbox"


def _login_page(request: Request, public_url: str, *, error: str | None, email: str, next_path: str,
                status: int) -> Response:
    token = new_login_csrf()
    response = render("login.html", {"csrf": token, "error": error, "email": email, "next": next_path},
                      status=status)
    set_cookie(response, request, public_url, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/inbox", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, runtime: RuntimeDep, next: str | None = None) -> Response:
    return _login_page(request, runtime.settings.public_url, error=None, email="", next_path=_next_path(next),
                       status=200)


@router.post("/login")
async def login(
    request: Request,
    runtime: RuntimeDep,
    limiter: Annotated[LoginLimiter, Depends(login_limiter)],
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the password (argon2); a few failures per address or email make sign-in wait."""
    public_url = runtime.settings.public_url
    next_path = _next_path(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not from_this_site(request, public_url) or not cookie or not constant_time_equal(cookie, csrf):
        return _login_page(request, public_url, error=t("login.expired"), email=email, next_path=next_path,
                           status=403)
    keys = (f"ip:{request.client.host if request.client else '-'}", f"email:{email.strip().lower()}")
    try:
        limiter.attempt(*keys)
    except TooManyAttempts as exc:
        response = _login_page(request, public_url, error=t("login.too_many"), email=email, next_path=next_path,
                               status=429)
        response.headers["retry-after"] = str(max(1, int(exc.retry_after_s)))
        return response
    users = Users(runtime.db)
    user = await users.authenticate(email, password)
    if user is None:
        return _login_page(request, public_url, error=t("login.wrong"), email=email, next_path=next_path,
                           status=401)
    memberships = await users.memberships(user.id)
    if not memberships:
        return _login_page(request, public_url, error=t("login.no_workspace"), email=email, next_path=next_path,
                           status=403)
    limiter.succeeded(*keys)
    token = await users.open_session(user)
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(response, request, public_url, COOKIE, token, SESSION_COOKIE_MAX_AGE)
    clear_cookie(response, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep, form: FormDep) -> RedirectResponse:
    token = request.cookies.get(COOKIE)
    if token:
        await Users(runtime.db).close_session(token)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    clear_cookie(response, COOKIE)
    return response


@router.post("/switch")
async def switch_workspace(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> RedirectResponse:
    """Open another workspace the user belongs to."""
    await Users(runtime.db).switch_workspace(signed, str(form.get("workspace_id") or ""))
    return RedirectResponse(f"{PREFIX}/inbox", status_code=303)
