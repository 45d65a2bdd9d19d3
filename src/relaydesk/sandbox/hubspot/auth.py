"""Route dependencies: the sandbox behind a request, bearer-token authentication and scope checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from relaydesk.sandbox.hubspot import errors
from relaydesk.sandbox.hubspot.sandbox import HubSpotSandbox
from relaydesk.sandbox.hubspot.state import AccessToken


def get_sandbox(request: Request) -> HubSpotSandbox:
    """The sandbox serving this request."""
    sandbox: HubSpotSandbox = request.app.state.sandbox
    return sandbox


SandboxDep = Annotated[HubSpotSandbox, Depends(get_sandbox)]


def require_scopes(*scopes: str, all_required: bool = False) -> Callable[..., AccessToken]:
    """A dependency admitting a valid bearer token that holds one (or all) of `scopes`, else 401/403."""

    def authorized(sandbox: SandboxDep, authorization: Annotated[str | None, Header()] = None) -> AccessToken:
        token = sandbox.authenticate(authorization)
        wanted = set(scopes)
        held = wanted <= token.scopes if all_required else bool(wanted & token.scopes)
        if not held:
            raise errors.missing_scopes(scopes, all_required)
        return token

    return authorized
