"""What the security tests share: route listings from the app itself, a dashboard sign-in, attack payloads."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx2
from starlette.routing import Mount

from relaydesk.connectors import forms
from relaydesk.connectors.registry import connector_class
from relaydesk.connectors.store import IntegrationStore
from relaydesk.core.conversations import NewMessage
from relaydesk.core.models import ChatSession, OutboxJob, Workspace, utcnow
from relaydesk.core.users import Role, Users
from relaydesk.web.dashboard.workspace_admin import ingest_upload

# Each payload sets `window.__xss` (or opens a dialog) if it ever runs as script in a page.
XSS_PAYLOADS = (
    "<script>window.__xss='script'</script>",
    "<img src=x onerror=\"window.__xss='img'\">",
    "\"><svg onload=\"window.__xss='svg'\">",
    "javascript:window.__xss='link'",
    "' style='background:url(javascript:alert(1))' onmouseover='window.__xss=\"attr\"",
    "</textarea></title><iframe srcdoc=\"<script>parent.__xss='frame'</script>\"></iframe>",
)
XSS = " ".join(XSS_PAYLOADS)
# Quotes and equals signs are valid in an address's local part: an attribute-injection attempt that passes validation.
XSS_EMAIL = "x'onmouseover='window.__xss=1'@example.com"
# Widget settings an admin (or whoever got at the settings) filled with attacks; the widget must show them as text.
WIDGET_ATTACK = {
    "bot_name": XSS_PAYLOADS[1][:60], "agent_name": XSS_PAYLOADS[2][:60], "title": XSS_PAYLOADS[0][:80],
    "bot_avatar_url": XSS_PAYLOADS[3], "agent_avatar_url": XSS_PAYLOADS[3], "greeting": list(XSS_PAYLOADS[:3]),
    "suggested_questions": list(XSS_PAYLOADS), "office_hours_notice": XSS[:300],
    "copy_overrides": {"en": {"ph": XSS_PAYLOADS[2], "send": XSS_PAYLOADS[1]}},
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# What must never appear unescaped in an HTML page or in sanitized rep HTML.
RAW_MARKUP = ("<script", "<img", "<svg", "<iframe", "onerror=", "onload=", "onmouseover=")


def schema_routes(app: Any) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation in the public OpenAPI schema."""
    return {(method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations}


def dashboard_app(app: Any) -> Any:
    """The dashboard, as mounted under /app."""
    return next(route.app for route in app.routes if isinstance(route, Mount) and route.path == "/app")


def dashboard_routes(app: Any) -> set[tuple[str, str]]:
    """(METHOD, path under /app) of every dashboard route."""
    return schema_routes(dashboard_app(app))


async def dashboard_user(app: Any, workspace_id: str, email: str, role: Role = Role.OWNER) -> tuple[str, str]:
    """A member of the workspace with a password; (email, password)."""
    password = f"{email.split('@')[0]}-password-1"
    await Users(app.state.runtime.db).add_member(workspace_id, email, role, password=password, name=email)
    return email, password



class PageMarkup(HTMLParser):
    """What in an HTML page could run script: event-handler attributes, script URLs, inline or foreign scripts,
    frames other than the dashboard's own widget preview."""

    URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "srcdoc", "data", "poster")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "") for name, value in attrs}
        for name, value in values.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            elif name in self.URL_ATTRIBUTES and re.match(r"\s*(javascript|vbscript|data):", value, re.I):
                self.problems.append(f"<{tag} {name}={value[:40]!r}>")
            elif name == "srcdoc":
                self.problems.append(f"<{tag} srcdoc>")
        if tag == "script":
            self._in_script = True
            if not values.get("src", "").startswith("/app/static/"):
                self.problems.append(f"<script src={values.get('src')!r}>")
        if tag in ("iframe", "object", "embed") and not values.get("src", "").startswith("/demo?"):
            self.problems.append(f"<{tag} src={values.get('src')!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline script")


def script_risks(html: str) -> list[str]:
    """Every place in the page where markup could run script; empty for a safe page."""
    parser = PageMarkup()
    parser.feed(html)
    parser.close()
    return parser.problems


