"""Small steps many tests take: a workspace, a visitor with a session, headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2


@dataclass
class Visitor:
    widget_token: str
    token: str
    contact_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Widget-Token": self.widget_token, "Authorization": f"Bearer {self.token}"}


async def create_workspace(app: Any, name: str = "Acme") -> tuple[str, str, str]:
    """(workspace id, widget token, API key) of a new workspace."""
    workspace, key = await app.state.runtime.conversations.create_workspace(name)
    return workspace.id, workspace.widget_token, key


async def new_visitor(client: httpx2.AsyncClient, widget_token: str, **contact: Any) -> Visitor:
    response = await client.post("/api/widget/v1/contacts", json=contact, headers={"X-Widget-Token": widget_token})
    assert response.status_code == 201, response.text
    body = response.json()
    return Visitor(widget_token, body["token"], body["contact"]["id"])


async def new_session(client: httpx2.AsyncClient, visitor: Visitor) -> str:
    response = await client.post("/api/widget/v1/sessions", json={}, headers=visitor.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def api(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
