"""The widget's weight: the script as served, raw and gzipped, against the 15 KB budget."""

from __future__ import annotations

import gzip
from typing import Any

from relaydesk.channels.widget.pages import STATIC

BUDGET_GZIP_BYTES = 15 * 1024


def widget_size() -> dict[str, Any]:
    """Sizes of widget.js in bytes (raw, gzip level 9) and whether the gzipped size is within the budget."""
    body = (STATIC / "widget.js").read_bytes()
    gzipped = len(gzip.compress(body, 9, mtime=0))
    return {
        "file": "widget.js",
        "raw_bytes": len(body),
        "gzip_bytes": gzipped,
        "budget_gzip_bytes": BUDGET_GZIP_BYTES,
        "within_budget": gzipped <= BUDGET_GZIP_BYTES,
    }
