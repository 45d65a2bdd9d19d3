"""Integrations admin API under /api/v1/integrations: connectors and their forms, test, save, connect, status.

Secrets are write-only: they are accepted on save, stored encrypted, and only ever reported as set or not.
Saving checks the settings against the helpdesk first and stores nothing when the check fails.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import httpx2
import jwt
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, ValidationError

from relaydesk.agent.knowledge import IngestReport, KnowledgeBase
from relaydesk.agent.responder import knowledge_dir
from relaydesk.agent.retrieval import PassageIndex
from relaydesk.config import Settings
from relaydesk.connectors import forms
from relaydesk.connectors.base import CheckFailed, CheckReport, Connector, KnowledgeSource, KnowledgeSync
from relaydesk.connectors.registry import CONNECTORS, connector_class
from relaydesk.connectors.store import IntegrationStore
from relaydesk.core.errors import NotFound, UnprocessableMessage
from relaydesk.core.integrations import Integration
from relaydesk.web.deps import ApiWorkspace, RuntimeDep
from relaydesk.web.schemas import ErrorResponse

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (400, 401, 404, 409, 422)}
router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"], responses=ERRORS)

STATE_TTL_S = 900


class IntegrationIn(BaseModel):
    """Settings to test or save; secret fields left out or empty keep what is stored."""

    settings: dict[str, Any] = Field(default_factory=dict)
    is_handoff_target: bool = True


class CheckOut(BaseModel):
    ok: bool
    summary: str | None = None
    reason: str | None = None
    setting: str | None = None
    connected: bool = False
    details: dict[str, Any] = Field(default_factory=dict)


class IntegrationOut(BaseModel):
    id: str
    connector: str
    settings: dict[str, Any]
    secrets_set: list[str]
    status: str
    status_reason: str | None
    status_at: str
    is_handoff_target: bool
    webhook_url: str
    authorize_url: str | None = None


class ConnectorOut(BaseModel):
    name: str
    title: str
    settings_schema: dict[str, Any]
    secret_fields: list[str]
    read_only_fields: list[str]


def _store(runtime: RuntimeDep) -> IntegrationStore:
    return IntegrationStore(runtime.db, runtime.box, runtime.settings.public_url)


def oauth_redirect_uri(public_url: str, connector: str) -> str:
    """Where the helpdesk sends an admin back after they grant access."""
    return f"{public_url.rstrip('/')}/api/v1/integrations/{connector}/oauth/callback"


def _redirect_uri(runtime: RuntimeDep, connector: str) -> str:
    return oauth_redirect_uri(runtime.settings.public_url, connector)


def _authorize_url(runtime: RuntimeDep, store: IntegrationStore, integration: Integration) -> str | None:
    expires = int(time.time()) + STATE_TTL_S
    state = runtime.box.sign_token(
        {"purpose": "oauth", "int": integration.id, "ws": integration.workspace_id, "exp": expires}
    )
    connector = store.connector(integration, runtime.http)
    return connector.authorize_url(_redirect_uri(runtime, integration.connector), state)


def _view(runtime: RuntimeDep, store: IntegrationStore, integration: Integration) -> dict[str, Any]:
    model = connector_class(integration.connector).settings_model
    stored = store.secrets(integration)
    connected = bool(stored.get("refresh_token"))
    return {
        "id": integration.id,
        "connector": integration.connector,
        "settings": integration.settings,
        "secrets_set": [name for name in forms.secret_fields(model) if stored.get(name)],
        "status": integration.status,
        "status_reason": integration.status_reason,
        "status_at": integration.status_at.isoformat(),
        "is_handoff_target": integration.is_handoff_target,
        "webhook_url": store.webhook_url(integration),
        "authorize_url": None if connected else _authorize_url(runtime, store, integration),
    }


async def _candidate(
    store: IntegrationStore, runtime: RuntimeDep, workspace_id: str, connector: str, body: IntegrationIn
) -> tuple[Integration, Connector, dict[str, Any], dict[str, str]]:
    """The stored integration (or a new one) with the given settings applied, not saved."""
    model = connector_class(connector).settings_model
    integration = await store.find(workspace_id, connector) or Integration(
        workspace_id=workspace_id, connector=connector, settings={}, secrets="", webhook_secret=""
    )
    stored_secrets = store.secrets(integration)
    try:
        validated = model.model_validate(forms.merge(model, integration.settings, stored_secrets, body.settings))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise UnprocessableMessage(f"settings.{where}: {first.get('msg')}", setting=where) from exc
    settings, secret_values = forms.split(validated)
    all_secrets = {**stored_secrets, **secret_values}
    return integration, store.connector(integration, runtime.http, settings=settings, secret_values=all_secrets), (
        settings
    ), secret_values


def _report(report: CheckReport) -> dict[str, Any]:
    return {"ok": True, "summary": report.summary, "connected": report.connected, "details": report.details}


@router.get("/connectors", response_model=list[ConnectorOut])
async def list_connectors(workspace: ApiWorkspace) -> list[dict[str, Any]]:
    """The helpdesks relaydesk connects to, each with the JSON schema of its settings form."""
    return [
        {
            "name": name,
            "title": cls.title,
            "settings_schema": forms.form_schema(cls.settings_model),
            "secret_fields": forms.secret_fields(cls.settings_model),
            "read_only_fields": forms.readonly_fields(cls.settings_model),
        }
        for name, cls in sorted(CONNECTORS.items())
    ]


@router.get("", response_model=list[IntegrationOut])
async def list_integrations(workspace: ApiWorkspace, runtime: RuntimeDep) -> list[dict[str, Any]]:
    store = _store(runtime)
    return [_view(runtime, store, i) for i in await store.list(workspace.id)]


@router.get("/{connector}", response_model=IntegrationOut)
async def get_integration(connector: str, workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    """The integration's settings (never its secrets), status, and the webhook URL to copy."""
    store = _store(runtime)
    connector_class(connector)
    integration = await store.find(workspace.id, connector)
    if integration is None:
        raise NotFound(f"no {connector} integration in this workspace")
    return _view(runtime, store, integration)


