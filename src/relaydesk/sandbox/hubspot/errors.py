"""HubSpot's error bodies and the exception that carries one out of a route.

Shapes follow https://developers.hubspot.com/docs/api-reference/latest/error-handling and the
`Error` schema of HubSpot's published OpenAPI specs: status, message, correlationId, category,
with optional errors, context and links.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

SCOPES_LINK = "https://developers.hubspot.com/scopes"
OAUTH_LINK = "https://developers.hubspot.com/docs/methods/auth/oauth-overview"


def correlation_id() -> str:
    """A fresh correlation id, as HubSpot puts on every error."""
    return str(uuid.uuid4())


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    """The common HubSpot error envelope."""
    return {"status": "error", "message": message, "correlationId": correlation_id(), "category": category, **extra}


class HubSpotError(Exception):
    """An HTTP error answered with a HubSpot-shaped body."""

    def __init__(self, status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("message", ""))
        self.status_code = status_code
        self.body = body
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        """Render the error."""
        return JSONResponse(self.body, status_code=self.status_code, headers=self.headers)


def unauthenticated() -> HubSpotError:
    """401 for a missing or unknown bearer token."""
    return HubSpotError(
        401,
        error_body(
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
            f"more details at {OAUTH_LINK}",
            "INVALID_AUTHENTICATION",
        ),
    )


def _ago(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second(s)"
    if seconds < 3600:
        return f"{seconds // 60} minute(s)"
    return f"{seconds // 3600} hour(s)"


def expired(seconds_ago: int) -> HubSpotError:
    """401 for an OAuth access token past its expires_in."""
    return HubSpotError(
        401,
        error_body(
            f"The OAuth token used to make this call expired {_ago(max(0, seconds_ago))} ago.",
            "EXPIRED_AUTHENTICATION",
        ),
    )


def bad_api_key() -> HubSpotError:
    """401 for a missing or wrong developer API key (hapikey)."""
    return HubSpotError(
        401,
        error_body(
            "The API key provided is invalid. View or manage your API key here: https://app.hubspot.com/l/api-key/",
            "INVALID_AUTHENTICATION",
        ),
    )


def missing_scopes(required: tuple[str, ...], all_required: bool) -> HubSpotError:
    """403 MISSING_SCOPES naming the granular scopes the call needs."""
    detail = (
        "All of the following scopes are required."
        if all_required
        else ("One or more of the following scopes are required.")
    )
    return HubSpotError(
        403,
        error_body(
            "This app hasn't been granted all required scopes to make this call. "
            f"Read more about required scopes here: {SCOPES_LINK}.",
            "MISSING_SCOPES",
            errors=[{"message": detail, "context": {"requiredGranularScopes": list(required)}}],
            links={"scopes": SCOPES_LINK},
        ),
    )


def not_found(message: str = "resource not found") -> HubSpotError:
    """404 for an unknown object."""
    return HubSpotError(404, error_body(message, "OBJECT_NOT_FOUND"))


def validation(message: str, errors: list[dict[str, Any]] | None = None) -> HubSpotError:
    """400 VALIDATION_ERROR."""
    extra: dict[str, Any] = {"errors": errors} if errors else {}
    return HubSpotError(400, error_body(message, "VALIDATION_ERROR", **extra))


def invalid_properties(problems: list[dict[str, Any]]) -> HubSpotError:
    """400 for CRM property values that fail validation, with the problems JSON-encoded in the message."""
    return validation(f"Property values were not valid: {json.dumps(problems, separators=(',', ':'))}")


def conflict(message: str) -> HubSpotError:
    """409 CONFLICT, e.g. a contact whose email already exists."""
    return HubSpotError(409, error_body(message, "CONFLICT"))


def provider_error_body(status: int) -> dict[str, Any]:
    """The body HubSpot answers with for an injected fault of this status."""
    if status == 429:
        return {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": "TEN_SECONDLY_ROLLING",
            "requestId": correlation_id(),
        }
    category = {401: "INVALID_AUTHENTICATION", 403: "MISSING_SCOPES", 404: "OBJECT_NOT_FOUND"}.get(status)
    if category is None:
        category = "VALIDATION_ERROR" if status < 500 else "INTERNAL_ERROR"
    return error_body(f"HTTP {status} returned by the sandbox", category)


async def on_hubspot_error(_: Request, exc: Exception) -> Response:
    """Render HubSpotError."""
    assert isinstance(exc, HubSpotError)
    return exc.response()


async def on_request_validation(_: Request, exc: Exception) -> Response:
    """Render a malformed request as HubSpot's 400 VALIDATION_ERROR."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "message": str(err.get("msg", "invalid value")),
            "in": ".".join(str(part) for part in err.get("loc", ())),
            "code": "INVALID_INPUT",
        }
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"message": "invalid input", "in": ""}
    return validation(f"Invalid input: {first['in']}: {first['message']}", errors).response()


async def on_http_exception(_: Request, exc: Exception) -> Response:
    """Render framework HTTP errors (unknown route, wrong method) in HubSpot's shape."""
    assert isinstance(exc, StarletteHTTPException)
    category = {404: "OBJECT_NOT_FOUND", 405: "VALIDATION_ERROR"}.get(exc.status_code, "VALIDATION_ERROR")
    return JSONResponse(error_body(str(exc.detail), category), status_code=exc.status_code, headers=exc.headers)
