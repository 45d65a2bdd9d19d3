"""The dashboard as an ASGI app mounted at /app: its routes, static files and HTML error pages."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from relaydesk.core.errors import DomainError, Forbidden
from relaydesk.core.users import Users
from relaydesk.web.dashboard import inbox, integrations, knowledge, login, operations, settings
from relaydesk.web.dashboard.auth import COOKIE, CsrfRefused, LoginLimiter, LoginRequired
from relaydesk.web.dashboard.i18n import t
from relaydesk.web.dashboard.render import PREFIX, render

STATIC = Path(__file__).parent / "static"
log = structlog.get_logger(__name__)


def _back(request: Request) -> str | None:
    """The dashboard page a form was posted from, to return to with a notice."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return None
    if referer.path.startswith(f"{PREFIX}/") and not referer.path.startswith(f"{PREFIX}/login"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return None


def create_dashboard(parent: FastAPI) -> FastAPI:
    """The dashboard app; it shares the parent's state (the runtime) and has error pages of its own."""
    dashboard = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    dashboard.state = parent.state
    dashboard.state.login_limiter = LoginLimiter()
    for module in (login, inbox, integrations, settings, knowledge, operations):
        dashboard.include_router(module.router)
    dashboard.mount("/static", StaticFiles(directory=STATIC), name="static")

    @dashboard.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)

    @dashboard.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        back = _back(request)
        refused = isinstance(exc, Forbidden | CsrfRefused)
        token = request.cookies.get(COOKIE)
        if request.method == "POST" and back and token and not refused:
            users = Users(request.app.state.runtime.db)
            signed = await users.signed_in(token)
            if signed is not None:
                await users.set_flash(signed.session.id, "error", exc.message)
                return RedirectResponse(back, status_code=303)
        return render("error.html", {"status": exc.status, "message": exc.message, "back": back},
                      status=exc.status)

    @dashboard.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return render("error.html", {"status": 422, "message": t("error.invalid_form"), "back": _back(request)},
                      status=422)

    @dashboard.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("dashboard.crashed", path=request.url.path)
        return render("error.html", {"status": 500, "message": t("error.crashed"), "back": _back(request)},
                      status=500)

    return dashboard
