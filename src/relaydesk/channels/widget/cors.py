"""Cross-origin access to the widget API, checked against each workspace's list of site origins.

A browser sends no custom headers on a preflight, so the preflight cannot name the workspace: it is answered for any
origin. The real request carries the widget token; when its Origin is not on that workspace's list it is refused with
403 before any route code runs, so a page on a foreign site can neither read nor change anything.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from relaydesk.channels.widget.settings import origin_allowed

ALLOWED_METHODS = "GET, POST"
ALLOWED_HEADERS = "Authorization, Content-Type, Last-Event-ID, X-Widget-Token, X-Request-Id"
EXPOSED_HEADERS = "Retry-After, X-Request-Id, ETag"
PREFLIGHT_MAX_AGE_S = 600


def own_origin(scope: Scope) -> str:
    """The origin this request was addressed to (pages relaydesk serves itself)."""
    host = Headers(scope=scope).get("host", "")
    return f"{scope.get('scheme', 'http')}://{host}"


class WidgetRoute(APIRoute):
    """An API route that answers CORS preflights and checks the calling page's origin against its workspace."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await super().handle(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await _send(send, 204, b"", _cors_headers(origin) + _preflight_headers())
            return
        token = headers.get("x-widget-token")
        if token:
            runtime: Any = scope["app"].state.runtime
            workspace = await runtime.conversations.workspace_by_widget_token(token)
            if workspace is not None and not origin_allowed(origin, workspace, own_origin(scope)):
                body = {
                    "error": {
                        "code": "origin_not_allowed",
                        "message": f"{origin} is not on this workspace's list of allowed site origins",
                        "request_id": scope.get("state", {}).get("request_id"),
                    }
                }
                await _send(send, 403, json.dumps(body).encode(), [(b"content-type", b"application/json")])
                return
        extra = _cors_headers(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await super().handle(scope, receive, send_with_cors)


def _cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
        (b"vary", b"Origin"),
    ]


def _preflight_headers() -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
        (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
        (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_S).encode()),
    ]


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
