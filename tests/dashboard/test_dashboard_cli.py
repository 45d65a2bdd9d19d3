"""`relaydesk user create` and the demo's owner login."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relaydesk.core.bus import create_bus
from relaydesk.core.conversations import Conversations
from relaydesk.core.db import Database, upgrade
from relaydesk.core.users import Role, Users
from relaydesk.web.dashboard.cli import app, ensure_demo_owner
from tests.conftest import make_settings


async def _workspace(url: str) -> str:
    await upgrade(url)
    db = Database(url)
    workspace, _ = await Conversations(db, create_bus(None)).create_workspace("Larkbox")
    await db.dispose()
    return workspace.id


async def _members(url: str, workspace_id: str) -> list[tuple[str, Role]]:
    db = Database(url)
    members = await Users(db).members(workspace_id)
    signed = await Users(db).authenticate("lead@example.com", "a-long-password")
    await db.dispose()
    assert signed is not None
    return [(user.email, role) for user, role in members]


def test_user_create_adds_an_owner_who_can_sign_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path)
    monkeypatch.setenv("RELAYDESK_DATABASE_URL", settings.resolved_database_url)
    workspace_id = asyncio.run(_workspace(settings.resolved_database_url))
    result = CliRunner().invoke(app, ["create", "Lead@Example.com", "--workspace", workspace_id, "--role", "owner",
                                      "--password-stdin"], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert asyncio.run(_members(settings.resolved_database_url, workspace_id)) == [("lead@example.com", Role.OWNER)]
    short = CliRunner().invoke(app, ["create", "new@example.com", "--workspace", workspace_id, "--password-stdin"],
                               input="short\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output


def test_the_demo_owner_login_is_made_once(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path)
    workspace_id = asyncio.run(_workspace(settings.resolved_database_url))
    first = asyncio.run(ensure_demo_owner(settings, workspace_id))
    again = asyncio.run(ensure_demo_owner(settings, workspace_id))
    assert first == again and first["email"].startswith("owner@")
