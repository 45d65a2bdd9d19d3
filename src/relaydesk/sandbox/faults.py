"""Fault injection and rate limiting shared by every emulator: a controllable plan, its middleware and admin API."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx2
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

Clock = Callable[[], float]
ErrorBody = Callable[[int], dict[str, Any]]

ADMIN_PREFIX = "/_sandbox"


def route_path(scope: Scope) -> str:
    """The request's path below the prefix the emulator is mounted under (the whole path when not mounted)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


class FaultKind(StrEnum):
    """What an armed fault does to a matching request."""

    ERROR = "error"
    LATENCY = "latency"
    HANG = "hang"
    DROP = "drop"
    RATE_LIMIT = "rate_limit"
    OUTAGE = "outage"


@dataclass
class Fault:
    """One armed fault; `remaining` counts matching requests left (None: until cleared or until `until`)."""

    kind: FaultKind
    status: int = 500
    seconds: float = 0.0
    retry_after: int | None = None
    body: dict[str, Any] | None = None
    path: str | None = None
    method: str | None = None
    remaining: int | None = 1
    until: float | None = None

    def matches(self, method: str, path: str, now: float) -> bool:
        """Whether this fault applies to a request now."""
        if self.until is not None and now >= self.until:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or path.startswith(self.path)

    def describe(self, now: float) -> dict[str, Any]:
        """A JSON view of the fault for the admin API."""
        return {
            "kind": self.kind.value,
            "status": self.status,
            "seconds": self.seconds,
            "retryAfter": self.retry_after,
            "path": self.path,
            "method": self.method,
            "remaining": self.remaining,
            "secondsLeft": None if self.until is None else max(0.0, round(self.until - now, 3)),
        }


@dataclass(frozen=True)
class FaultAction:
    """What the middleware must do for one request: wait `delay`, then answer with `fault` if any."""

    delay: float
    fault: Fault | None


def _default_error_body(status: int) -> dict[str, Any]:
    return {"message": f"Injected fault: HTTP {status}"}


