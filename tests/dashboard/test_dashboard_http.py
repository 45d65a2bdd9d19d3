"""The dashboard over HTTP: sign-in, CSRF, roles, secrets, audit, every page, escaping."""

from __future__ import annotations

import asyncio
import time

import pytest

from relaydesk.core.models import OutboxJob, utcnow
from relaydesk.core.users import Users
from tests.dashboard.conftest import AGENT, OWNER, Desk, csrf_of, sign_in
from tests.helpers import api, new_session, new_visitor

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
PAGES = ["/app/inbox", "/app/knowledge", "/app/settings/ai", "/app/settings/integrations", "/app/settings/widget",
         "/app/deliveries", "/app/team"]


async def test_signing_in_opens_the_inbox_with_a_locked_down_cookie(desk: Desk) -> None:
    form = await desk.client.get("/app/login")
    response = await desk.client.post("/app/login", data={"email": OWNER[0], "password": OWNER[1],
                                                          "csrf": csrf_of(form.text), "next": "/app/team"})
    assert response.status_code == 303
    assert response.headers["location"] == "/app/team"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("relaydesk_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/app" in cookie
    page = await desk.client.get("/app/inbox")
    assert "Olivia Owner" in page.text and "Larkbox" in page.text


async def test_a_page_without_a_session_sends_the_browser_to_sign_in(desk: Desk) -> None:
    response = await desk.client.get("/app/settings/ai")
    assert response.status_code == 303
    assert response.headers["location"] == "/app/login?next=/app/settings/ai"


async def test_a_wrong_password_is_refused_and_says_so(desk: Desk) -> None:
    form = await desk.client.get("/app/login")
    response = await desk.client.post("/app/login", data={"email": OWNER[0], "password": "not-the-password",
                                                          "csrf": csrf_of(form.text)})
    assert response.status_code == 401
    assert "do not match an account" in response.text
    assert "relaydesk_session" not in desk.client.cookies


async def test_repeated_failures_make_sign_in_wait_even_with_the_right_password(desk: Desk) -> None:
    for _ in range(5):
        form = await desk.client.get("/app/login")
        await desk.client.post("/app/login", data={"email": OWNER[0], "password": "guess", "csrf": csrf_of(form.text)})
    form = await desk.client.get("/app/login")
    response = await desk.client.post("/app/login", data={"email": OWNER[0], "password": OWNER[1],
                                                          "csrf": csrf_of(form.text)})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "Too many failed attempts" in response.text


async def test_other_requests_are_served_while_a_password_is_checked(desk: Desk) -> None:
    """Argon2 takes a good part of a second per sign-in: it runs beside the event loop, which meanwhile answers other
    requests as fast as ever instead of waiting for it."""
    form = await desk.client.get("/app/login")
    started = time.perf_counter()
    signing_in = asyncio.create_task(desk.client.post("/app/login", data={
        "email": OWNER[0], "password": OWNER[1], "csrf": csrf_of(form.text)}))
    waits: list[float] = []
    while not signing_in.done():
        asked = time.perf_counter()
        await asyncio.sleep(0.01)  # a request arriving a moment later, once the sign-in is under way
        assert (await desk.client.get("/healthz")).status_code == 200
        waits.append(time.perf_counter() - asked)
    assert (await signing_in).status_code == 303
    sign_in_s = time.perf_counter() - started
    assert len(waits) >= 3, waits
    assert max(waits) < sign_in_s / 3, (max(waits), sign_in_s)


async def test_a_login_form_without_its_token_is_refused(desk: Desk) -> None:
    await desk.client.get("/app/login")
    response = await desk.client.post("/app/login", data={"email": OWNER[0], "password": OWNER[1], "csrf": "forged"})
    assert response.status_code == 403
    assert "relaydesk_session" not in desk.client.cookies


async def test_a_form_without_the_csrf_token_changes_nothing(desk: Desk) -> None:
    await sign_in(desk.client, OWNER)
    response = await desk.client.post("/app/team/keys", data={"name": "sneaky"})
    assert response.status_code == 403
    assert "did not come from the dashboard" in response.text
    keys = await desk.client.get("/api/v1/api-keys", headers=api(desk.api_key))
    assert [k["name"] for k in keys.json()] == ["default"]


async def test_an_agent_cannot_change_integrations_keys_or_the_team(desk: Desk) -> None:
    csrf = await sign_in(desk.client, AGENT)
    attempts = [
        ("/app/settings/integrations/hubspot", {"app_id": "1", "client_id": "x"}),
        ("/app/team/keys", {"name": "mine"}),
        ("/app/team/members", {"email": "new@example.com", "role": "owner", "password": "long-enough-1"}),
        ("/app/settings/ai", {"level": "ai_only"}),
    ]
    for path, data in attempts:
        response = await desk.client.post(path, data={**data, "csrf": csrf})
        assert response.status_code == 403, path
        assert "only owners and admins" in response.text
    page = await desk.client.get("/app/settings/integrations")
    assert "Only owners and admins can connect or change integrations" in page.text
    assert ">Test &amp; Save</button>" not in page.text


async def test_every_page_renders_for_an_owner(desk: Desk) -> None:
    await sign_in(desk.client, OWNER)
    for path in PAGES:
        response = await desk.client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert response.headers["x-frame-options"] == "DENY"


async def test_a_new_api_key_is_shown_once_and_the_change_is_audited(desk: Desk) -> None:
    csrf = await sign_in(desk.client, OWNER)
    created = await desk.client.post("/app/team/keys", data={"name": "website backend", "csrf": csrf})
    assert created.status_code == 201
    key = created.text.split('data-new-key', 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]
    assert key.startswith("rdk_")
    assert (await desk.client.get("/api/v1/sessions", headers=api(key))).status_code == 200
    again = await desk.client.get("/app/team")
    assert key not in again.text and key[-4:] in again.text
    entries = await Users(desk.runtime.db).audit_entries(desk.workspace_id)
    assert [(e.actor, e.action) for e in entries] == [(OWNER[0], "api_key.created")]
    assert key not in str(entries[0].after)


async def test_ai_settings_are_validated_saved_and_audited(desk: Desk) -> None:
    csrf = await sign_in(desk.client, OWNER)
    bad = await desk.client.post("/app/settings/ai", data={"csrf": csrf, "level": "quick", "oh_enabled": "on",
                                                           "oh_timezone": "Mars/Olympus", "oh_monday": "09:00-17:00"})
    assert bad.status_code == 422
    assert "unknown time zone" in bad.text
    saved = await desk.client.post("/app/settings/ai", data={
        "csrf": csrf, "brain": "offline", "level": "balanced", "topics": "refunds\nlegal questions",
        "oh_enabled": "on", "oh_timezone": "Europe/Paris", "oh_monday": "09:00-12:00, 13:00-17:00",
        "oh_holidays": "2026-12-25", "out_of_hours": "ai_collects_email", "instructions": "Be brief.",
    })
    assert saved.status_code == 303
    rules = (await desk.client.get("/api/v1/rules", headers=api(desk.api_key))).json()
    assert rules["handoff"]["level"] == "balanced"
    assert rules["handoff"]["topics"] == ["refunds", "legal questions"]
    assert rules["handoff"]["office_hours"]["weekly"]["monday"][1] == {"start": "13:00:00", "end": "17:00:00"}
    page = await desk.client.get("/app/settings/ai")
    assert "AI and handoff settings saved." in page.text
    assert "09:00-12:00, 13:00-17:00" in page.text
    entries = await Users(desk.runtime.db).audit_entries(desk.workspace_id)
    assert entries[0].action == "agent.rules_changed" and entries[0].actor == OWNER[0]


async def test_integration_secrets_are_never_rendered_and_a_failed_check_saves_nothing(desk: Desk) -> None:
    csrf = await sign_in(desk.client, OWNER)
    secret = "dev-key-that-must-not-leak"
    response = await desk.client.post("/app/settings/integrations/hubspot", data={
        "csrf": csrf, "app_id": "42", "client_id": "client", "client_secret": "client-secret-value",
        "developer_api_key": secret, "inbox_id": "1", "api_base_url": "http://127.0.0.1:9/", "_handoff_target": "on",
    })
    assert response.status_code == 422
    assert "Nothing was saved." in response.text
    assert secret not in response.text and "client-secret-value" not in response.text
    listed = await desk.client.get("/api/v1/integrations", headers=api(desk.api_key))
    assert listed.json() == []


async def test_visitor_text_is_escaped_in_the_inbox_and_the_session_page(desk: Desk) -> None:
    visitor = await new_visitor(desk.client, desk.widget_token, name=XSS)
    session_id = await new_session(desk.client, visitor)
    attachment = {"name": XSS, "url": "https://files.example/x.png"}
    sent = await desk.client.post(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers,
                                  json={"text": XSS, "attachments": [attachment]})
    assert sent.status_code in (200, 201), sent.text
    await sign_in(desk.client, OWNER)
    for path in ("/app/inbox", f"/app/sessions/{session_id}"):
        page = await desk.client.get(path)
        assert XSS not in page.text
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page.text
        assert "javascript:alert" not in page.text


async def test_a_rep_reply_from_the_session_page_reaches_the_visitor(desk: Desk) -> None:
    visitor = await new_visitor(desk.client, desk.widget_token)
    session_id = await new_session(desk.client, visitor)
    await desk.client.post(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers,
                           json={"text": "Where is my Dock?"})
    csrf = await sign_in(desk.client, OWNER)
    note = await desk.client.post(f"/app/sessions/{session_id}/messages",
                                  data={"csrf": csrf, "text": "Checking the warehouse", "kind": "note"})
    reply = await desk.client.post(f"/app/sessions/{session_id}/messages",
                                   data={"csrf": csrf, "text": "It ships tomorrow.", "kind": "text"})
    assert note.status_code == reply.status_code == 303
    seen = await desk.client.get(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers)
    texts = [m["text"] for m in seen.json()["messages"]]
    assert "It ships tomorrow." in texts and "Checking the warehouse" not in texts
    page = await desk.client.get(f"/app/sessions/{session_id}")
    assert "Checking the warehouse" in page.text and "With a rep" in page.text


@pytest.mark.parametrize("action, state", [("take-over", "With a rep"), ("resolve", "Resolved")])
async def test_session_actions_go_through_the_conversation_core(desk: Desk, action: str, state: str) -> None:
    visitor = await new_visitor(desk.client, desk.widget_token)
    session_id = await new_session(desk.client, visitor)
    csrf = await sign_in(desk.client, OWNER)
    response = await desk.client.post(f"/app/sessions/{session_id}/{action}", data={"csrf": csrf})
    assert response.status_code == 303
    page = await desk.client.get(f"/app/sessions/{session_id}")
    assert f'state-{"human" if action == "take-over" else "resolved"}">{state}' in page.text


async def test_a_dead_delivery_is_retried_from_the_deliveries_page(desk: Desk) -> None:
    async with desk.runtime.db.transaction() as tx:
        job = OutboxJob(workspace_id=desk.workspace_id, ordering_key="x", target="webhook", kind="webhook.deliver",
                        payload={}, idempotency_key="dead-1", state="dead", attempts=7,
                        last_error="POST https://example.com/hook answered 500", finished_at=utcnow())
        tx.add(job)
    csrf = await sign_in(desk.client, AGENT)
    page = await desk.client.get("/app/deliveries")
    assert "answered 500" in page.text
    response = await desk.client.post(f"/app/deliveries/{job.id}/retry", data={"csrf": csrf})
    assert response.status_code == 303
    after = await desk.client.get("/app/deliveries?state=pending")
    assert f'data-job-id="{job.id}"' in after.text
