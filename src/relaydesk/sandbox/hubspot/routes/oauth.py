"""OAuth: the install (authorize) redirect, the token endpoint and token metadata."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from relaydesk.sandbox.hubspot import errors
from relaydesk.sandbox.hubspot.auth import SandboxDep
from relaydesk.sandbox.hubspot.errors import HubSpotError

router = APIRouter(tags=["oauth"])


@router.get("/oauth/authorize")
async def authorize(
    sandbox: SandboxDep,
    client_id: str,
    redirect_uri: str,
    scope: str,
    optional_scope: str = "",
    state: str | None = None,
) -> Response:
    """Install the app: the sandbox approves at once and redirects with `code` (and `state`).

    Follows https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide
    ("Initiating OAuth access": client_id, redirect_uri, scope, optional_scope, state).
    """
    code = sandbox.authorize(client_id, redirect_uri, scope, optional_scope)
    params = {"code": code} if state is None else {"code": code, "state": state}
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(params)}", status_code=302)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.post("/oauth/v1/token")
async def token_v1(request: Request, sandbox: SandboxDep) -> dict[str, Any]:
    """Exchange an authorization code or a refresh token for tokens (form-encoded body).

    Follows https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide;
    the response carries hub_id and scopes per
    https://developers.hubspot.com/changelog/additional-details-returned-when-generating-oauth-access-tokens.
    """
    return sandbox.grant_tokens(await _form(request))


@router.post("/oauth/v3/token")
async def token_v3(request: Request, sandbox: SandboxDep) -> dict[str, Any]:
    """The v3 token endpoint: the same grants, all parameters in the body, errors in the current error shape.

    Follows https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide.
    """
    try:
        return sandbox.grant_tokens(await _form(request))
    except HubSpotError as exc:
        raise errors.validation(str(exc.body.get("message", "invalid request"))) from exc


@router.get("/oauth/v1/access-tokens/{token}")
async def access_token_metadata(token: str, sandbox: SandboxDep) -> dict[str, Any]:
    """Metadata of an access token: portal, app, user, scopes, seconds left.

    Follows https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/get-oauth-token-metadata.
    """
    return sandbox.access_token_info(token)


@router.get("/oauth/v1/refresh-tokens/{token}")
async def refresh_token_metadata(token: str, sandbox: SandboxDep) -> dict[str, Any]:
    """Metadata of a refresh token.

    Follows https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide.
    """
    return sandbox.refresh_token_info(token)


@router.delete("/oauth/v1/refresh-tokens/{token}", status_code=204)
async def revoke_refresh_token(token: str, sandbox: SandboxDep) -> Response:
    """Revoke a refresh token (an uninstall or a reconnect).

    Follows https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide.
    """
    sandbox.revoke_refresh_token(token)
    return Response(status_code=204)
