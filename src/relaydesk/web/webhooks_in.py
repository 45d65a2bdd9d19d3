"""Inbound helpdesk webhooks: POST /webhooks/{connector}/{integration_id}?key=… — verified, recorded, applied once."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Request

from relaydesk.connectors.base import WebhookRejected, WebhookRequest
from relaydesk.connectors.inbound import InboundProcessor
from relaydesk.connectors.store import IntegrationStore
from relaydesk.core.errors import NotFound, Unauthorized
from relaydesk.crypto import constant_time_equal
from relaydesk.web.deps import RuntimeDep
from relaydesk.web.schemas import ErrorResponse

log = structlog.get_logger(__name__)

router = APIRouter(tags=["webhooks"], responses={c: {"model": ErrorResponse} for c in (401, 404)})


@router.post("/webhooks/{connector}/{integration_id}")
async def receive_webhook(
    connector: str,
    integration_id: str,
    request: Request,
    runtime: RuntimeDep,
    key: Annotated[str | None, Query(max_length=200, description="the integration's secret, part of its URL")] = None,
) -> dict[str, Any]:
    """A helpdesk's event: the URL key and the provider's signature are checked before anything changes."""
    store = IntegrationStore(runtime.db, runtime.box, runtime.settings.public_url)
    integration = await store.by_id(integration_id)
    if integration is None or integration.connector != connector:
        raise NotFound(f"no {connector} integration {integration_id}")
    if not key or not constant_time_equal(key, integration.webhook_secret):
        log.warning("webhook.bad_key", integration_id=integration_id)
        raise Unauthorized("the webhook URL's key is wrong: copy the URL again from Settings, Integrations")
    body = await request.body()
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    urls = (str(request.url), f"{store.public_url}{path}")
    try:
        batch = await store.connector(integration, runtime.http).handle_webhook(
            WebhookRequest(request.method, urls, dict(request.headers), body)
        )
    except WebhookRejected as exc:
        log.warning("webhook.rejected", integration_id=integration_id, reason=str(exc))
        raise Unauthorized(f"webhook refused: {exc}") from exc
    result = await InboundProcessor(runtime.db, runtime.conversations).apply(integration, batch)
    if result.ignored:
        log.info("webhook.ignored", integration_id=integration_id, ignored=result.ignored)
    return {"applied": result.applied, "duplicates": result.duplicates, "ignored": result.ignored}
