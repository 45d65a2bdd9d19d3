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


def test_kb_ingest_adds_then_updates_only_what_changed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(["workspace", "create", "Acme", "--json"], data).returncode == 0
    docs = tmp_path / "docs"
    docs.mkdir()
    for slug, body in {"billing": "Invoices are emailed monthly.", "sync": "Sync pauses on metered networks."}.items():
        (docs / f"{slug}.md").write_text(f"# {slug.title()}\nurl: https://help.example/{slug}\n\n{body}\n")
    first = run(["kb", "ingest", str(docs)], data)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "2 added, 0 updated, 0 unchanged"
    (docs / "sync.md").write_text("# Sync\nurl: https://help.example/sync\n\nSync resumes on Wi-Fi.\n")
    second = run(["kb", "ingest", str(docs)], data)
    assert second.stdout.strip() == "0 added, 1 updated, 1 unchanged"
    missing = run(["kb", "ingest", str(tmp_path / "nope")], data)
    assert missing.returncode == 2 and "no such file or directory" in missing.stderr
    assert "Traceback" not in missing.stderr
