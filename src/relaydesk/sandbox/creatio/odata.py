"""The slice of OData 4 the sandbox serves: `$filter` (eq, ne, contains, and), `$select`, `$top`, and errors.

Creatio answers OData 4 errors with the protocol's envelope, `{"error": {"code": …, "message": …}}`
(https://academy.creatio.com/docs/8.x/dev/development-on-creatio-platform/integrations-and-api/data-services/odata/overview).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

Json = dict[str, Any]
Predicate = Callable[[Json], bool]

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
COMPARISON = re.compile(r"^\s*(\w+)\s+(eq|ne)\s+(.+?)\s*$")
CONTAINS = re.compile(r"^\s*contains\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)\s*$")


class ODataError(Exception):
    """An answer other than 2xx in Creatio's OData 4 error envelope."""

    def __init__(self, status: int, message: str, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def error_body(status: int, message: str = "", code: str = "") -> Json:
    """The OData 4 error envelope."""
    return {"error": {"code": code or str(status), "message": message or f"HTTP {status}"}}


async def on_odata_error(_: Request, exc: Exception) -> JSONResponse:
    """Render an ODataError as Creatio does."""
    assert isinstance(exc, ODataError)
    return JSONResponse(error_body(exc.status, exc.message, exc.code), status_code=exc.status)


def _literal(text: str) -> Any:
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if GUID.match(text):
        return text.lower()
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise ODataError(400, f"The query specified in the URI is not valid. Unrecognized literal '{text}'.") from exc


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(value, str) and isinstance(wanted, str) and GUID.match(wanted):
        return value.lower() == wanted
    return bool(value == wanted)


def _contains(column: str, needle: str) -> Predicate:
    return lambda row: needle in str(row.get(column) or "").lower()


def _equals(column: str, wanted: Any, equal: bool) -> Predicate:
    return lambda row: _same(row.get(column), wanted) is equal


def parse_filter(text: str, columns: set[str]) -> Predicate:
    """A predicate for a `$filter` made of comparisons and `contains` joined by `and`."""
    tests: list[Predicate] = []
    for clause in re.split(r"\s+and\s+", text.strip()):
        found = CONTAINS.match(clause)
        if found:
            column, needle = found.group(1), found.group(2).replace("''", "'").lower()
            _known(column, columns)
            tests.append(_contains(column, needle))
            continue
        found = COMPARISON.match(clause)
        if found is None:
            raise ODataError(400, f"The query specified in the URI is not valid. Syntax error at '{clause}'.")
        column, operator, wanted = found.group(1), found.group(2), _literal(found.group(3))
        _known(column, columns)
        tests.append(_equals(column, wanted, operator == "eq"))
    return lambda row: all(test(row) for test in tests)


def _known(column: str, columns: set[str]) -> None:
    if column not in columns:
        raise ODataError(400, f"The query specified in the URI is not valid. Could not find a property named "
                              f"'{column}'.")


def selected(fields: str | None, columns: set[str]) -> list[str] | None:
    """The `$select`ed column names, each checked against the entity (None: no `$select`, every column)."""
    if not fields:
        return None
    names = [name.strip() for name in fields.split(",") if name.strip()]
    for name in names:
        _known(name, columns)
    return names


def select(row: Json, names: list[str] | None) -> Json:
    """The row with only the selected columns."""
    return dict(row) if names is None else {name: row.get(name) for name in names}
