"""Every error leaves as JSON: `{"error": {"code", "message", "request_id", ...}}`, never a traceback."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from relaydesk.core.errors import DomainError

log = structlog.get_logger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}
RETRY_AFTER_BUSY_S = 1


def error_body(status: int, message: str, request: Request | None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": extra.pop("code", None) or CODES.get(status, "error"), "message": message}
    if request is not None:
        error["request_id"] = request.scope.get("state", {}).get("request_id")
    error.update(extra)
    return {"error": error}


def _clean(errors: Any) -> list[dict[str, Any]]:
    cleaned = []
    for item in errors:
        cleaned.append({"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")})
    return cleaned


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            error_body(
                exc.status, exc.message, request, code=exc.code, **({"details": exc.details} if exc.details else {})
            ),
            status_code=exc.status,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _clean(exc.errors())
        if any(d["type"] == "json_invalid" for d in details):
            return JSONResponse(error_body(400, "request body is not valid JSON", request, code="invalid_json"), 400)
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body")
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return JSONResponse(error_body(422, message, request, details=details), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return JSONResponse(error_body(exc.status_code, message, request), exc.status_code, headers=exc.headers)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # The database is locked past its busy timeout or unreachable: nothing was committed, so the caller may
        # send the same request again (client ids make a repeat harmless).
        log.warning("request.database_unavailable", path=request.url.path, error=str(exc.orig)[:200])
        return JSONResponse(
            error_body(503, "the database is busy or unreachable; nothing was stored, retry shortly", request),
            status_code=503, headers={"Retry-After": str(RETRY_AFTER_BUSY_S)},
        )

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.crashed", path=request.url.path)
        return JSONResponse(
            error_body(500, "internal error; the request id identifies it in the logs", request, code="internal_error"),
            status_code=500,
        )
