"""The command line, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RELAYDESK_DATA_DIR": str(data_dir), "RELAYDESK_LOG_JSON": "true"}
    env.pop("RELAYDESK_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "relaydesk", *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_workspace_create_prints_credentials_as_json_and_they_work(tmp_path: Path) -> None:
    created = run(["workspace", "create", "Acme Support", "--json"], tmp_path)
    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert set(body) == {"id", "name", "widget_token", "api_key"}
    assert body["name"] == "Acme Support" and body["api_key"].startswith("rdk_")
    assert (tmp_path / "relaydesk.db").exists()
    second = json.loads(run(["workspace", "create", "Other", "--json"], tmp_path).stdout)
    assert second["id"] != body["id"] and second["api_key"] != body["api_key"]


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    for _ in range(2):
        result = run(["db", "upgrade"], tmp_path)
        assert result.returncode == 0, result.stderr
        assert "newest migration" in result.stdout


def test_help_lists_the_commands() -> None:
    result = subprocess.run([sys.executable, "-m", "relaydesk", "--help"], capture_output=True, text=True, check=False)
    for command in ("demo", "serve", "worker", "db", "workspace", "bench"):
        assert command in result.stdout
