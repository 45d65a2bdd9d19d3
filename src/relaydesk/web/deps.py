"""Dependencies routes declare: the runtime, the workspace by API key, the visitor by widget and contact tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Header, Request

from relaydesk.core.errors import Unauthorized
from relaydesk.core.models import Workspace
from relaydesk.web.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def api_workspace(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Workspace:
    """The workspace whose API key is the bearer token."""
    key = _bearer(authorization)
    if key is None:
        raise Unauthorized("send the workspace API key as 'Authorization: Bearer <key>'")
    workspace = await runtime.conversations.workspace_by_api_key(key)
    if workspace is None:
        raise Unauthorized("unknown or revoked API key")
    return workspace


ApiWorkspace = Annotated[Workspace, Depends(api_workspace)]


async def widget_workspace(
    runtime: RuntimeDep, x_widget_token: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Workspace:
    if not x_widget_token:
        raise Unauthorized("send the workspace's widget token in the X-Widget-Token header")
    workspace = await runtime.conversations.workspace_by_widget_token(x_widget_token)
    if workspace is None:
        raise Unauthorized("unknown widget token")
    return workspace


WidgetWorkspace = Annotated[Workspace, Depends(widget_workspace)]


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who is on the other end of a widget request, as their contact token says."""

    workspace: Workspace
    contact_id: str
    device_id: str | None
    verified: bool


async def widget_visitor(
    runtime: RuntimeDep,
    workspace: WidgetWorkspace,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Visitor:
    token = _bearer(authorization)
    if token is None:
        raise Unauthorized("send the contact token from POST /contacts as 'Authorization: Bearer <token>'")
    try:
        claims = runtime.box.verify_token(token)
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"contact token is not valid: {exc}") from exc
    if claims.get("ws") != workspace.id or not isinstance(claims.get("sub"), str):
        raise Unauthorized("contact token belongs to another workspace")
    device = claims.get("dev")
    return Visitor(workspace, str(claims["sub"]), device if isinstance(device, str) else None, bool(claims.get("ver")))


VisitorDep = Annotated[Visitor, Depends(widget_visitor)]
