"""The HubSpot sandbox as an ASGI app: the documented API, the rep console and the sandbox admin endpoints."""

from __future__ import annotations

from typing import Any

import httpx2
from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from relaydesk.sandbox.apps import closing, serve_faults
from relaydesk.sandbox.faults import ADMIN_PREFIX
from relaydesk.sandbox.hubspot import console
from relaydesk.sandbox.hubspot.auth import SandboxDep
from relaydesk.sandbox.hubspot.config import SandboxConfig
from relaydesk.sandbox.hubspot.errors import HubSpotError, on_http_exception, on_hubspot_error, on_request_validation
from relaydesk.sandbox.hubspot.limits import HubSpotRateLimitMiddleware
from relaydesk.sandbox.hubspot.routes import app_webhooks, conversations, crm, custom_channels, files, oauth
from relaydesk.sandbox.hubspot.sandbox import HubSpotSandbox

admin = APIRouter(prefix=ADMIN_PREFIX, tags=["sandbox"])


@admin.get("/webhook-deliveries")
async def webhook_deliveries(sandbox: SandboxDep) -> dict[str, Any]:
    """Every webhook the sandbox sent or is sending, with its attempts."""
    return {"results": [d.to_json() for d in sandbox.webhooks.deliveries]}


def create_app(
    config: SandboxConfig | None = None,
    *,
    sandbox: HubSpotSandbox | None = None,
    webhook_client: httpx2.AsyncClient | None = None,
) -> FastAPI:
    """Build the sandbox app around a new (or the given) HubSpotSandbox, reachable as `app.state.sandbox`."""
    portal = sandbox or HubSpotSandbox(config, webhook_client)
    app = FastAPI(title="HubSpot sandbox", summary="An emulator of HubSpot's documented APIs",
                  lifespan=closing(portal))
    app.state.sandbox = portal
    app.include_router(oauth.router)
    app.include_router(custom_channels.router, prefix="/conversations/v3/custom-channels")
    app.include_router(custom_channels.router, prefix="/conversations/custom-channels/2026-03")
    app.include_router(conversations.router)
    app.include_router(crm.router)
    app.include_router(files.router)
    app.include_router(app_webhooks.router)
    app.include_router(console.router)
    app.include_router(admin)
    app.add_exception_handler(HubSpotError, on_hubspot_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    app.add_middleware(HubSpotRateLimitMiddleware, sandbox=portal)
    serve_faults(app)
    return app
