"""Webhooks API v3 for the developer app: target URL settings and event subscriptions (developer API key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from relaydesk.sandbox.hubspot import errors
from relaydesk.sandbox.hubspot.auth import SandboxDep

router = APIRouter(prefix="/webhooks/v3/{appId}", tags=["webhooks"])


class Throttling(BaseModel):
    """Throttling settings of the app's webhooks."""

    maxConcurrentRequests: int = Field(default=10, ge=5, le=100)
    period: str = "SECONDLY"


class SettingsInput(BaseModel):
    """SettingsChangeRequest."""

    targetUrl: str
    throttling: Throttling = Throttling()


class SubscriptionInput(BaseModel):
    """SubscriptionCreateRequest."""

    eventType: str
    propertyName: str | None = None
    active: bool = True


class SubscriptionPatch(BaseModel):
    """SubscriptionPatchRequest."""

    active: bool


@router.get("/settings")
async def get_settings(appId: int, sandbox: SandboxDep, hapikey: str | None = None) -> dict[str, Any]:
    """Read the app's webhook target URL and throttling.

    Follows https://developers.hubspot.com/docs/api-reference/legacy/webhooks/settings/get-setting.
    """
    sandbox.check_developer_key(hapikey, appId)
    settings = sandbox.state.webhook_settings
    if settings is None:
        raise errors.not_found("No webhook settings for this app")
    return settings.to_json()


@router.put("/settings")
async def put_settings(
    appId: int, body: SettingsInput, sandbox: SandboxDep, hapikey: str | None = None
) -> dict[str, Any]:
    """Set the app's webhook target URL.

    Follows https://developers.hubspot.com/docs/api-reference/legacy/webhooks/settings/update-setting.
    """
    sandbox.check_developer_key(hapikey, appId)
    return sandbox.put_webhook_settings(body.targetUrl, body.throttling.maxConcurrentRequests).to_json()


@router.get("/subscriptions")
async def list_subscriptions(appId: int, sandbox: SandboxDep, hapikey: str | None = None) -> dict[str, Any]:
    """List the app's event subscriptions.

    Follows https://developers.hubspot.com/docs/api-reference/legacy/webhooks/subscriptions/get-subscriptions.
    """
    sandbox.check_developer_key(hapikey, appId)
    return {"results": [s.to_json() for s in sandbox.state.subscriptions.values()]}


@router.post("/subscriptions", status_code=201)
async def create_subscription(
    appId: int, body: SubscriptionInput, sandbox: SandboxDep, hapikey: str | None = None
) -> dict[str, Any]:
    """Subscribe the app to an event type (conversation.propertyChange needs a propertyName such as status).

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/webhooks/guide.
    """
    sandbox.check_developer_key(hapikey, appId)
    return sandbox.subscribe(body.eventType, body.propertyName, body.active).to_json()


@router.patch("/subscriptions/{subscriptionId}")
async def update_subscription(
    appId: int, subscriptionId: str, body: SubscriptionPatch, sandbox: SandboxDep, hapikey: str | None = None
) -> dict[str, Any]:
    """Pause or resume a subscription.

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/webhooks/guide.
    """
    sandbox.check_developer_key(hapikey, appId)
    subscription = sandbox.subscription(subscriptionId)
    subscription.active = body.active
    subscription.updated_at = sandbox.now()
    return subscription.to_json()


@router.delete("/subscriptions/{subscriptionId}", status_code=204)
async def delete_subscription(
    appId: int, subscriptionId: str, sandbox: SandboxDep, hapikey: str | None = None
) -> Response:
    """Delete a subscription.

    Follows https://developers.hubspot.com/docs/api-reference/2026-03/webhooks/guide.
    """
    sandbox.check_developer_key(hapikey, appId)
    sandbox.subscription(subscriptionId)
    del sandbox.state.subscriptions[subscriptionId]
    return Response(status_code=204)
