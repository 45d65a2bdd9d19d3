"""Jinja2 templates of the dashboard (autoescaped), their helpers, and the headers every page carries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from relaydesk.web.dashboard.i18n import integration_label, setup_steps, t, troubleshooting, webhook_hint

TEMPLATES = Path(__file__).parent / "templates"
PREFIX = "/app"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; "
        "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def safe_url(value: object) -> str | None:
    """A link target that cannot run script: http(s) URLs and paths of this site only."""
    if not isinstance(value, str):
        return None
    parts = urlsplit(value.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return value.strip()
    if not parts.scheme and not parts.netloc and value.startswith("/") and not value.startswith("//"):
        return value
    return None


def when(value: datetime | str | None) -> str:
    """A timestamp as people read it: time today, else day and time, in UTC."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    moment = moment.astimezone(UTC)
    if moment.date() == datetime.now(UTC).date():
        return moment.strftime("%H:%M")
    return moment.strftime("%d %b %Y, %H:%M")


def ago(value: datetime | None) -> str:
    """How long ago, in the largest unit that fits."""
    if value is None:
        return ""
    seconds = max(0, int((datetime.now(UTC) - value).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return t(f"ago.{unit}", n=seconds // size)
    return t("ago.now")


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals.update(t=t, prefix=PREFIX, safe_url=safe_url, integration_label=integration_label,
                           setup_steps=setup_steps, troubleshooting=troubleshooting, webhook_hint=webhook_hint)
environment.filters.update(when=when, ago=ago, pretty_json=pretty_json)


def render(template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    body = environment.get_template(template).render(**context)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
