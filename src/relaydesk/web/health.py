"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from relaydesk import __version__
from relaydesk.core.db import current_revision, head_revision
from relaydesk.web.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, Any]:
    """The process is up and serving."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Ready when the database answers and its schema is at the newest migration."""
    checks: dict[str, str] = {}
    try:
        async with runtime.db.read() as db:
            await db.execute(text("SELECT 1"))
        checks["database"] = "ok"
        revision, head = await current_revision(runtime.db), head_revision()
        checks["migrations"] = (
            "ok" if revision == head else f"at {revision}, newest is {head}: run 'relaydesk db upgrade'"
        )
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values()) and len(checks) == 2
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
