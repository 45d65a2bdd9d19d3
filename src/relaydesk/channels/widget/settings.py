"""A workspace's widget settings, kept as JSON in `workspace.settings["widget"]`, and the site origins it allows."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from relaydesk.channels.widget.copy import LANGUAGES
from relaydesk.core.models import Workspace

log = structlog.get_logger(__name__)

# Types a visitor may upload, with the file name endings the widget offers for each. SVG and HTML are never on the
# list: both can carry scripts.
UPLOAD_TYPES: dict[str, tuple[str, ...]] = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
    "text/plain": (".txt", ".log"),
    "text/csv": (".csv",),
}


class WidgetSettings(BaseModel):
    """What a site owner sets for the widget; every field has a default, so an empty object is a working widget."""

    model_config = ConfigDict(extra="ignore")

    bot_name: str = Field(default="Assistant", max_length=60)
    bot_avatar_url: str | None = Field(default=None, max_length=2000)
    agent_name: str | None = Field(default=None, max_length=60, description="one name for every rep; unset: theirs")
    agent_avatar_url: str | None = Field(default=None, max_length=2000)
    brand_color: str = Field(default="#4338ca", pattern=r"^#[0-9A-Fa-f]{6}$")
    theme: Literal["light", "dark", "auto"] = "auto"
    position: Literal["right", "left"] = "right"
    title: str | None = Field(default=None, max_length=80, description="panel header; unset: the workspace name")
    greeting: list[str] = Field(default_factory=list, max_length=3, description="unset: the built-in greeting")
    suggested_questions: list[str] = Field(default_factory=list, max_length=6)
    language: str | None = Field(default=None, description="unset: the visitor's browser language")
    languages: list[str] = Field(default_factory=lambda: list(LANGUAGES))
    copy_overrides: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="the site's own wording: {language: {string key: text}}"
    )
    office_hours_notice: str | None = Field(default=None, max_length=300)
    csat_enabled: bool = True
    csat_low_score_comment: Literal["ask", "require"] = "ask"
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    upload_types: list[str] = Field(default_factory=lambda: list(UPLOAD_TYPES))


def widget_settings(workspace: Workspace) -> WidgetSettings:
    """The workspace's widget settings; an unreadable stored value falls back to the defaults, with a warning."""
    raw: Any = (workspace.settings or {}).get("widget") or {}
    try:
        return WidgetSettings.model_validate(raw)
    except ValidationError as exc:
        log.warning("widget.settings_invalid", workspace_id=workspace.id, error=str(exc))
        return WidgetSettings()


def allowed_origins(workspace: Workspace) -> list[str] | None:
    """The site origins whose pages may call the widget API; None when the workspace has set no list (any origin)."""
    raw = (workspace.settings or {}).get("allowed_origins")
    if not isinstance(raw, list):
        return None
    return [normalize_origin(item) for item in raw if isinstance(item, str)]


def normalize_origin(value: str) -> str:
    """`https://Shop.example.com/` and `https://shop.example.com` name the same origin."""
    parts = urlsplit(value.strip())
    if not parts.scheme or not parts.netloc:
        return value.strip().rstrip("/").lower()
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def origin_allowed(origin: str, workspace: Workspace, own_origin: str) -> bool:
    """Whether a page at `origin` may use this workspace's widget (pages served by relaydesk itself always may)."""
    listed = allowed_origins(workspace)
    normalized = normalize_origin(origin)
    return listed is None or normalized == normalize_origin(own_origin) or normalized in listed
