"""One workspace can never reach another's data: every route that takes an id answers another workspace's id as if
it did not exist, and changes nothing. Visitors see only their own sessions.

The routes come from the app's own OpenAPI schemas (the public API and the dashboard), so a new route with an id in
its path and no probe here fails `test_every_route_with_an_id_in_its_path_is_probed`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest_asyncio
from sqlalchemy import func, select

from relaydesk.connectors import forms
from relaydesk.connectors.registry import connector_class
from relaydesk.connectors.store import IntegrationStore
from relaydesk.core.models import Message, OutboxJob, utcnow
from relaydesk.core.users import Role, Users
from relaydesk.web.dashboard.inbox import ACTIONS
from relaydesk.web.dashboard.workspace_admin import ingest_upload, knowledge_documents
from tests.conftest import app_client, make_settings
from tests.dashboard.conftest import sign_in
from tests.helpers import Visitor, api, new_session, new_visitor
from tests.security.support import dashboard_routes, dashboard_user, schema_routes
from tests.web.test_bad_input import assert_json_error

W = "/api/widget/v1"
HUBSPOT_SETTINGS = {"app_id": "42", "client_id": "b-client", "inbox_id": "1001", "api_base_url": "http://127.0.0.1:9"}
HUBSPOT_SECRETS = {"client_secret": "b-client-secret-0001", "developer_api_key": "b-developer-key-0001"}
INTERCOM_SETTINGS = {"access_token": "a-access-token-0001", "client_secret": "a-client-secret-0001",
                     "ai_admin_id": "1", "api_base_url": "http://127.0.0.1:9"}
ACTION_SECRET = "Bearer b-action-secret-0001"


@dataclass(frozen=True)
class Probe:
    """One request to a route, aimed at workspace B's object while authenticated as workspace A (or as another
    visitor); `status` is what it must answer."""

    method: str
    route: str  # as the schema names it; `{…}` are filled with B's ids
    body: dict[str, Any] | None = None
    status: int = 404
    query: dict[str, str] = field(default_factory=dict)

    def path(self, ids: dict[str, str]) -> str:
        return self.route.format(**ids)


# The admin API with workspace A's key. Integration settings sent without secrets must not borrow B's: the check
# fails (422) instead of succeeding with B's credentials.
API_PROBES = [
    Probe("GET", "/api/v1/sessions/{session_id}"),
    Probe("GET", "/api/v1/sessions/{session_id}/messages"),
    Probe("POST", "/api/v1/sessions/{session_id}/messages", {"text": "hijacked", "kind": "text"}),
    Probe("POST", "/api/v1/sessions/{session_id}/messages", {"text": "hijacked note", "kind": "note"}),
    *(Probe("POST", f"/api/v1/sessions/{{session_id}}/{action}", {}) for action in
      ("take-over", "hand-back", "resolve", "close", "reopen")),
    Probe("POST", "/api/v1/sessions/{session_id}/handoff", {"reason": "explicit_request"}),
    Probe("POST", "/api/v1/deliveries/{job_id}/retry"),
    Probe("POST", "/api/v1/deliveries/{job_id}/discard"),
    Probe("DELETE", "/api/v1/webhooks/{endpoint_id}"),
    Probe("GET", "/api/v1/contacts/{contact_id}"),
    Probe("DELETE", "/api/v1/api-keys/{key_id}"),
    Probe("GET", "/api/v1/integrations/{connector}"),
    Probe("DELETE", "/api/v1/integrations/{connector}"),
    Probe("POST", "/api/v1/integrations/{connector}/check"),
    Probe("POST", "/api/v1/integrations/{connector}/knowledge/sync"),
    Probe("POST", "/api/v1/integrations/{connector}/test", {"settings": HUBSPOT_SETTINGS}, status=422),
    Probe("PUT", "/api/v1/integrations/{connector}", {"settings": HUBSPOT_SETTINGS}, status=422),
    # The callback trusts only its signed `state`: a token this server signed for anything else names no integration.
    Probe("GET", "/api/v1/integrations/{connector}/oauth/callback", query={"code": "stolen", "state": "{a_token}"}),
    # B's integration with A's webhook key.
    Probe("POST", "/webhooks/{connector}/{integration_id}", {}, status=401, query={"key": "{a_webhook_key}"}),
]
# The widget API as a visitor of workspace A (A's widget token, A's contact token) asking for B's session.
WIDGET_PROBES = [
    Probe("GET", f"{W}/sessions/{{session_id}}/messages"),
    Probe("POST", f"{W}/sessions/{{session_id}}/messages", {"text": "hijacked"}),
    Probe("GET", f"{W}/sessions/{{session_id}}/events"),
    Probe("POST", f"{W}/sessions/{{session_id}}/resolve"),
    Probe("POST", f"{W}/sessions/{{session_id}}/csat", {"score": 1, "comment": "hijacked"}),
]
# The dashboard signed in as A's owner (paths under /app; forms carry A's CSRF token).
DASHBOARD_PROBES = [
    Probe("GET", "/sessions/{session_id}"),
    Probe("GET", "/sessions/{session_id}/stream"),
    Probe("POST", "/sessions/{session_id}/messages", {"text": "hijacked", "kind": "text"}),
    *(Probe("POST", f"/sessions/{{session_id}}/{action}", {}) for action in sorted(ACTIONS)),
    Probe("POST", "/deliveries/{job_id}/retry", {}),
    Probe("POST", "/deliveries/{job_id}/discard", {}),
    Probe("POST", "/team/members/{user_id}/role", {"role": "owner"}),
    Probe("POST", "/team/members/{user_id}/remove", {}),
    Probe("POST", "/team/keys/{key_id}/revoke", {}),
    Probe("POST", "/settings/integrations/{connector}", {**HUBSPOT_SETTINGS, "_handoff_target": "on"}, status=422),
    Probe("POST", "/knowledge/documents/delete", {"doc_id": "{doc_id}"}),
    Probe("POST", "/switch", {"workspace_id": "{workspace_id}"}, status=403),
]
# Schema names whose placeholder differs from the probe's.
ROUTE_ALIASES = {"/sessions/{session_id}/{action}": "/sessions/{session_id}/take-over",
                 "/settings/integrations/{name}": "/settings/integrations/{connector}"}


def _probed(probes: list[Probe]) -> set[tuple[str, str]]:
    return {(p.method, p.route) for p in probes}


def test_every_route_with_an_id_in_its_path_is_probed(tmp_path: Path) -> None:
    from relaydesk.web.app import create_app

    app = create_app(make_settings(f"sqlite:///{tmp_path}/unused.db", tmp_path), configure_logs=False)
    unprobed = sorted(
        f"{method} {path}" for method, path in schema_routes(app)
        if "{" in path and (method, path) not in _probed(API_PROBES + WIDGET_PROBES)
    ) + sorted(
        f"{method} /app{path}" for method, path in dashboard_routes(app)
        if "{" in path and (method, ROUTE_ALIASES.get(path, path)) not in _probed(DASHBOARD_PROBES)
    )
    assert not unprobed, "routes taking an id without a tenancy probe in tests/security/test_tenancy.py: " + (
        ", ".join(unprobed))


async def _saved_integration(runtime: Any, workspace_id: str, connector: str, values: dict[str, Any]) -> Any:
    """An integration stored as Test & Save would store it (without asking the helpdesk)."""
    settings, secrets = forms.split(connector_class(connector).settings_model.model_validate(values))
    store = IntegrationStore(runtime.db, runtime.box, runtime.settings.public_url)
    return await store.save(workspace_id, connector, settings=settings, secret_values=secrets, is_handoff_target=True,
                            status="active", reason=None)


@dataclass
class Tenant:
    """A workspace with one of everything an id can name."""

    workspace_id: str
    widget_token: str
    api_key: str
    visitor: Visitor
    ids: dict[str, str]


async def _tenant(client: httpx2.AsyncClient, app: Any, name: str) -> Tenant:
    runtime = app.state.runtime
    workspace, key = await runtime.conversations.create_workspace(name)
    admin = api(key)
    visitor = await new_visitor(client, workspace.widget_token, name=f"{name} visitor", email=f"{name}@example.com")
    session_id = await new_session(client, visitor)
    sent = await client.post(f"{W}/sessions/{session_id}/messages", headers=visitor.headers,
                             json={"text": f"{name} asks about an invoice"})
    assert sent.status_code == 201, sent.text
    handed = await client.post(f"/api/v1/sessions/{session_id}/handoff", headers=admin,
                               json={"reason": "explicit_request", "summary": f"{name} wants a person"})
    assert handed.status_code == 200, handed.text
    endpoint = await client.post("/api/v1/webhooks", headers=admin, json={"url": f"https://{name}.example/hook"})
    extra_key = await client.post("/api/v1/api-keys", headers=admin, json={"name": f"{name} backend"})
    rules = await client.put("/api/v1/rules", headers=admin, json={"actions": [{
        "name": "order_lookup" if name == "b" else "order_status",
        "description": "Look up an order by its number for the visitor",
        "url": f"https://{name}.example/orders", "headers": {"Authorization": f"{ACTION_SECRET}-{name}"}}]})
    assert rules.status_code == 200, rules.text
    async with runtime.db.transaction() as tx:
        job = OutboxJob(workspace_id=workspace.id, ordering_key=session_id, session_id=session_id, target="webhook",
                        kind="webhook.deliver", payload={}, idempotency_key=f"{name}-dead", state="dead",
                        attempts=9, last_error="answered 500", finished_at=utcnow())
        tx.add(job)
    integration = await _saved_integration(runtime, workspace.id, *(
        ("hubspot", {**HUBSPOT_SETTINGS, **HUBSPOT_SECRETS}) if name == "b" else ("intercom", INTERCOM_SETTINGS)))
    ids = {"workspace_id": workspace.id, "session_id": session_id, "contact_id": visitor.contact_id,
           "job_id": str(job.id), "endpoint_id": endpoint.json()["id"], "key_id": extra_key.json()["id"],
           "connector": "hubspot", "integration_id": integration.id, "webhook_key": integration.webhook_secret,
           "token": visitor.token}
    if name == "b":  # the attacker's own member and documents play no part
        member = await Users(runtime.db).add_member(workspace.id, "b-agent@example.com", Role.AGENT,
                                                    password="b-agent-password-1")
        await ingest_upload(runtime, workspace.id, "returns.md", b"# Returns\n\nThirty days.", actor="setup")
        ids.update(user_id=member.id, doc_id=knowledge_documents(runtime, workspace.id)[0].doc_id)
    return Tenant(workspace.id, workspace.widget_token, key, visitor, ids)


@dataclass
class World:
    client: httpx2.AsyncClient
    app: Any
    a: Tenant
    b: Tenant

    @property
    def targets(self) -> dict[str, str]:
        """B's ids, plus what A brings to the attack."""
        return {**self.b.ids, "a_token": self.a.visitor.token, "a_webhook_key": self.a.ids["webhook_key"]}


