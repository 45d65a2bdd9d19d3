"""OAuth install, token exchange, refresh, token metadata, and HubSpot's 401 bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx2

from relaydesk.sandbox.hubspot import HubSpotSandbox

if TYPE_CHECKING:
    from conftest import Installed, Portal


async def test_code_exchange_then_refresh_gives_working_tokens(portal: Portal, sandbox: HubSpotSandbox) -> None:
    tokens = await portal.install(scope="oauth conversations.read")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 1800
    assert tokens["hub_id"] == sandbox.config.portal_id
    assert sorted(tokens["scopes"]) == ["conversations.read", "oauth"]

    refreshed = await portal.client.post(
        "/oauth/v1/token",
        data={"grant_type": "refresh_token", "client_id": sandbox.config.client_id,
              "client_secret": sandbox.config.client_secret, "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["access_token"] != tokens["access_token"]
    assert new["refresh_token"] == tokens["refresh_token"]
    inboxes = await portal.client.get(
        "/conversations/v3/conversations/inboxes", headers={"Authorization": f"Bearer {new['access_token']}"}
    )
    assert inboxes.status_code == 200


async def test_code_is_single_use(portal: Portal, sandbox: HubSpotSandbox) -> None:
    authorize = await portal.client.get(
        "/oauth/authorize",
        params={"client_id": sandbox.config.client_id, "redirect_uri": portal.redirect, "scope": "oauth"},
    )
    code = httpx2.URL(authorize.headers["location"]).params["code"]
    form = {"grant_type": "authorization_code", "client_id": sandbox.config.client_id,
            "client_secret": sandbox.config.client_secret, "redirect_uri": portal.redirect, "code": code}
    assert (await portal.client.post("/oauth/v1/token", data=form)).status_code == 200
    again = await portal.client.post("/oauth/v1/token", data=form)
    assert again.status_code == 400
    assert again.json()["status"] == "BAD_AUTH_CODE"


async def test_wrong_client_secret_and_unknown_refresh_token_are_rejected(
    portal: Portal, sandbox: HubSpotSandbox
) -> None:
    bad_secret = await portal.client.post(
        "/oauth/v1/token",
        data={"grant_type": "refresh_token", "client_id": sandbox.config.client_id, "client_secret": "nope",
              "refresh_token": "x"},
    )
    assert bad_secret.status_code == 400
    assert bad_secret.json()["status"] == "BAD_CLIENT_SECRET"
    unknown = await portal.client.post(
        "/oauth/v1/token",
        data={"grant_type": "refresh_token", "client_id": sandbox.config.client_id,
              "client_secret": sandbox.config.client_secret, "refresh_token": "na1-unknown"},
    )
    assert unknown.json() == {**unknown.json(), "status": "BAD_REFRESH_TOKEN",
                              "message": "missing or invalid refresh token"}


async def test_authorize_rejects_an_unregistered_redirect_uri(portal: Portal, sandbox: HubSpotSandbox) -> None:
    response = await portal.client.get(
        "/oauth/authorize",
        params={"client_id": sandbox.config.client_id, "redirect_uri": "https://evil.test/cb", "scope": "oauth"},
    )
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


async def test_token_metadata_and_revocation(installed: Installed, sandbox: HubSpotSandbox) -> None:
    client = installed.client
    info = (await client.get(f"/oauth/v1/access-tokens/{installed.access_token}")).json()
    assert info["hub_id"] == sandbox.config.portal_id
    assert info["app_id"] == sandbox.config.app_id
    assert info["user"] == sandbox.config.reps[0].email
    assert 0 < info["expires_in"] <= 1800
    assert "conversations.read" in info["scopes"]
    refresh = (await client.get(f"/oauth/v1/refresh-tokens/{installed.refresh_token}")).json()
    assert refresh["client_id"] == sandbox.config.client_id
    assert (await client.delete(f"/oauth/v1/refresh-tokens/{installed.refresh_token}")).status_code == 204
    assert (await client.get(f"/oauth/v1/refresh-tokens/{installed.refresh_token}")).status_code == 404


async def test_missing_or_unknown_token_gets_hubspot_401(portal: Portal) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = await portal.client.get("/conversations/v3/conversations/inboxes", headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["status"] == "error"
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found.")
        assert body["correlationId"]


async def test_expired_access_token_gets_expired_authentication(portal: Portal, sandbox: HubSpotSandbox) -> None:
    tokens = await portal.install()
    start = sandbox.clock()
    sandbox.clock = lambda: start + 1800 + 300
    response = await portal.client.get(
        "/conversations/v3/conversations/inboxes", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 401
    assert response.json()["category"] == "EXPIRED_AUTHENTICATION"
    assert response.json()["message"] == "The OAuth token used to make this call expired 5 minute(s) ago."


async def test_v3_token_endpoint_takes_the_same_grant(portal: Portal, sandbox: HubSpotSandbox) -> None:
    tokens = await portal.install()
    response = await portal.client.post(
        "/oauth/v3/token",
        data={"grant_type": "refresh_token", "client_id": sandbox.config.client_id,
              "client_secret": sandbox.config.client_secret, "refresh_token": tokens["refresh_token"]},
    )
    assert response.status_code == 200
    bad = await portal.client.post("/oauth/v3/token", data={"grant_type": "refresh_token"})
    assert bad.status_code == 400
    assert bad.json()["category"] == "VALIDATION_ERROR"
