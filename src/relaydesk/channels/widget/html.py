"""Message views as the widget may show them."""

from __future__ import annotations

from typing import Any

from relaydesk.core.html import sanitize_rep_html


def visitor_view(view: dict[str, Any]) -> dict[str, Any]:
    """A message view for the widget: any HTML passes the sanitizer again, whatever path stored it."""
    if view.get("html") is None:
        return view
    return {**view, "html": sanitize_rep_html(view["html"])}
