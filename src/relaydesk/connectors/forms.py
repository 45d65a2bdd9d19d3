"""Connector settings as forms: which fields are secret (write-only) or read-only, and how they are stored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr


def _extra(model: type[BaseModel], name: str) -> dict[str, Any]:
    extra = model.model_fields[name].json_schema_extra
    return extra if isinstance(extra, dict) else {}


def secret_fields(model: type[BaseModel]) -> list[str]:
    """Fields typed SecretStr: accepted on save, stored encrypted, never returned."""
    names = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ()):
            names.append(name)
    return names


def readonly_fields(model: type[BaseModel]) -> list[str]:
    """Fields the connector fills in itself (marked readOnly in the schema); input for them is ignored."""
    return [name for name in model.model_fields if _extra(model, name).get("readOnly")]


def form_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema a dashboard renders as the settings form."""
    return model.model_json_schema()


def merge(
    model: type[BaseModel], stored: dict[str, Any], stored_secrets: dict[str, str], given: dict[str, Any]
) -> dict[str, Any]:
    """Form input over what is stored: blank or missing secrets keep their stored value, read-only fields too."""
    values = {**stored, **{k: v for k, v in stored_secrets.items() if k in model.model_fields}}
    protected = set(readonly_fields(model))
    secrets = set(secret_fields(model))
    for name, value in given.items():
        if name in protected or (name in secrets and value in (None, "")):
            continue
        values[name] = value
    return values


def split(settings: BaseModel) -> tuple[dict[str, Any], dict[str, str]]:
    """A validated settings model as (plain settings to store as JSON, secrets to encrypt)."""
    secrets = secret_fields(type(settings))
    plain = settings.model_dump(mode="json", exclude=set(secrets))
    hidden: dict[str, str] = {}
    for name in secrets:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            hidden[name] = value.get_secret_value()
    return plain, hidden
