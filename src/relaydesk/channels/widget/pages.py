"""What relaydesk serves to browsers for the widget: the script itself and a demo page that embeds it."""

from __future__ import annotations

import gzip
import hashlib
import html
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import HTMLResponse

STATIC = Path(__file__).parent / "static"
DEMO_WORKSPACE_FILE = "demo-workspace.json"
SCRIPT_MAX_AGE_S = 300

router = APIRouter(tags=["widget"])


@dataclass(frozen=True, slots=True)
class Asset:
    """A static file kept in memory with its gzipped form and a strong ETag."""

    body: bytes
    gzipped: bytes
    etag: str


@cache
def widget_script() -> Asset:
    body = (STATIC / "widget.js").read_bytes()
    return Asset(body, gzip.compress(body, 9, mtime=0), f'"{hashlib.sha256(body).hexdigest()[:32]}"')


@router.get("/widget.js", include_in_schema=True, response_class=Response)
async def serve_widget_script(
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
    accept_encoding: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The embeddable widget; cached briefly and revalidated by ETag, gzipped when the browser accepts it."""
    asset = widget_script()
    headers = {
        "etag": asset.etag,
        "cache-control": f"public, max-age={SCRIPT_MAX_AGE_S}",
        "vary": "Accept-Encoding",
        "cross-origin-resource-policy": "cross-origin",
        "x-content-type-options": "nosniff",
    }
    if if_none_match and asset.etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    if accept_encoding and "gzip" in accept_encoding.lower():
        headers["content-encoding"] = "gzip"
        return Response(asset.gzipped, media_type="text/javascript; charset=utf-8", headers=headers)
    return Response(asset.body, media_type="text/javascript; charset=utf-8", headers=headers)


def _demo_token(request: Request, given: str | None) -> str | None:
    if given:
        return given
    settings: Any = request.app.state.runtime.settings
    path = Path(settings.data_dir) / DEMO_WORKSPACE_FILE
    try:
        token = json.loads(path.read_text()).get("widget_token")
    except (OSError, ValueError):
        return None
    return token if isinstance(token, str) else None


@router.get("/demo", response_class=HTMLResponse, include_in_schema=False)
async def demo_page(
    request: Request, token: Annotated[str | None, Query(max_length=200, description="a widget token")] = None
) -> HTMLResponse:
    """A made-up company's help page with the widget embedded by its one script tag."""
    widget_token = _demo_token(request, token)
    if widget_token is None:
        tag = (
            '<p class="note">No demo workspace yet: run <code>relaydesk demo</code>, or open this page as '
            "<code>/demo?token=YOUR_WIDGET_TOKEN</code>.</p>"
        )
    else:
        src = html.escape(str(request.url_for("serve_widget_script")), quote=True)
        tag = f'<script src="{src}" data-token="{html.escape(widget_token, quote=True)}" async></script>'
    page = (STATIC / "demo.html").read_text(encoding="utf-8").replace("<!--WIDGET-->", tag)
    return HTMLResponse(page, headers={"cache-control": "no-store"})
