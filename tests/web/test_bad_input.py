"""Bad input anywhere gets a clear 4xx with a JSON error, writes nothing and never crashes."""

from __future__ import annotations

import httpx2
import pytest
from sqlalchemy import func, select

from relaydesk.config import Settings
from relaydesk.core.models import Message
from tests.conftest import app_client
from tests.helpers import api, create_workspace, new_session, new_visitor


async def message_count(app: object) -> int:
    async with app.state.runtime.db.read() as db:  # type: ignore[attr-defined]
        return int((await db.scalar(select(func.count()).select_from(Message))) or 0)


def assert_json_error(response: httpx2.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["message"] and error["request_id"] == response.headers["x-request-id"]
    if code:
        assert error["code"] == code


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"text": "unterminated', 400, "invalid_json"),
        (b"not json at all", 400, "invalid_json"),
        (b'{"text": 42}', 422, "invalid_request"),
        (b'{"text": "hi", "client_id": "has spaces"}', 422, "invalid_request"),
        (b'{"text": "hi", "unknown_field": 1}', 422, "invalid_request"),
        (b'{"text": "   "}', 422, "invalid_request"),
        (b'["a", "list"]', 422, "invalid_request"),
        (b'{"text": "' + b"x" * 10_001 + b'"}', 422, "invalid_request"),
    ],
)
async def test_malformed_or_wrongly_typed_messages_are_refused(
    settings: Settings, body: bytes, status: int, code: str
) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        _, widget_token, _ = await create_workspace(app)
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)
        response = await client.post(f"/api/widget/v1/sessions/{session_id}/messages", content=body,
                                     headers={**visitor.headers, "content-type": "application/json"})
        assert_json_error(response, status, code)
        assert await message_count(app) == 0


async def test_an_oversized_body_is_refused_before_it_is_read(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        _, widget_token, _ = await create_workspace(app)
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)
        huge = b'{"text": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
        response = await client.post(f"/api/widget/v1/sessions/{session_id}/messages", content=huge,
                                     headers={**visitor.headers, "content-type": "application/json"})
        assert_json_error(response, 413, "payload_too_large")

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(20):
                yield b"x" * (settings.max_body_bytes // 10)

        chunked = await client.post(f"/api/widget/v1/sessions/{session_id}/messages", content=chunks(),
                                    headers={**visitor.headers, "content-type": "application/json"})
        assert_json_error(chunked, 413, "payload_too_large")
        assert await message_count(app) == 0


async def test_unknown_ids_and_other_workspaces_ids_look_the_same_and_leak_nothing(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        _, token_a, key_a = await create_workspace(app, "A")
        _, token_b, key_b = await create_workspace(app, "B")
        visitor_a = await new_visitor(client, token_a)
        session_a = await new_session(client, visitor_a)
        visitor_b = await new_visitor(client, token_b)
        for session_id in ("0" * 32, session_a):
            as_b = await client.post(f"/api/widget/v1/sessions/{session_id}/messages", json={"text": "hi"},
                                     headers=visitor_b.headers)
            assert_json_error(as_b, 404, "not_found")
            admin_b = await client.get(f"/api/v1/sessions/{session_id}", headers=api(key_b))
            assert_json_error(admin_b, 404, "not_found")
            reply_b = await client.post(f"/api/v1/sessions/{session_id}/messages", headers=api(key_b),
                                        json={"text": "hijack"})
            assert_json_error(reply_b, 404, "not_found")
        mixed = await client.get(f"/api/widget/v1/sessions/{session_a}/messages",
                                 headers={"X-Widget-Token": token_b, "Authorization": f"Bearer {visitor_a.token}"})
        assert_json_error(mixed, 401, "unauthorized")
        assert (await client.get(f"/api/v1/sessions/{session_a}", headers=api(key_a))).status_code == 200
        assert await message_count(app) == 0


async def test_an_anonymous_visitor_on_another_device_cannot_read_the_session(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        _, widget_token, _ = await create_workspace(app)
        owner = await new_visitor(client, widget_token)
        session_id = await new_session(client, owner)
        stranger = await new_visitor(client, widget_token)
        response = await client.get(f"/api/widget/v1/sessions/{session_id}/messages", headers=stranger.headers)
        assert_json_error(response, 404)
        listed = (await client.get("/api/widget/v1/sessions", headers=stranger.headers)).json()["sessions"]
        assert listed == []


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "unauthorized"),
        ({"Authorization": "Bearer rdk_wrong"}, "unauthorized"),
        ({"Authorization": "Basic Zm9vOmJhcg=="}, "unauthorized"),
    ],
)
async def test_admin_api_without_a_valid_key_is_refused(settings: Settings, headers: dict[str, str], code: str) -> None:
    async with app_client(settings, run_workers=False) as (client, _app):
        response = await client.get("/api/v1/sessions", headers=headers)
        assert_json_error(response, 401, code)


async def test_widget_calls_without_tokens_or_with_forged_tokens_are_refused(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        _, widget_token, _ = await create_workspace(app)
        assert_json_error(await client.post("/api/widget/v1/contacts", json={}), 401)
        assert_json_error(await client.post("/api/widget/v1/contacts", json={}, headers={"X-Widget-Token": "nope"}),
                          401)
        forged = {"X-Widget-Token": widget_token, "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged"}
        assert_json_error(await client.get("/api/widget/v1/sessions", headers=forged), 401)
        bad_email = await client.post("/api/widget/v1/contacts", json={"email": "not-an-email"},
                                      headers={"X-Widget-Token": widget_token})
        assert_json_error(bad_email, 422)


async def test_wrong_method_and_unknown_path_answer_json(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, _app):
        assert_json_error(await client.get("/api/v1/nothing-here"), 404)
        assert_json_error(await client.delete("/healthz"), 405)
        assert_json_error(await client.get("/api/v1/sessions", params={"limit": "lots"},
                                           headers=api("rdk_x")), 401)