async def seed_payloads(client: httpx2.AsyncClient, app: Any, workspace_id: str, widget_token: str,
                        api_key: str) -> str:
    """A session with an attack in every field a visitor, a rep, a helpdesk or an admin can fill, and the other
    places the dashboard shows (knowledge, integrations, team, deliveries, settings); the session's id."""
    runtime = app.state.runtime
    conversations = runtime.conversations
    admin = {"Authorization": f"Bearer {api_key}"}
    contact = await client.post("/api/widget/v1/contacts", headers={"X-Widget-Token": widget_token}, json={
        "name": XSS[:200], "email": XSS_EMAIL, "phone": XSS_PAYLOADS[1][:50],
        "custom_data": {payload[:60]: payload for payload in XSS_PAYLOADS}})
    assert contact.status_code == 201, contact.text
    headers = {"X-Widget-Token": widget_token, "Authorization": f"Bearer {contact.json()['token']}"}
    session_id = (await client.post("/api/widget/v1/sessions", json={}, headers=headers)).json()["id"]
    uploaded = await client.post("/api/widget/v1/uploads", headers=headers,
                                 files={"file": (XSS_PAYLOADS[1] + ".png", PNG, "image/png")})
    assert uploaded.status_code == 201, uploaded.text
    attachment = {key: uploaded.json()[key] for key in ("name", "url", "content_type", "size")}
    sent = await client.post(f"/api/widget/v1/sessions/{session_id}/messages", headers=headers, json={
        "text": XSS, "attachments": [attachment, {"name": XSS[:255], "url": "https://files.example/a.pdf"}],
        "context": {"url": XSS_PAYLOADS[3], "title": XSS}})
    assert sent.status_code == 201, sent.text
    await conversations.post_message(workspace_id, session_id, NewMessage(
        author="ai", text=XSS, data={"confidence": 0.4, "citations": [{"title": XSS, "url": XSS_PAYLOADS[3]}]},
        component={"key": "card", "text": XSS, "data": {"title": XSS, "text": XSS, "url": XSS_PAYLOADS[3],
                                                         "image_url": XSS_PAYLOADS[3], "button": XSS}}))
    handed = await client.post(f"/api/v1/sessions/{session_id}/handoff", headers=admin, json={
        "reason": "explicit_request", "topic": XSS[:200], "summary": XSS})
    assert handed.status_code == 200, handed.text
    for kind in ("text", "note"):
        replied = await client.post(f"/api/v1/sessions/{session_id}/messages", headers=admin,
                                    json={"text": XSS, "kind": kind, "author_name": XSS_PAYLOADS[2]})
        assert replied.status_code == 201, replied.text
    await conversations.post_message(workspace_id, session_id, NewMessage(
        author="rep", text="see below", html=XSS + '<a href="javascript:window.__xss=1">click</a>',
        author_name=XSS_PAYLOADS[1]))
    await conversations.add_link(workspace_id, session_id, integration="hubspot", kind=XSS[:40],
                                 external_id=XSS[:100], url=XSS_PAYLOADS[3])
    assert (await client.post(f"/api/widget/v1/sessions/{session_id}/resolve", headers=headers)).status_code == 200
    rated = await client.post(f"/api/widget/v1/sessions/{session_id}/csat", headers=headers,
                              json={"score": 2, "comment": XSS})
    assert rated.status_code == 200, rated.text
    async with runtime.db.transaction() as tx:
        session = await tx.get(ChatSession, session_id)
        session.tags = list(XSS_PAYLOADS)
        session.summary = XSS
        tx.add(OutboxJob(workspace_id=workspace_id, ordering_key=session_id, session_id=session_id,
                         target="hubspot", kind="connector.send", payload={}, idempotency_key="xss-dead",
                         state="dead", attempts=3, last_error=XSS, finished_at=utcnow()))
    verified = await client.post("/api/v1/contacts/authenticate", headers=admin, json={
        "email": "verified@example.com", "name": XSS[:200], "external_user_id": XSS[:200],
        "custom_data": {XSS_PAYLOADS[0][:60]: XSS}, "anonymous_token": contact.json()["token"]})
    assert verified.status_code == 200, verified.text
    await _seed_workspace(client, app, workspace_id, admin)
    return session_id


async def _seed_workspace(client: httpx2.AsyncClient, app: Any, workspace_id: str, admin: dict[str, str]) -> None:
    """Attacks in what the admin pages list: documents, integrations, keys, members, AI actions and widget copy."""
    runtime = app.state.runtime
    document = f"# {XSS}\n\n{XSS}\n\n## {XSS_PAYLOADS[1]}\n\nReturns take thirty days."
    await ingest_upload(runtime, workspace_id, "attack.md", document.encode(), actor=XSS_PAYLOADS[0])
    settings, secrets = forms.split(connector_class("intercom").settings_model.model_validate(
        {"access_token": "token-0001", "client_secret": "secret-0001", "ai_admin_id": "1"}))
    store = IntegrationStore(runtime.db, runtime.box, runtime.settings.public_url)
    integration = await store.save(workspace_id, "intercom", settings=settings, secret_values=secrets,
                                   is_handoff_target=True, status="error", reason=XSS)
    await store.set_status(integration.id, "error", XSS)
    assert (await client.post("/api/v1/api-keys", headers=admin, json={"name": XSS[:200]})).status_code == 201
    await Users(runtime.db).add_member(workspace_id, XSS_EMAIL, Role.AGENT, password="agent-password-1",
                                       name=XSS[:200])
    rules = await client.put("/api/v1/rules", headers=admin, json={
        "instructions": XSS, "handoff": {"topics": list(XSS_PAYLOADS)},
        "actions": [{"name": "order_lookup", "description": XSS, "url": "https://shop.example/orders",
                     "headers": {"X-Note": XSS}}]})
    assert rules.status_code == 200, rules.text
    async with runtime.db.transaction() as tx:
        workspace = await tx.get(Workspace, workspace_id)
        workspace.settings = {**workspace.settings, "widget": WIDGET_ATTACK}
    runtime.conversations.forget_credentials()