@pytest_asyncio.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """Workspaces A and B on SQLite and on PostgreSQL, without workers: nothing changes unless a request does it."""
    async with app_client(make_settings(database_url, tmp_path), run_workers=False) as (client, app):
        yield World(client, app, await _tenant(client, app, "a"), await _tenant(client, app, "b"))


async def _snapshot(world: World) -> dict[str, Any]:
    """Everything of B's that the probes aim at, as B's own API key and the database see it."""
    ids, admin, client = world.b.ids, api(world.b.api_key), world.client
    seen: dict[str, Any] = {}
    for path in (f"/api/v1/sessions/{ids['session_id']}", f"/api/v1/sessions/{ids['session_id']}/messages",
                 f"/api/v1/contacts/{ids['contact_id']}", "/api/v1/deliveries", "/api/v1/webhooks",
                 "/api/v1/api-keys", "/api/v1/rules", "/api/v1/knowledge/documents", "/api/v1/handoffs"):
        response = await client.get(path, headers=admin)
        assert response.status_code == 200, (path, response.text)
        seen[path] = response.json()
    integrations = (await client.get("/api/v1/integrations", headers=admin)).json()
    seen["integrations"] = [{k: v for k, v in i.items() if k != "authorize_url"} for i in integrations]
    runtime = world.app.state.runtime
    store = IntegrationStore(runtime.db, runtime.box, runtime.settings.public_url)
    seen["secrets"] = [store.secrets(i) for i in await store.list(world.b.workspace_id)]
    seen["members"] = [(u.email, r.value) for u, r in await Users(runtime.db).members(world.b.workspace_id)]
    async with runtime.db.read() as db:
        seen["messages"] = await db.scalar(select(func.count()).select_from(Message))
    return seen


