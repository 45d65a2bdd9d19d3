"""Health, readiness, metrics and request ids: what an operator and a load balancer rely on."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from relaydesk.config import Settings
from tests.conftest import app_client, make_settings


async def test_ready_when_the_schema_is_current_and_not_ready_when_behind(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        assert (await client.get("/healthz")).json()["status"] == "ok"
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
        async with app.state.runtime.db.transaction() as tx:
            await tx.execute(text("UPDATE alembic_version SET version_num = '0000'"))
        behind = await client.get("/readyz")
        assert behind.status_code == 503
        assert "relaydesk db upgrade" in behind.json()["checks"]["migrations"]


async def test_every_response_carries_a_request_id_and_keeps_a_sane_one_from_the_caller(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, _app):
        generated = await client.get("/healthz")
        assert len(generated.headers["x-request-id"]) == 32
        kept = await client.get("/healthz", headers={"X-Request-ID": "lb-1234"})
        assert kept.headers["x-request-id"] == "lb-1234"
        replaced = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces\n"})
        assert replaced.headers["x-request-id"] != "bad id with spaces\n"


async def test_metrics_count_requests_by_route_template(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, _app):
        await client.get("/api/widget/v1/sessions/abc/messages")
        body = (await client.get("/metrics")).text
        assert 'relaydesk_http_requests_total{method="GET",route="/api/widget/v1/sessions/{session_id}/messages"' \
            in body


async def test_a_missing_secret_key_is_generated_once_into_the_data_dir(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/db.sqlite", tmp_path, secret_key=None)
    async with app_client(settings, run_workers=False) as (_client, app):
        box = app.state.runtime.box
        stored = box.encrypt("hubspot-refresh-token")
    key_file = tmp_path / "secret.key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    async with app_client(settings, run_workers=False) as (_client, app):
        assert app.state.runtime.box.decrypt(stored) == "hubspot-refresh-token"
    assert "hubspot-refresh-token" not in stored
