"""Every state-changing dashboard route refuses a form without the session's CSRF token, with another session's
token, or posted from another site (its `Origin`), and changes nothing.

The routes come from the dashboard's own route table: a new form without a case here fails
`test_every_dashboard_form_has_a_csrf_case`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest_asyncio
from sqlalchemy import select

from relaydesk.core.models import OutboxJob, Workspace, utcnow
from relaydesk.core.users import Users
from relaydesk.web.dashboard.workspace_admin import ingest_upload, knowledge_documents
from tests.conftest import app_client, make_settings
from tests.dashboard.conftest import AGENT, OWNER, add_people, csrf_of, sign_in
from tests.helpers import api, new_session, new_visitor
from tests.security.support import dashboard_routes

ACTION = ('{"name": "order_lookup", "description": "Look up an order by its number", '
          '"url": "https://shop.example/orders"}')
# A form for each POST route, valid enough that it would change something if the CSRF check let it through.
FORMS: dict[str, dict[str, str]] = {
    "/logout": {},
    "/switch": {"workspace_id": "{workspace_id}"},
    "/sessions/{session_id}/messages": {"text": "forged reply", "kind": "text"},
    "/sessions/{session_id}/{action}": {},
    "/settings/integrations/{name}": {"app_id": "1", "client_id": "x", "client_secret": "forged",
                                      "developer_api_key": "forged", "inbox_id": "1"},
    "/settings/ai": {"brain": "offline", "level": "ai_only", "instructions": "Say yes to every refund."},
    "/settings/ai/actions": {"definition": ACTION},
    "/settings/ai/actions/delete": {"name": "order_status"},
    "/settings/widget": {"bot_name": "Forged", "allowed_origins": "https://evil.example"},
    "/knowledge/try": {"question": "How do refunds work?"},
    "/knowledge/sources": {"url": "http://127.0.0.1:9/"},
    "/knowledge/uploads": {},  # with a file, see _post
    "/knowledge/resync": {"source": "{source}"},
    "/knowledge/documents/delete": {"doc_id": "{doc_id}"},
    "/deliveries/{job_id}/retry": {},
    "/deliveries/{job_id}/discard": {},
    "/team/members": {"email": "intruder@example.com", "role": "owner", "password": "intruder-password-1"},
    "/team/members/{user_id}/role": {"role": "owner"},
    "/team/members/{user_id}/remove": {},
    "/team/keys": {"name": "forged key"},
    "/team/keys/{key_id}/revoke": {},
}
LOGIN = "/login"  # protected by its own double-submit cookie, tested below


def test_every_dashboard_form_has_a_csrf_case(tmp_path: Path) -> None:
    from relaydesk.web.app import create_app

    app = create_app(make_settings(f"sqlite:///{tmp_path}/unused.db", tmp_path), configure_logs=False)
    posted = {path for method, path in dashboard_routes(app) if method in ("POST", "PUT", "PATCH", "DELETE")}
    missing = sorted(posted - set(FORMS) - {LOGIN})
    assert not missing, f"dashboard forms without a CSRF case in {Path(__file__).name}: {missing}"


@dataclass
class Signed:
    client: httpx2.AsyncClient
    app: Any
    workspace_id: str
    api_key: str
    csrf: str
    other_csrf: str  # the token of another person's session
    ids: dict[str, str]


@pytest_asyncio.fixture
async def signed(tmp_path: Path) -> AsyncIterator[Signed]:
    """An owner signed in to a workspace with one of everything the forms act on; an agent signed in elsewhere."""
    settings = make_settings(f"sqlite:///{tmp_path}/relaydesk.db", tmp_path)
    async with app_client(settings, run_workers=False) as (client, app):
        runtime = app.state.runtime
        workspace, key = await runtime.conversations.create_workspace("Larkbox")
        await add_people(app, workspace.id)
        visitor = await new_visitor(client, workspace.widget_token)
        session_id = await new_session(client, visitor)
        extra_key = await client.post("/api/v1/api-keys", headers=api(key), json={"name": "backend"})
        await client.put("/api/v1/rules", headers=api(key), json={"actions": [{
            "name": "order_status", "description": "Tell the visitor where their order is",
            "url": "https://shop.example/status"}]})
        await ingest_upload(runtime, workspace.id, "returns.md", b"# Returns\n\nThirty days.", actor="setup")
        async with runtime.db.transaction() as tx:
            job = OutboxJob(workspace_id=workspace.id, ordering_key="hook", target="webhook", kind="webhook.deliver",
                            payload={}, idempotency_key="dead-1", state="dead", attempts=3, last_error="answered 500",
                            finished_at=utcnow())
            tx.add(job)
        members = {u.email: u.id for u, _ in await Users(runtime.db).members(workspace.id)}
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url=str(client.base_url)) as other:
            other_csrf = await sign_in(other, AGENT)
        csrf = await sign_in(client, OWNER)
        ids = {"workspace_id": workspace.id, "session_id": session_id, "action": "take-over", "name": "hubspot",
               "job_id": str(job.id), "user_id": members[AGENT[0]], "key_id": extra_key.json()["id"],
               "doc_id": knowledge_documents(runtime, workspace.id)[0].doc_id, "source": "returns.md"}
        yield Signed(client, app, workspace.id, key, csrf, other_csrf, ids)


async def _state(desk: Signed) -> dict[str, Any]:
    """What any of the forms would change."""
    runtime, admin = desk.app.state.runtime, api(desk.api_key)
    users = Users(runtime.db)
    async with runtime.db.read() as db:
        workspace = await db.get(Workspace, desk.workspace_id)
        jobs = [(j.id, j.state) for j in await db.scalars(select(OutboxJob).order_by(OutboxJob.id))]
    session_id = desk.ids["session_id"]
    return {
        "settings": workspace.settings if workspace else None,
        "jobs": jobs,
        "members": sorted((u.email, r.value) for u, r in await users.members(desk.workspace_id)),
        "audit": len(await users.audit_entries(desk.workspace_id)),
        "keys": (await desk.client.get("/api/v1/api-keys", headers=admin)).json(),
        "session": (await desk.client.get(f"/api/v1/sessions/{session_id}", headers=admin)).json()["session"],
        "messages": (await desk.client.get(f"/api/v1/sessions/{session_id}/messages", headers=admin)).json(),
        "documents": (await desk.client.get("/api/v1/knowledge/documents", headers=admin)).json(),
        "integrations": (await desk.client.get("/api/v1/integrations", headers=admin)).json(),
    }


def _filled(value: str, ids: dict[str, str]) -> str:
    """A form value, or the id its `{placeholder}` names."""
    placeholder = re.fullmatch(r"\{(\w+)\}", value)
    return ids[placeholder.group(1)] if placeholder else value


async def _post(desk: Signed, route: str, csrf: str | None, headers: dict[str, str]) -> httpx2.Response:
    data = {name: _filled(value, desk.ids) for name, value in FORMS[route].items()}
    if csrf is not None:
        data["csrf"] = csrf
    files = {"files": ("faq.md", b"# FAQ\n\nForged.", "text/markdown")} if route == "/knowledge/uploads" else None
    return await desk.client.post("/app" + route.format(**desk.ids), data=data, files=files, headers=headers)


async def test_forms_without_the_token_with_another_sessions_token_or_from_another_site_change_nothing(
    signed: Signed,
) -> None:
    desk = signed
    before = await _state(desk)
    own_origin = str(desk.client.base_url).rstrip("/")
    attempts = [
        ("no token", None, {}),
        ("an empty token", "", {}),
        ("another session's token", desk.other_csrf, {}),
        ("another site", desk.csrf, {"Origin": "https://evil.example"}),
        ("a look-alike site", desk.csrf, {"Origin": own_origin + ".evil.example"}),
        ("an opaque origin", desk.csrf, {"Origin": "null"}),
    ]
    for route in FORMS:
        for name, csrf, headers in attempts:
            response = await _post(desk, route, csrf, headers)
            assert response.status_code == 403, (route, name, response.status_code, response.text[:300])
            assert "text/html" in response.headers["content-type"]
    assert await _state(desk) == before
    # The same form from this site with the right token goes through: the refusals above were the check's doing.
    created = await _post(desk, "/team/keys", desk.csrf, {"Origin": own_origin})
    assert created.status_code == 201
    assert len((await desk.client.get("/api/v1/api-keys", headers=api(desk.api_key))).json()) == 3


async def test_sign_in_from_another_site_is_refused(signed: Signed) -> None:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(signed.app), base_url="http://relaydesk.test") as web:
        form = await web.get("/app/login")
        credentials = {"email": OWNER[0], "password": OWNER[1], "csrf": csrf_of(form.text)}
        refused = await web.post("/app/login", data=credentials, headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403 and "relaydesk_session" not in web.cookies
        forged = await web.post("/app/login", data={**credentials, "csrf": "forged"})
        assert forged.status_code == 403 and "relaydesk_session" not in web.cookies
        fresh = await web.get("/app/login")  # each answer of the login form sets a new token
        credentials["csrf"] = csrf_of(fresh.text)
        accepted = await web.post("/app/login", data=credentials, headers={"Origin": "http://relaydesk.test"})
        assert accepted.status_code == 303 and "relaydesk_session" in web.cookies
