"""A database that stays locked past its busy timeout gets a 503 with Retry-After, not a 500, and stores nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from relaydesk.core import db as db_module
from tests.conftest import app_client, make_settings
from tests.helpers import create_workspace, new_session, new_visitor


async def test_a_write_blocked_by_another_process_is_refused_with_503_and_can_be_sent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path)
    async with app_client(settings, run_workers=False) as (client, app):
        _, widget_token, _ = await create_workspace(app)
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)
        other = sqlite3.connect(settings.resolved_database_url.split("///", 1)[1], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            refused = await client.post(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers,
                                        json={"text": "hello", "client_id": "m1"})
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "unavailable"
        again = await client.post(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers,
                                  json={"text": "hello", "client_id": "m1"})
        assert again.status_code == 201, again.text
        listed = await client.get(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers)
        assert [m["text"] for m in listed.json()["messages"] if m["author"] == "visitor"] == ["hello"]
