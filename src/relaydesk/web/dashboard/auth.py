"""Who is signed in: the session cookie, CSRF tokens on every form, roles, and login rate limiting."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from relaydesk.core.errors import DomainError, Forbidden
from relaydesk.core.users import SignedIn, Users
from relaydesk.crypto import constant_time_equal
from relaydesk.web.deps import RuntimeDep

COOKIE = "relaydesk_session"
LOGIN_CSRF_COOKIE = "relaydesk_login_csrf"
COOKIE_PATH = "/app"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login page."""


class CsrfRefused(DomainError):
    status = 403
    code = "csrf_refused"


class TooManyAttempts(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("too many failed sign-ins; wait a few minutes and try again")
        self.retry_after_s = retry_after_s


def is_https(request: Request, public_url: str) -> bool:
    """Cookies are Secure whenever the dashboard is served over https (directly or behind a proxy)."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded == "https" or public_url.startswith("https://")


def set_cookie(response: Response, request: Request, public_url: str, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="lax",
                        secure=is_https(request, public_url))


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path=COOKIE_PATH)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class LoginLimiter:
    """Failed sign-ins per address and per email within a window; past the limit, sign-in waits.

    At most `max_keys` addresses and emails are tracked. Past that, keys whose failures are all older than the window
    go first, then the least recently failed keys that are not at their limit, and only then the least recently
    failed of those that are: someone with many addresses cannot wipe the counters of the account they target."""

    max_failures: int = 5
    window_s: float = 300.0
    max_keys: int = 50_000
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)  # least recently failed first

    @property
    def tracked(self) -> int:
        """How many addresses and emails are tracked."""
        return len(self._failures)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        return times

    def attempt(self, *keys: str) -> None:
        """Count a sign-in attempt as failed until `succeeded` says otherwise, or raise TooManyAttempts when any key
        has failed too often lately. Counting before the password is checked means concurrent guesses cannot all
        slip past the limit while the first ones are still being checked."""
        now = time.monotonic()
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                raise TooManyAttempts(self.window_s - (now - times[0]))
        for key in keys:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
        if len(self._failures) > self.max_keys:
            self._evict(now)

    def _evict(self, now: float) -> None:
        """Make room down to three quarters of `max_keys`, so that the sweep runs once per many new keys."""
        expired: list[str] = []
        below: list[str] = []
        at_limit: list[str] = []
        for key in self._failures:
            recent = len(self._recent(key, now))
            (expired if not recent else below if recent < self.max_failures else at_limit).append(key)
        for key in (*expired, *below, *at_limit)[: len(self._failures) - self.max_keys * 3 // 4]:
            del self._failures[key]

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)


def login_limiter(request: Request) -> LoginLimiter:
    limiter: LoginLimiter = request.app.state.login_limiter
    return limiter


async def current_user(request: Request, runtime: RuntimeDep) -> SignedIn:
    """The signed-in user of this request, or LoginRequired."""
    token = request.cookies.get(COOKIE)
    signed = await Users(runtime.db).signed_in(token) if token else None
    if signed is None:
        raise LoginRequired()
    return signed


SignedInDep = Annotated[SignedIn, Depends(current_user)]


def from_this_site(request: Request, public_url: str) -> bool:
    """Whether the browser says the form was posted from a page of this site. Browsers name the posting page in
    `Origin`; ours is the Host the request came to or the public URL's. A request without an Origin (an older browser,
    a script) is left to the CSRF token alone."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    posted_from = urlsplit(origin).netloc.lower()
    ours = {request.headers.get("host", "").lower(), urlsplit(public_url).netloc.lower()}
    return bool(posted_from) and posted_from in ours


async def checked_form(request: Request, signed: SignedInDep, runtime: RuntimeDep) -> FormData:
    """The posted form, once it comes from a page of this site and its CSRF token matches the session's."""
    if not from_this_site(request, runtime.settings.public_url):
        raise CsrfRefused("this form was posted from another site; open the dashboard and try again there")
    form = await request.form()
    given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not isinstance(given, str) or not constant_time_equal(given, signed.session.csrf_token):
        raise CsrfRefused("this form has expired or did not come from the dashboard; reload the page and try again")
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


def require_manager(signed: SignedIn) -> None:
    """Only owners and admins change integrations, keys, the team and the workspace's settings."""
    if not signed.can_manage:
        raise Forbidden("only owners and admins can change this")