async def _answer(client: httpx2.AsyncClient, probe: Probe, targets: dict[str, str], prefix: str,
                  headers: dict[str, str], form: dict[str, str] | None = None) -> httpx2.Response:
    query = {name: value.format(**targets) for name, value in probe.query.items()}
    url = prefix + probe.path(targets)
    if form is not None:
        data = {name: str(value).format(**targets) for name, value in (probe.body or {}).items()}
        return await client.request(probe.method, url, params=query, data={**data, **form}, headers=headers)
    return await client.request(probe.method, url, params=query, json=probe.body, headers=headers)


async def test_another_workspaces_ids_are_refused_by_every_route_and_change_nothing(world: World) -> None:
    client, targets = world.client, world.targets
    before = await _snapshot(world)
    for probe in API_PROBES:
        response = await _answer(client, probe, targets, "", api(world.a.api_key))
        assert_json_error(response, probe.status)
        assert HUBSPOT_SECRETS["client_secret"] not in response.text
    for probe in WIDGET_PROBES:
        response = await _answer(client, probe, targets, "", world.a.visitor.headers)
        assert_json_error(response, probe.status, "not_found")
        # A's contact token presented with B's widget token is no one of B's.
        mixed = {"X-Widget-Token": world.b.widget_token, "Authorization": f"Bearer {world.a.visitor.token}"}
        assert_json_error(await _answer(client, probe, targets, "", mixed), 401, "unauthorized")

    owner = await dashboard_user(world.app, world.a.workspace_id, "owner-a@example.com")
    csrf = await sign_in(client, owner)
    for probe in DASHBOARD_PROBES:
        form = {"csrf": csrf} if probe.method == "POST" else None
        response = await _answer(client, probe, targets, "/app", {}, form)
        assert response.status_code == probe.status, (probe, response.status_code, response.text[:300])
        assert response.headers["content-type"].startswith("text/html")
        assert HUBSPOT_SECRETS["developer_api_key"] not in response.text

    # Ids in queries filter within the caller's workspace only.
    admin_a = api(world.a.api_key)
    for path, params, key in (("/api/v1/sessions", {"contact_id": targets["contact_id"]}, "sessions"),
                              ("/api/v1/deliveries", {"session_id": targets["session_id"]}, "deliveries"),
                              ("/api/v1/handoffs", {"session_id": targets["session_id"]}, "handoffs"),
                              ("/api/v1/contacts", {"email": "b@example.com"}, "contacts")):
        listed = await client.get(path, params=params, headers=admin_a)
        assert listed.status_code == 200 and listed.json()[key] == [], (path, listed.text)
    # B's knowledge base is not searched for A, nor listed.
    for key, hits in ((world.b.api_key, 1), (world.a.api_key, 0)):
        found = await client.get("/api/v1/knowledge/search", params={"q": "returns thirty days"}, headers=api(key))
        assert found.status_code == 200 and len(found.json()["hits"]) == hits, found.text
    assert (await client.get("/api/v1/knowledge/documents", headers=admin_a)).json()["documents"] == []
    # B's anonymous visitor cannot be merged into a contact of A's.
    merged = await client.post("/api/v1/contacts/authenticate", headers=admin_a,
                               json={"email": "b@example.com", "anonymous_token": targets["token"]})
    assert merged.status_code == 200
    assert (await client.get("/api/v1/sessions", headers=admin_a,
                             params={"contact_id": merged.json()["contact"]["id"]})).json()["sessions"] == []
    # Sending the mask back under the name of B's action (A has none of that name) cannot pick up B's header: it is
    # refused, as a mask that stands for no saved value.
    masked = (await client.get("/api/v1/rules", headers=admin_a)).json()
    masked["actions"] = [{**masked["actions"][0], "name": "order_lookup"}]
    assert_json_error(await client.put("/api/v1/rules", headers=admin_a, json=masked), 422, "invalid_request")

    after = await _snapshot(world)
    assert after == before


