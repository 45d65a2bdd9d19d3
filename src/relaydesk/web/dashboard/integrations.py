"""Settings → Integrations: one card per connector, a form generated from its settings model, Test & Save."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import APIRouter
from pydantic import BaseModel, SecretStr, ValidationError
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, Response

from relaydesk.connectors import forms
from relaydesk.connectors.base import CheckFailed, Connector
from relaydesk.connectors.registry import CONNECTORS, connector_class
from relaydesk.connectors.store import IntegrationStore
from relaydesk.core.integrations import Integration
from relaydesk.core.users import SignedIn, Users
from relaydesk.web.dashboard.auth import FormDep, SignedInDep, require_manager
from relaydesk.web.dashboard.i18n import t
from relaydesk.web.dashboard.pages import actor, done, page
from relaydesk.web.deps import RuntimeDep
from relaydesk.web.runtime import Runtime

log = structlog.get_logger(__name__)
router = APIRouter()
HANDOFF_TARGET_FIELD = "_handoff_target"
OAUTH_STATE_TTL_S = 900


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of a connector's settings form."""

    name: str
    label: str
    help: str
    kind: str  # text | number | checkbox | secret | readonly
    required: bool
    value: Any
    saved: bool  # secrets: whether a value is stored (it is never shown)


@dataclass
class Card:
    """A connector on the Integrations page, with its integration when the workspace has one."""

    name: str
    title: str
    summary: str
    fields: list[FormField]
    integration: Integration | None
    webhook_url: str | None
    connect_url: str | None
    error: str | None = None
    error_field: str | None = None


def _kind(model: type[BaseModel], name: str) -> str:
    if name in forms.readonly_fields(model):
        return "readonly"
    if name in forms.secret_fields(model):
        return "secret"
    annotation = model.model_fields[name].annotation
    choices = (annotation, *getattr(annotation, "__args__", ()))
    if bool in choices:
        return "checkbox"
    if int in choices or float in choices:
        return "number"
    return "text"


def form_fields(
    model: type[BaseModel], values: dict[str, Any], saved_secrets: set[str]
) -> list[FormField]:
    """The model's fields as inputs: secrets write-only, read-only fields shown but never taken from input."""
    fields = []
    for name, info in model.model_fields.items():
        kind = _kind(model, name)
        value = None if kind == "secret" else values.get(name, None if info.is_required() else info.default)
        fields.append(FormField(name, info.title or name.replace("_", " ").capitalize(), info.description or "",
                                kind, info.is_required(), value, name in saved_secrets))
    return fields


def _store(runtime: Runtime) -> IntegrationStore:
    return IntegrationStore(runtime.db, runtime.box, runtime.settings.public_url)


async def _card(runtime: Runtime, name: str, cls: type[Connector], integration: Integration | None,
                *, values: dict[str, Any] | None = None) -> Card:
    store = _store(runtime)
    stored_secrets = set(store.secrets(integration)) if integration else set()
    shown = values if values is not None else (integration.settings if integration else {})
    model = cls.settings_model
    return Card(name, cls.title, (model.__doc__ or "").strip(), form_fields(model, shown, stored_secrets),
                integration, store.webhook_url(integration) if integration else None,
                _connect_url(runtime, store, integration) if integration else None)


async def _page(runtime: Runtime, signed: SignedIn, *, failed: Card | None = None, status: int = 200) -> Response:
    store = _store(runtime)
    existing = {i.connector: i for i in await store.list(signed.session.workspace_id)}
    cards = []
    for name, cls in sorted(CONNECTORS.items()):
        cards.append(failed if failed and failed.name == name else await _card(runtime, name, cls, existing.get(name)))
    return await page(runtime, signed, "integrations.html", "integrations", cards=cards, status=status)


async def _activate(store: IntegrationStore, runtime: Runtime, integration: Integration) -> None:
    """Provision the helpdesk side of a connected integration (channels, webhooks) and record the status."""
    try:
        provisioned = await store.connector(integration, runtime.http).activate()
    except CheckFailed as exc:
        await store.set_status(integration.id, "error", exc.reason)
        return
    await store.update_settings(integration.id, provisioned)
    await store.set_status(integration.id, "active", None)


def _connect_url(runtime: Runtime, store: IntegrationStore, integration: Integration) -> str | None:
    """Where an admin grants access to the helpdesk account (OAuth), while the integration is not connected."""
    if store.secrets(integration).get("refresh_token"):
        return None
    state = runtime.box.sign_token({"purpose": "oauth", "int": integration.id, "ws": integration.workspace_id,
                                    "exp": int(time.time()) + OAUTH_STATE_TTL_S})
    redirect = f"{runtime.settings.public_url.rstrip('/')}/api/v1/integrations/{integration.connector}/oauth/callback"
    return store.connector(integration, runtime.http).authorize_url(redirect, state)


@router.get("/settings/integrations", response_class=HTMLResponse)
async def integrations(runtime: RuntimeDep, signed: SignedInDep) -> Response:
    return await _page(runtime, signed)


def _given(model: type[BaseModel], form: FormData) -> dict[str, Any]:
    """Form input by field; an unchecked box is False, an empty optional field is unset."""
    given: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        kind = _kind(model, name)
        if kind == "readonly":
            continue
        if kind == "checkbox":
            given[name] = form.get(name) == "on"
            continue
        raw = form.get(name)
        value = raw.strip() if isinstance(raw, str) else ""
        if kind == "secret" or value:
            given[name] = value
        elif not info.is_required():
            given[name] = info.default
    return given


def _plain_view(values: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    secrets = set(forms.secret_fields(model))
    return {k: v for k, v in values.items() if k not in secrets and not isinstance(v, SecretStr)}


@router.post("/settings/integrations/{name}")
async def test_and_save(name: str, runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    """Run the connector's check with the form's values; save them only when the helpdesk accepted them."""
    require_manager(signed)
    cls = connector_class(name)
    model = cls.settings_model
    store = _store(runtime)
    workspace_id = signed.session.workspace_id
    existing = await store.find(workspace_id, name)
    stored_secrets = store.secrets(existing) if existing else {}
    given = _given(model, form)
    values = forms.merge(model, existing.settings if existing else {}, stored_secrets, given)
    shown = _plain_view(values, model)

    async def refuse(reason: str, setting: str | None) -> Response:
        card = await _card(runtime, name, cls, existing, values=shown)
        card.error, card.error_field = reason, setting
        return await _page(runtime, signed, failed=card, status=422)

    try:
        validated = model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = str(first["loc"][0]) if first["loc"] else None
        label = model.model_fields[field_name].title if field_name in model.model_fields else field_name
        return await refuse(t("integrations.invalid", field=label or "", reason=first["msg"]), field_name)
    plain, hidden = forms.split(validated)
    probe = existing or Integration(workspace_id=workspace_id, connector=name, settings={}, secrets="",
                                    webhook_secret="")
    connector = store.connector(probe, runtime.http, settings=plain, secret_values={**stored_secrets, **hidden})
    try:
        report = await connector.check()
    except CheckFailed as exc:
        return await refuse(exc.reason, exc.setting)
    except Exception as exc:  # a network failure or an unexpected answer: shown, nothing saved
        log.warning("integration.check_crashed", connector=name, error=str(exc))
        return await refuse(t("integrations.unreachable", error=str(exc)[:300]), None)
    saved = await store.save(
        workspace_id, name, settings=plain, secret_values=hidden,
        is_handoff_target=form.get(HANDOFF_TARGET_FIELD) == "on", status="inactive", reason=report.summary,
    )
    if report.connected:
        await _activate(store, runtime, saved)
    changed_secrets = sorted(k for k, v in hidden.items() if stored_secrets.get(k) != v)
    await Users(runtime.db).audit(
        workspace_id, actor(signed), "integration.saved", target=name,
        before={"settings": _plain_view(existing.settings, model), "status": existing.status} if existing else None,
        after={"settings": plain, "secrets_changed": changed_secrets,
               "handoff_target": saved.is_handoff_target},
    )
    return await done(runtime, signed, "/settings/integrations", t("integrations.saved", title=cls.title,
                                                                  summary=report.summary))