@router.post("/{connector}/test", response_model=CheckOut)
async def test_integration(
    connector: str, body: IntegrationIn, workspace: ApiWorkspace, runtime: RuntimeDep
) -> dict[str, Any]:
    """Check settings against the helpdesk without saving anything."""
    store = _store(runtime)
    _, candidate, _, _ = await _candidate(store, runtime, workspace.id, connector, body)
    try:
        return _report(await candidate.check())
    except CheckFailed as exc:
        return {"ok": False, "reason": exc.reason, "setting": exc.setting}


@router.put("/{connector}", response_model=IntegrationOut)
async def save_integration(
    connector: str, body: IntegrationIn, workspace: ApiWorkspace, runtime: RuntimeDep
) -> dict[str, Any]:
    """Check, then save; a failed check answers 422 with the reason and saves nothing."""
    store = _store(runtime)
    _, candidate, settings, secret_values = await _candidate(store, runtime, workspace.id, connector, body)
    try:
        report = await candidate.check()
    except CheckFailed as exc:
        raise UnprocessableMessage(exc.reason, setting=exc.setting) from exc
    status, reason = ("active", None) if report.connected else ("inactive", report.summary)
    integration = await store.save(workspace.id, connector, settings=settings, secret_values=secret_values,
                                   is_handoff_target=body.is_handoff_target, status="inactive", reason=reason)
    if report.connected:
        status, reason = await activate(store, runtime.http, integration)
    await store.set_status(integration.id, status, reason)
    saved = await store.by_id(integration.id)
    assert saved is not None
    return _view(runtime, store, saved)


async def activate(
    store: IntegrationStore, http: httpx2.AsyncClient, integration: Integration
) -> tuple[str, str | None]:
    """Provision the helpdesk side; the status it leads to."""
    try:
        provisioned = await store.connector(integration, http).activate()
    except CheckFailed as exc:
        return "error", exc.reason
    await store.update_settings(integration.id, provisioned)
    return "active", None