@pytest_asyncio.fixture
async def desk(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[httpx2.AsyncClient, str, str]]:
    """One workspace on SQLite and on PostgreSQL: (client, widget token, API key)."""
    async with app_client(make_settings(database_url, tmp_path), run_workers=False) as (client, app):
        workspace, key = await app.state.runtime.conversations.create_workspace("Larkbox")
        yield client, workspace.widget_token, key


async def _transcript(client: httpx2.AsyncClient, key: str, session_id: str) -> Any:
    detail = await client.get(f"/api/v1/sessions/{session_id}", headers=api(key))
    messages = await client.get(f"/api/v1/sessions/{session_id}/messages", headers=api(key))
    return detail.json()["session"], messages.json()["messages"]


async def test_a_visitor_cannot_reach_another_visitors_session(desk: tuple[httpx2.AsyncClient, str, str]) -> None:
    """Same workspace, another device: every session route answers 404, and nothing is written."""
    client, widget_token, key = desk
    owner = await new_visitor(client, widget_token, name="Owner")
    session_id = await new_session(client, owner)
    await client.post(f"{W}/sessions/{session_id}/messages", headers=owner.headers, json={"text": "private"})
    stranger = await new_visitor(client, widget_token)
    before = await _transcript(client, key, session_id)
    for probe in WIDGET_PROBES:
        response = await _answer(client, probe, {"session_id": session_id}, "", stranger.headers)
        assert_json_error(response, 404, "not_found")
    listed = await client.get(f"{W}/sessions", headers=stranger.headers)
    assert listed.json()["sessions"] == []
    assert await _transcript(client, key, session_id) == before


