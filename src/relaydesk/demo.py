"""`relaydesk demo`: the demo workspace, and the sandboxes mounted in the same app with HubSpot connected to them."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import structlog
from fastapi import FastAPI

from relaydesk.agent.responder import ingest_documents
from relaydesk.agent.sample import SAMPLE_KB_DIR
from relaydesk.channels.widget.pages import DEMO_WORKSPACE_FILE
from relaydesk.config import Settings
from relaydesk.connectors import forms
from relaydesk.connectors.hubspot.settings import HubSpotSettings
from relaydesk.connectors.store import IntegrationStore
from relaydesk.core.bus import Bus
from relaydesk.core.conversations import Conversations
from relaydesk.core.db import Database, upgrade
from relaydesk.sandbox.server import HUBSPOT_PATH, Sandboxes, local_url, mount_sandboxes
from relaydesk.web.app import create_app
from relaydesk.web.dashboard.cli import ensure_demo_owner
from relaydesk.web.integrations_api import complete_authorization, oauth_redirect_uri
from relaydesk.web.runtime import Runtime

log = structlog.get_logger(__name__)

SANDBOX_PREFIX = "/sandbox"
CONNECTOR = "hubspot"


@dataclass(frozen=True)
class DemoWorkspace:
    """The demo workspace's credentials and its dashboard owner's login."""

    id: str
    widget_token: str
    api_key: str
    owner_email: str
    owner_password: str
    credentials_path: Path


@dataclass(frozen=True)
class Demo:
    """The demo's app and the sandboxes mounted in it."""

    app: FastAPI
    sandboxes: Sandboxes


def demo_settings(settings: Settings) -> Settings:
    """The settings with in-process workers, and the public URL following host and port unless it was set."""
    update: dict[str, object] = {"in_process_workers": True}
    if "public_url" not in settings.model_fields_set:
        update["public_url"] = local_url(settings.host, settings.port)
    return settings.model_copy(update=update)


async def prepare(settings: Settings) -> DemoWorkspace:
    """The demo workspace (created with the sample knowledge base on first run) and its owner's login."""
    path = Path(settings.data_dir) / DEMO_WORKSPACE_FILE
    if path.exists():
        created: dict[str, str] = json.loads(path.read_text())
    else:
        await upgrade(settings.resolved_database_url)
        db = Database(settings.resolved_database_url)
        try:
            workspace, key = await Conversations(db, Bus()).create_workspace("Demo")
        finally:
            await db.dispose()
        created = {"id": workspace.id, "name": workspace.name, "widget_token": workspace.widget_token,
                   "api_key": key}
        await ingest_documents(settings, workspace.id, str(SAMPLE_KB_DIR))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(created, indent=2))
        path.chmod(0o600)
    login = await ensure_demo_owner(settings, created["id"])
    return DemoWorkspace(created["id"], created["widget_token"], created["api_key"], login["email"],
                         login["password"], path)


def create_demo_app(settings: Settings, workspace_id: str) -> Demo:
    """relaydesk with in-process workers, the sandboxes under /sandbox, and HubSpot connected once it starts."""
    app = create_app(settings, run_workers=True, configure_logs=False)
    # The sandbox delivers its webhooks straight into this app, at the webhook URL relaydesk gave it.
    webhook_client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app))
    sandboxes = mount_sandboxes(app, settings.public_url, SANDBOX_PREFIX, webhook_client)
    api_url = f"{local_url(settings.host, settings.port)}{SANDBOX_PREFIX}{HUBSPOT_PATH}"
    relaydesk_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        async with relaydesk_lifespan(application):
            try:
                await connect_hubspot(application, workspace_id, sandboxes, api_url)
                yield
            finally:
                await sandboxes.aclose()
                await webhook_client.aclose()

    app.router.lifespan_context = lifespan
    return Demo(app, sandboxes)


async def connect_hubspot(app: FastAPI, workspace_id: str, sandboxes: Sandboxes, api_url: str) -> str:
    """Connect the workspace's HubSpot integration to the mounted sandbox as an admin would; its status after."""
    # The sandbox forgets everything when the process stops, so each start connects again; an integration pointed at
    # another HubSpot is left alone.
    runtime: Runtime = app.state.runtime
    store = IntegrationStore(runtime.db, runtime.box, runtime.settings.public_url)
    existing = await store.find(workspace_id, CONNECTOR)
    if existing is not None and not str(existing.settings.get("api_base_url", "")).endswith(
        f"{SANDBOX_PREFIX}{HUBSPOT_PATH}"
    ):
        return existing.status
    config = sandboxes.hubspot.config
    values = HubSpotSettings.model_validate({
        "app_id": config.app_id, "client_id": config.client_id, "client_secret": config.client_secret,
        "developer_api_key": config.developer_api_key, "inbox_id": config.inboxes[0].inbox_id,
        "default_assignee": str(config.reps[0].user_id), "api_base_url": api_url,
        "app_base_url": sandboxes.hubspot_url,
    })
    plain, hidden = forms.split(values)
    integration = await store.save(workspace_id, CONNECTOR, settings=plain, secret_values=hidden,
                                   is_handoff_target=True, status="inactive", reason="connecting to the sandbox")
    redirect_uri = oauth_redirect_uri(runtime.settings.public_url, CONNECTOR)
    state = secrets.token_urlsafe(16)
    # The server is not listening yet: reach the mounted sandbox through the app itself.
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app)) as http:
        authorize_url = store.connector(integration, http).authorize_url(redirect_uri, state)
        assert authorize_url is not None  # HubSpot is connected through OAuth
        granted = await http.get(authorize_url)
        query = parse_qs(urlsplit(granted.headers.get("location", "")).query)
        if granted.status_code != 302 or query.get("state") != [state] or not query.get("code"):
            reason = f"the HubSpot sandbox did not grant access: {granted.status_code} {granted.text[:200]}"
            await store.set_status(integration.id, "error", reason)
            log.warning("demo.hubspot_not_connected", reason=reason)
            return "error"
        status, problem = await complete_authorization(store, http, integration, query["code"][0], redirect_uri)
    if status != "active":
        log.warning("demo.hubspot_not_connected", status=status, reason=problem)
    return status
