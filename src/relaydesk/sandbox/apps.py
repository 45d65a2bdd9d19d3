"""What the sandbox apps share: how a route finds its sandbox, bearer sign-in, fault injection, closing on shutdown.

Every sandbox app holds its sandbox as `app.state.sandbox`, and that sandbox its fault plan as `faults`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import FastAPI, Header, Request
from starlette.responses import JSONResponse, Response

from relaydesk.sandbox.faults import FaultInjectionMiddleware, FaultPlan, fault_admin_router


class Authenticates(Protocol):
    """A sandbox that checks the Authorization header of an API call (raising its provider's error if it fails)."""

    def authenticate(self, authorization: str | None) -> None: ...


class Closes(Protocol):
    """A sandbox with work in flight (webhooks) to finish when its app stops."""

    async def aclose(self) -> None: ...


S = TypeVar("S")
A = TypeVar("A", bound=Authenticates)


def sandbox_lookup(kind: type[S]) -> Callable[[Request], S]:
    """The function that finds the sandbox (of type `kind`) serving a request."""

    def sandbox_of(request: Request) -> S:
        """The sandbox serving this request."""
        sandbox: S = request.app.state.sandbox
        return sandbox

    return sandbox_of


def bearer_authorized(sandbox_of: Callable[[Request], A]) -> Callable[..., A]:
    """A route dependency: the sandbox, once the request's Authorization header passes its `authenticate`."""

    def authorized(request: Request, authorization: Annotated[str | None, Header()] = None) -> A:
        sandbox = sandbox_of(request)
        sandbox.authenticate(authorization)
        return sandbox

    return authorized


def validation_errors(
    error_body: Callable[[str], dict[str, Any]],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """An exception handler answering a request that fails validation with 400 and the provider's error body for the
    (shortened) reason."""

    async def on_validation(_: Request, exc: Exception) -> Response:
        return JSONResponse(error_body(str(exc)[:300]), status_code=400)

    return on_validation


def _fault_plan(request: Request) -> FaultPlan:
    plan: FaultPlan = request.app.state.sandbox.faults
    return plan


def serve_faults(app: FastAPI) -> None:
    """Fault injection for the app's sandbox: the admin endpoints that arm faults, and the middleware that injects
    them (call it after adding every other middleware, so that it wraps them all)."""
    app.include_router(fault_admin_router(_fault_plan))
    app.add_middleware(FaultInjectionMiddleware, plan=app.state.sandbox.faults)


def closing(sandbox: Closes) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """An app lifespan that finishes the sandbox's work in flight (`aclose()`) when the app shuts down."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await sandbox.aclose()

    return lifespan