async def test_declaring_a_verified_contacts_email_gives_no_access_to_their_sessions(
    desk: tuple[httpx2.AsyncClient, str, str],
) -> None:
    client, widget_token, key = desk
    verified = await client.post("/api/v1/contacts/authenticate", headers=api(key),
                                 json={"email": "ada@example.com", "name": "Ada"})
    ada = Visitor(widget_token, verified.json()["token"], verified.json()["contact"]["id"])
    ada_session = await new_session(client, ada)
    said = await client.post(f"{W}/sessions/{ada_session}/messages", headers=ada.headers,
                             json={"text": "My card ends in 4242"})
    assert said.status_code == 201
    before = await _transcript(client, key, ada_session)

    for declared in ("ada@example.com", "ADA@example.com"):
        impostor = await new_visitor(client, widget_token, name="Ada", email=declared)
        assert impostor.contact_id != ada.contact_id
        listed = await client.get(f"{W}/sessions", headers=impostor.headers)
        assert listed.json()["sessions"] == []
        for probe in WIDGET_PROBES:
            response = await _answer(client, probe, {"session_id": ada_session}, "", impostor.headers)
            assert_json_error(response, 404, "not_found")
        # A session opened under the declared email stays the impostor's: the verified contact does not get it.
        await new_session(client, impostor)
        ada_sees = await client.get(f"{W}/sessions", headers=ada.headers)
        assert [s["id"] for s in ada_sees.json()["sessions"]] == [ada_session]
    contact = (await client.get(f"/api/v1/contacts/{ada.contact_id}", headers=api(key))).json()
    assert contact["contact"]["verified"] is True and [s["id"] for s in contact["sessions"]] == [ada_session]
    assert await _transcript(client, key, ada_session) == before
