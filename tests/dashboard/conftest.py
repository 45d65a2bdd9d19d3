"""Fixtures of the dashboard tests: a workspace with an owner and an agent, and signing in as either."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest_asyncio

from relaydesk.core.users import Role, Users
from tests.conftest import app_client, make_settings
from tests.widget.conftest import browser  # noqa: F401  (one Chromium per module, as the widget tests have it)

OWNER = ("owner@example.com", "owner-password-1")
AGENT = ("agent@example.com", "agent-password-1")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Desk:
    """relaydesk in-process with one workspace, its owner and an agent."""

    client: httpx2.AsyncClient
    app: Any
    workspace_id: str
    widget_token: str
    api_key: str

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


async def add_people(app: Any, workspace_id: str) -> None:
    users = Users(app.state.runtime.db)
    await users.add_member(workspace_id, OWNER[0], Role.OWNER, password=OWNER[1], name="Olivia Owner")
    await users.add_member(workspace_id, AGENT[0], Role.AGENT, password=AGENT[1], name="Arne Agent")


@pytest_asyncio.fixture
async def desk(database_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    """On SQLite and on PostgreSQL."""
    settings = make_settings(database_url, tmp_path)
    async with app_client(settings, run_workers=False) as (client, app):
        workspace, key = await app.state.runtime.conversations.create_workspace("Larkbox")
        await add_people(app, workspace.id)
        yield Desk(client, app, workspace.id, workspace.widget_token, key)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def sign_in(client: httpx2.AsyncClient, who: tuple[str, str]) -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    form = await client.get("/app/login")
    response = await client.post(
        "/app/login", data={"email": who[0], "password": who[1], "csrf": csrf_of(form.text), "next": ""}
    )
    assert response.status_code == 303, response.text
    page = await client.get("/app/inbox")
    assert page.status_code == 200
    return csrf_of(page.text)