@router.post("/{connector}/check", response_model=CheckOut)
async def check_integration(connector: str, workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    """Check the saved integration against the helpdesk now and record its status."""
    store = _store(runtime)
    integration = await store.find(workspace.id, connector)
    if integration is None:
        raise NotFound(f"no {connector} integration in this workspace")
    try:
        report = await store.connector(integration, runtime.http).check()
    except CheckFailed as exc:
        await store.set_status(integration.id, "error", exc.reason)
        return {"ok": False, "reason": exc.reason, "setting": exc.setting}
    await store.set_status(integration.id, "active" if report.connected else "inactive",
                           None if report.connected else report.summary)
    return _report(report)


@router.get("/{connector}/oauth/callback", response_model=IntegrationOut,
            responses={303: {"description": "a browser is sent back to the dashboard's Integrations page"}})
async def oauth_callback(
    connector: str,
    request: Request,
    runtime: RuntimeDep,
    code: Annotated[str, Query(max_length=2000)],
    state: Annotated[str, Query(max_length=2000)],
) -> Any:
    """Where the helpdesk sends the admin back after they grant access: tokens are exchanged and kept encrypted.
    A browser is then sent back to the dashboard's Integrations page, where the card shows the outcome."""
    try:
        claims = runtime.box.verify_token(state)
    except jwt.InvalidTokenError as exc:
        raise UnprocessableMessage(f"the connect link expired or was altered ({exc}); start connecting again") from exc
    store = _store(runtime)
    integration = await store.by_id(str(claims.get("int")))
    if claims.get("purpose") != "oauth" or integration is None or integration.connector != connector:
        raise NotFound("the integration this connect link was made for no longer exists")
    await complete_authorization(store, runtime.http, integration, code, _redirect_uri(runtime, connector))
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse(f"/app/settings/integrations#{connector}", status_code=303)
    saved = await store.by_id(integration.id)
    assert saved is not None
    return _view(runtime, store, saved)


async def complete_authorization(
    store: IntegrationStore, http: httpx2.AsyncClient, integration: Integration, code: str, redirect_uri: str
) -> tuple[str, str | None]:
    """Exchange an authorization code for tokens, check the account, provision it; record and return the status."""
    try:
        await store.connector(integration, http).authorize(code, redirect_uri)
        refreshed = await store.by_id(integration.id)
        assert refreshed is not None
        report = await store.connector(refreshed, http).check()
        status, reason = await activate(store, http, refreshed) if report.connected else ("inactive", report.summary)
    except CheckFailed as exc:
        status, reason = "error", exc.reason
    await store.set_status(integration.id, status, reason)
    return status, reason


@router.delete("/{connector}", status_code=204)
async def delete_integration(connector: str, workspace: ApiWorkspace, runtime: RuntimeDep) -> Response:
    """Disconnect: the settings and secrets are deleted; sessions keep their links."""
    store = _store(runtime)
    integration = await store.find(workspace.id, connector)
    if integration is None:
        raise NotFound(f"no {connector} integration in this workspace")
    await store.delete(integration)
    return Response(status_code=204)


class KnowledgeSyncOut(BaseModel):
    summary: str
    added: int
    updated: int
    unchanged: int
    removed: int


def store_knowledge(settings: Settings, workspace_id: str, synced: KnowledgeSync) -> IngestReport:
    """Add a sync's documents to the workspace's knowledge base, remove what it names, rebuild the search index."""
    knowledge = KnowledgeBase(knowledge_dir(settings, workspace_id))
    report = knowledge.ingest(synced.documents)
    removed = tuple(doc_id for doc_id in synced.removed if knowledge.remove(doc_id))
    PassageIndex.for_knowledge_base(knowledge)
    return IngestReport(report.added, report.updated, report.unchanged, removed)


@router.post("/{connector}/knowledge/sync", response_model=KnowledgeSyncOut)
async def sync_knowledge(connector: str, workspace: ApiWorkspace, runtime: RuntimeDep) -> dict[str, Any]:
    """Import the helpdesk's knowledge (Intercom: help-center articles and answered closed conversations) into the
    workspace's knowledge base. Each sync reads only what changed since the last one."""
    store = _store(runtime)
    integration = await store.find(workspace.id, connector)
    if integration is None:
        raise NotFound(f"no {connector} integration in this workspace")
    source = store.connector(integration, runtime.http)
    if not isinstance(source, KnowledgeSource):
        raise UnprocessableMessage(f"{connector} has no knowledge to import")
    try:
        synced = await source.knowledge()
    except CheckFailed as exc:
        raise UnprocessableMessage(exc.reason, setting=exc.setting) from exc
    report = await asyncio.to_thread(store_knowledge, runtime.settings, workspace.id, synced)
    await store.update_settings(integration.id, synced.progress)
    return {"summary": synced.summary, "added": len(report.added), "updated": len(report.updated),
            "unchanged": len(report.unchanged), "removed": len(report.removed)}
