"""ASGI middleware: a request id on every response and log line, a body-size limit, and request metrics."""

from __future__ import annotations

import json
import re
import time
import uuid

import structlog
from prometheus_client import Counter, Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("relaydesk_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "relaydesk_http_request_seconds", "HTTP request latency until the response starts", ["method", "route"]
)
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContext:
    """Gives each request an id (or keeps a sane one the caller sent) and records its metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                LATENCY.labels(scope["method"], _route(scope)).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUESTS.labels(scope["method"], _route(scope), str(status)).inc()
            structlog.contextvars.unbind_contextvars("request_id")


def _route(scope: Scope) -> str:
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", "other"))
    app = scope.get("app")
    for candidate in getattr(app, "routes", ()):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return str(getattr(candidate, "path", "other"))
    return "unmatched"


class BodyLimit:
    """Refuses bodies over the path's limit with 413, by Content-Length up front or while reading a chunked body."""

    def __init__(self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_max = max_bytes
        self.per_path = per_path or {}  # e.g. uploads, which may be larger than any JSON body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._limited(scope, receive, send, self.per_path.get(scope["path"], self.default_max))
            return
        await self.app(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > max_bytes:
                await self._refuse(scope, send, max_bytes)
                return
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read it here, bounded, then hand the app the same body.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > max_bytes:
                await self._refuse(scope, send, max_bytes)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(
            scope, _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}], then=receive), send
        )

    async def _refuse(self, scope: Scope, send: Send, max_bytes: int) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "payload_too_large",
                    "message": f"request body is larger than {max_bytes} bytes",
                    "request_id": scope.get("state", {}).get("request_id"),
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive
