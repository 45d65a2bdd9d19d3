"""Settings → Integrations: one card per connector, a form generated from its settings model, Test & Save."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

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


class UnreadableInput(ValueError):
    """A form value that cannot even be read (JSON that does not parse); `field` names the input."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of a connector's settings form."""

    name: str
    label: str
    help: str
    kind: str  # text | number | checkbox | choice | json | secret | readonly
    required: bool
    value: Any
    saved: bool  # secrets: whether a value is stored (it is never shown)
    choices: tuple[str, ...] = ()

    @property
    def structured(self) -> bool:
        """A list or mapping, shown as JSON over several lines."""
        return isinstance(self.value, list | dict)

    @property
    def text(self) -> str:
        """The value as an input shows it: lists and mappings as JSON, nothing as empty."""
        if self.value is None:
            return ""
        return json.dumps(self.value, indent=2, ensure_ascii=False) if self.structured else str(self.value)


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
    receives_webhooks: bool
    error: str | None = None
    error_field: str | None = None


def receives_webhooks(cls: type[Connector]) -> bool:
    """Whether the helpdesk reports changes by webhook; a connector whose changes arrive another way (an event
    stream held by the workers) says `receives_webhooks = False`, and its card shows no webhook URL."""
    return bool(getattr(cls, "receives_webhooks", True))


def _choices(model: type[BaseModel], name: str) -> tuple[str, ...]:
    """The values a Literal field allows, as a form's options."""
    annotation = model.model_fields[name].annotation
    return tuple(str(value) for value in get_args(annotation)) if get_origin(annotation) is Literal else ()


def _kind(model: type[BaseModel], name: str) -> str:
    if name in forms.readonly_fields(model):
        return "readonly"
    if name in forms.secret_fields(model):
        return "secret"
    annotation = model.model_fields[name].annotation
    if get_origin(annotation) in (list, dict):
        return "json"
    if _choices(model, name):
        return "choice"
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
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        value = None if kind == "secret" else values.get(name, default)
        fields.append(FormField(name, _label(model, name), info.description or "", kind, info.is_required(), value,
                                name in saved_secrets, _choices(model, name)))
    return fields


def _label(model: type[BaseModel], name: str) -> str:
    return model.model_fields[name].title or name.replace("_", " ").capitalize()


def _store(runtime: Runtime) -> IntegrationStore:
    return IntegrationStore(runtime.db, runtime.box, runtime.settings.public_url)


async def _card(runtime: Runtime, name: str, cls: type[Connector], integration: Integration | None,
                *, values: dict[str, Any] | None = None) -> Card:
    store = _store(runtime)
    stored_secrets = set(store.secrets(integration)) if integration else set()
    shown = values if values is not None else (integration.settings if integration else {})
    model = cls.settings_model
    webhooks = receives_webhooks(cls)
    return Card(name, cls.title, (model.__doc__ or "").strip(), form_fields(model, shown, stored_secrets),
                integration, store.webhook_url(integration) if integration and webhooks else None,
                _connect_url(runtime, store, integration) if integration else None, webhooks)


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
    """Form input by field; an unchecked box is False, an empty optional field is unset, JSON fields are parsed
    (UnreadableInput when they do not parse)."""
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
        if kind == "json" and value:
            try:
                given[name] = json.loads(value)
            except ValueError as exc:
                raise UnreadableInput(name, f"not valid JSON ({exc})") from exc
        elif kind == "secret" or value:
            given[name] = value
        elif not info.is_required():
            given[name] = info.get_default(call_default_factory=True)
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

    async def refuse(reason: str, setting: str | None, shown: dict[str, Any]) -> Response:
        card = await _card(runtime, name, cls, existing, values=shown)
        card.error, card.error_field = reason, setting
        return await _page(runtime, signed, failed=card, status=422)

    try:
        given = _given(model, form)
    except UnreadableInput as exc:
        kept = _plain_view(existing.settings, model) if existing else {}
        return await refuse(t("integrations.invalid", field=_label(model, exc.field), reason=exc.reason), exc.field,
                            kept)
    values = forms.merge(model, existing.settings if existing else {}, stored_secrets, given)
    shown = _plain_view(values, model)

    try:
        validated = model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = str(first["loc"][0]) if first["loc"] else None
        label = model.model_fields[field_name].title if field_name in model.model_fields else field_name
        return await refuse(t("integrations.invalid", field=label or "", reason=first["msg"]), field_name, shown)
    plain, hidden = forms.split(validated)
    probe = existing or Integration(workspace_id=workspace_id, connector=name, settings={}, secrets="",
                                    webhook_secret="")
    connector = store.connector(probe, runtime.http, settings=plain, secret_values={**stored_secrets, **hidden})
    try:
        report = await connector.check()
    except CheckFailed as exc:
        return await refuse(exc.reason, exc.setting, shown)
    except Exception as exc:  # a network failure or an unexpected answer: shown, nothing saved
        log.warning("integration.check_crashed", connector=name, error=str(exc))
        return await refuse(t("integrations.unreachable", error=str(exc)[:300]), None, shown)
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
