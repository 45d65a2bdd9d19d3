"""Schemathesis against the OpenAPI schema of a running server: no 5xx, and every answer matches the schema."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import free_port

STREAMING = {"/api/widget/v1/sessions/{session_id}/events"}
# Operations whose input is judged by more than a schema can state, so a schema-valid request may rightly be refused:
# an upload by what its bytes are (empty files and unlisted types get 415), the rules by cross-field checks of AI
# actions (URL placeholders must be exactly the path parameters), an OAuth callback by the signature of its `state`.
# Every other check still runs on them.
VALIDATED_BEYOND_SCHEMA = {"/api/widget/v1/uploads", "/api/v1/rules", "/api/v1/integrations/{connector}/oauth/callback"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A `relaydesk serve` process on SQLite with one workspace, a visitor and a session."""
    data = tmp_path_factory.mktemp("fuzz")
    env = {**os.environ, "RELAYDESK_DATA_DIR": str(data), "RELAYDESK_SECRET_KEY": "fuzz", "RELAYDESK_LOG_JSON": "true",
           "RELAYDESK_LOG_LEVEL": "warning"}
    env.pop("RELAYDESK_DATABASE_URL", None)
    created = subprocess.run([sys.executable, "-m", "relaydesk", "workspace", "create", "Fuzz", "--json"], env=env,
                             capture_output=True, text=True, check=True)
    workspace = json.loads(created.stdout)
    port = free_port()
    log = (data / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "relaydesk", "serve", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        credentials = asyncio.run(_prepare(url, workspace))
        yield {"url": url, "log": data / "serve.log", **credentials}
    finally:
        process.terminate()
        process.wait(15)
        log.close()


async def _prepare(url: str, workspace: dict[str, str]) -> dict[str, Any]:
    async with httpx2.AsyncClient(base_url=url, timeout=10) as client:
        deadline = time.monotonic() + 30
        while True:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            await asyncio.sleep(0.1)
        widget = {"X-Widget-Token": workspace["widget_token"]}
        token = (await client.post("/api/widget/v1/contacts", json={}, headers=widget)).json()["token"]
        return {"widget_token": workspace["widget_token"], "contact_token": token, "api_key": workspace["api_key"]}


def fuzz(operation: Any, base_url: str, headers: dict[str, str]) -> None:
    """Up to 25 generated requests to one operation, each checked against the schema."""
    excluded = [positive_data_acceptance] if operation.path in VALIDATED_BEYOND_SCHEMA else []

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, timeout=10, excluded_checks=excluded)

    check()


def test_no_server_errors_and_answers_match_the_schema(server: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_url(f"{server['url']}/openapi.json")
    widget = {"X-Widget-Token": server["widget_token"], "Authorization": f"Bearer {server['contact_token']}"}
    admin = {"Authorization": f"Bearer {server['api_key']}"}
    failures: dict[str, str] = {}
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in STREAMING:
            continue
        headers = widget if operation.path.startswith("/api/widget/") else admin
        try:
            fuzz(operation, server["url"], headers)
        except Exception as exc:
            failures[operation.label] = str(exc)[:2000]
        tested += 1
    assert tested >= 15
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())


def test_the_server_logged_no_crash(server: dict[str, Any]) -> None:
    log = Path(server["log"]).read_text(errors="replace")
    assert "request.crashed" not in log
