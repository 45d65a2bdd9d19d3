"""HubSpot's cursor paging: `limit` and `after` in, `paging.next.after` (and its link) out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from starlette.datastructures import URL

from relaydesk.sandbox.hubspot.errors import validation

T = TypeVar("T")


def page(
    items: Sequence[T], after: str | None, limit: int | None, url: URL, default: int = 20, maximum: int = 100
) -> tuple[list[T], dict[str, Any] | None]:
    """One page of `items` and the `paging` object pointing at the next one, if any."""
    size = default if limit is None else limit
    if size < 1 or size > maximum:
        raise validation(f"limit must be between 1 and {maximum}")
    start = 0
    if after:
        if not after.isdigit():
            raise validation(f"Invalid paging cursor: {after}")
        start = int(after)
    chunk = list(items[start : start + size])
    if start + size >= len(items):
        return chunk, None
    next_after = str(start + size)
    return chunk, {"next": {"after": next_after, "link": str(url.include_query_params(after=next_after))}}


def collection(results: list[Any], paging: dict[str, Any] | None, total: int | None = None) -> dict[str, Any]:
    """A HubSpot collection response."""
    body: dict[str, Any] = {"results": results}
    if total is not None:
        body["total"] = total
    if paging is not None:
        body["paging"] = paging
    return body