@dataclass
class FaultPlan:
    """The faults armed on one emulator, consumed in order by matching requests."""

    error_body: ErrorBody = _default_error_body
    clock: Clock = time.monotonic
    faults: list[Fault] = field(default_factory=list)

    def arm(self, fault: Fault) -> Fault:
        """Arm a fault built by hand and return it."""
        self.faults.append(fault)
        return fault

    def fail_next(
        self,
        count: int = 1,
        status: int = 500,
        *,
        body: dict[str, Any] | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> Fault:
        """Answer the next `count` matching requests with `status` and the provider's error body."""
        return self.arm(Fault(FaultKind.ERROR, status=status, body=body, path=path, method=method, remaining=count))

    def rate_limit_next(
        self, count: int = 1, retry_after: int = 1, *, path: str | None = None, method: str | None = None
    ) -> Fault:
        """Answer the next `count` matching requests with 429, a Retry-After header and the provider's body."""
        return self.arm(
            Fault(FaultKind.RATE_LIMIT, status=429, retry_after=retry_after, path=path, method=method, remaining=count)
        )

    def add_latency(
        self, seconds: float, count: int | None = None, *, path: str | None = None, method: str | None = None
    ) -> Fault:
        """Delay matching requests by `seconds` before they are served (all of them when `count` is None)."""
        return self.arm(Fault(FaultKind.LATENCY, seconds=seconds, path=path, method=method, remaining=count))

    def hang_next(
        self, count: int = 1, seconds: float = 30.0, *, path: str | None = None, method: str | None = None
    ) -> Fault:
        """Hold the next `count` matching requests for `seconds`, then answer 504 as a timed-out gateway would."""
        return self.arm(Fault(FaultKind.HANG, status=504, seconds=seconds, path=path, method=method, remaining=count))

    def drop_next(self, count: int = 1, *, path: str | None = None, method: str | None = None) -> Fault:
        """Close the connection of the next `count` matching requests without an answer."""
        return self.arm(Fault(FaultKind.DROP, path=path, method=method, remaining=count))

    def outage(self, seconds: float, status: int = 503, *, path: str | None = None) -> Fault:
        """Answer every matching request with `status` for the next `seconds`."""
        return self.arm(Fault(FaultKind.OUTAGE, status=status, path=path, remaining=None, until=self.clock() + seconds))

    def clear(self) -> None:
        """Disarm every fault."""
        self.faults.clear()

    def active(self) -> list[Fault]:
        """The faults that can still fire, pruning spent ones."""
        now = self.clock()
        self.faults = [
            f for f in self.faults if (f.remaining is None or f.remaining > 0) and (f.until is None or now < f.until)
        ]
        return list(self.faults)

    def take(self, method: str, path: str) -> FaultAction:
        """Consume the faults that apply to one request: latencies add up, the first blocking fault answers."""
        now = self.clock()
        delay = 0.0
        blocking: Fault | None = None
        for fault in self.active():
            if not fault.matches(method, path, now):
                continue
            if fault.kind is FaultKind.LATENCY:
                delay += fault.seconds
            elif blocking is None:
                blocking = fault
            else:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
        return FaultAction(delay=delay, fault=blocking)

    def response_for(self, fault: Fault) -> Response:
        """The HTTP answer a blocking fault gives."""
        body = fault.body if fault.body is not None else self.error_body(fault.status)
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return JSONResponse(body, status_code=fault.status, headers=headers)


class ConnectionDropped(httpx2.RemoteProtocolError):
    """Raised by the middleware to drop a connection; in-process clients see what httpx2 raises for a dead peer."""

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response.")


class FaultInjectionMiddleware:
    """Applies a FaultPlan to every request outside the admin prefix."""

    def __init__(self, app: ASGIApp, plan: FaultPlan, exempt_prefix: str = ADMIN_PREFIX) -> None:
        self.app = app
        self.plan = plan
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI call, injecting the armed faults."""
        path = route_path(scope)
        if scope["type"] != "http" or path.startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        action = self.plan.take(scope["method"], path)
        if action.delay > 0:
            await asyncio.sleep(action.delay)
        fault = action.fault
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind is FaultKind.DROP:
            raise ConnectionDropped()
        if fault.kind is FaultKind.HANG:
            await asyncio.sleep(fault.seconds)
        await self.plan.response_for(fault)(scope, receive, send)


class FaultRequest(BaseModel):
    """Body of POST /_sandbox/faults."""

    model_config = ConfigDict(populate_by_name=True)

    kind: FaultKind
    count: int | None = Field(default=1, ge=1)
    status: int | None = Field(default=None, ge=400, le=599)
    seconds: float | None = Field(default=None, ge=0)
    retry_after: int | None = Field(default=None, alias="retryAfter", ge=0)
    path: str | None = None
    method: str | None = None
    body: dict[str, Any] | None = None

    def arm_on(self, plan: FaultPlan) -> Fault:
        """Arm the described fault on a plan."""
        seconds = self.seconds or 0.0
        match self.kind:
            case FaultKind.ERROR:
                return plan.fail_next(
                    self.count or 1, self.status or 500, body=self.body, path=self.path, method=self.method
                )
            case FaultKind.RATE_LIMIT:
                return plan.rate_limit_next(
                    self.count or 1,
                    self.retry_after if self.retry_after is not None else 1,
                    path=self.path,
                    method=self.method,
                )
            case FaultKind.LATENCY:
                return plan.add_latency(seconds, self.count, path=self.path, method=self.method)
            case FaultKind.HANG:
                return plan.hang_next(self.count or 1, seconds or 30.0, path=self.path, method=self.method)
            case FaultKind.DROP:
                return plan.drop_next(self.count or 1, path=self.path, method=self.method)
            case FaultKind.OUTAGE:
                return plan.outage(seconds, self.status or 503, path=self.path)


def fault_admin_router(plan_of: Callable[[Request], FaultPlan]) -> APIRouter:
    """The admin endpoints under /_sandbox/faults for the plan that `plan_of` finds on a request."""
    router = APIRouter(prefix=f"{ADMIN_PREFIX}/faults", tags=["sandbox"])

    @router.get("")
    async def list_faults(request: Request) -> dict[str, Any]:
        """List the armed faults."""
        plan = plan_of(request)
        now = plan.clock()
        return {"results": [f.describe(now) for f in plan.active()]}

    @router.post("", status_code=201)
    async def arm_fault(fault: FaultRequest, request: Request) -> dict[str, Any]:
        """Arm one fault."""
        plan = plan_of(request)
        return fault.arm_on(plan).describe(plan.clock())

    @router.delete("", status_code=204)
    async def clear_faults(request: Request) -> Response:
        """Disarm every fault."""
        plan_of(request).clear()
        return Response(status_code=204)

    return router


class WindowKind(StrEnum):
    """How a rate-limit window moves: rolling over the last N seconds, or fixed buckets that reset together."""

    ROLLING = "rolling"
    FIXED = "fixed"


@dataclass(frozen=True)
class RateLimitRule:
    """One documented limit: at most `limit` requests per `window_seconds`."""

    name: str
    limit: int
    window_seconds: float
    window: WindowKind = WindowKind.ROLLING


@dataclass(frozen=True)
class RateLimitDecision:
    """The outcome of counting one request against a rule."""

    rule: RateLimitRule
    allowed: bool
    remaining: int
    retry_after_seconds: float

    @property
    def retry_after_header(self) -> str:
        """Whole seconds to wait, as a Retry-After header value."""
        return str(max(1, math.ceil(self.retry_after_seconds)))


class RateLimiter:
    """Counts requests per key against rules, with rolling or fixed windows."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._rolling: dict[tuple[str, str], deque[float]] = {}
        self._fixed: dict[tuple[str, str], tuple[float, int]] = {}

    def _count(self, key: str, rule: RateLimitRule, now: float) -> tuple[int, float]:
        if rule.window is WindowKind.ROLLING:
            hits = self._rolling.setdefault((key, rule.name), deque())
            while hits and hits[0] <= now - rule.window_seconds:
                hits.popleft()
            retry = hits[0] + rule.window_seconds - now if hits else 0.0
            return len(hits), retry
        start = math.floor(now / rule.window_seconds) * rule.window_seconds
        bucket_start, used = self._fixed.get((key, rule.name), (start, 0))
        if bucket_start != start:
            used = 0
        return used, start + rule.window_seconds - now

    def _record(self, key: str, rule: RateLimitRule, now: float) -> None:
        if rule.window is WindowKind.ROLLING:
            self._rolling.setdefault((key, rule.name), deque()).append(now)
            return
        start = math.floor(now / rule.window_seconds) * rule.window_seconds
        bucket_start, used = self._fixed.get((key, rule.name), (start, 0))
        self._fixed[(key, rule.name)] = (start, used + 1 if bucket_start == start else 1)

    def hit(self, key: str, rules: Sequence[RateLimitRule]) -> list[RateLimitDecision]:
        """Count one request under every rule; it is recorded only when all rules allow it."""
        now = self.clock()
        counted = [(rule, *self._count(key, rule, now)) for rule in rules]
        allowed = all(used < rule.limit for rule, used, _ in counted)
        decisions: list[RateLimitDecision] = []
        for rule, used, retry in counted:
            if allowed:
                self._record(key, rule, now)
                decisions.append(RateLimitDecision(rule, True, rule.limit - used - 1, 0.0))
            else:
                decisions.append(RateLimitDecision(rule, used < rule.limit, max(0, rule.limit - used), retry))
        return decisions
