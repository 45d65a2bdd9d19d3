"""The widget API: idempotent sends, resumable streams, who sees what, CORS, rate limits, uploads, ratings, safety."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import httpx2
import pytest

from relaydesk.bench.widget import widget_size
from relaydesk.channels.widget.copy import COPY, LANGUAGES
from relaydesk.channels.widget.limits import Rate, RateLimiter, WidgetRates
from relaydesk.channels.widget.pages import STATIC
from relaydesk.config import Settings
from relaydesk.core.conversations import NewMessage
from relaydesk.core.models import Workspace
from tests.conftest import LiveServer, app_client
from tests.helpers import Visitor, api, create_workspace, new_session, new_visitor

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
W = "/api/widget/v1"


async def set_settings(app: Any, widget_token: str, **values: Any) -> None:
    runtime = app.state.runtime
    workspace = await runtime.conversations.workspace_by_widget_token(widget_token)
    async with runtime.db.transaction() as tx:
        row = await tx.get(Workspace, workspace.id)
        row.settings = {**row.settings, **values}
    runtime.conversations.forget_credentials()


async def send(client: httpx2.AsyncClient, visitor: Visitor, session_id: str, text: str, **body: Any) -> Any:
    url = f"{W}/sessions/{session_id}/messages"
    return await client.post(url, json={"text": text, **body}, headers=visitor.headers)


async def test_a_retried_send_with_the_same_client_id_stores_one_message(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):  # no agent: the test writes every reply
        _, token, _ = await create_workspace(app)
        visitor = await new_visitor(client, token)
        session_id = await new_session(client, visitor)
        first = await send(client, visitor, session_id, "Where is my order?", client_id="c-1")
        again = await send(client, visitor, session_id, "Where is my order?", client_id="c-1")
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == {**first.json(), "created": False}
        listed = await client.get(f"{W}/sessions/{session_id}/messages", headers=visitor.headers)
        assert [m["text"] for m in listed.json()["messages"]] == ["Where is my order?"]


async def read_events(response: Any, count: int) -> list[dict[str, str]]:
    """The first `count` message events of an open stream."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if current.get("event") == "message":
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            current[field] = value.lstrip(" ")
    return events


async def test_stream_resumed_with_last_event_id_gets_every_missed_message_once(settings: Settings) -> None:
    async with (
        app_client(settings, run_workers=False) as (_, app),  # the replies here come from the test, not the agent
        LiveServer(app) as server,
        httpx2.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        _, token, _ = await create_workspace(app)
        visitor = await new_visitor(client, token)
        session_id = await new_session(client, visitor)
        conversations = app.state.runtime.conversations
        workspace_id = (await conversations.workspace_by_widget_token(token)).id
        await send(client, visitor, session_id, "first")
        url = f"{W}/sessions/{session_id}/events"
        async with client.stream("GET", url, headers=visitor.headers) as response:
            seen = await asyncio.wait_for(read_events(response, 1), 5)
        missed = [f"missed {n}" for n in range(3)]
        for text in missed:
            await conversations.post_message(workspace_id, session_id, NewMessage(author="ai", text=text))
        resume = {**visitor.headers, "Last-Event-ID": seen[-1]["id"]}
        async with client.stream("GET", url, headers=resume) as response:
            await conversations.post_message(workspace_id, session_id, NewMessage(author="ai", text="live"))
            caught_up = await asyncio.wait_for(read_events(response, 4), 5)
    texts = [json.loads(event["data"])["text"] for event in caught_up]
    assert texts == [*missed, "live"]
    assert [int(event["id"]) for event in caught_up] == [2, 3, 4, 5]


async def test_unverified_contacts_see_their_device_only_and_verified_see_all(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):  # no agent: the test writes every reply
        _, token, key = await create_workspace(app)
        laptop = await new_visitor(client, token)
        laptop_session = await new_session(client, laptop)
        stranger = await new_visitor(client, token)
        hidden = await client.get(f"{W}/sessions/{laptop_session}/messages", headers=stranger.headers)
        assert hidden.status_code == 404

        verified = await client.post(
            "/api/v1/contacts/authenticate",
            json={"email": "ada@example.com", "anonymous_token": laptop.token},
            headers=api(key),
        )
        phone = Visitor(token, verified.json()["token"], verified.json()["contact"]["id"])
        phone_session = await new_session(client, phone)
        on_phone = await client.get(f"{W}/sessions", headers=phone.headers)
        assert {s["id"] for s in on_phone.json()["sessions"]} == {laptop_session, phone_session}
        other_phone = await client.post(
            "/api/v1/contacts/authenticate", json={"email": "ada@example.com"}, headers=api(key)
        )
        second_device = Visitor(token, other_phone.json()["token"], phone.contact_id)
        seen = await client.get(f"{W}/sessions/{phone_session}/messages", headers=second_device.headers)
        assert seen.status_code == 200


async def test_cors_answers_preflights_and_refuses_sites_not_on_the_list(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):  # no agent: the test writes every reply
        _, token, _ = await create_workspace(app)
        shop, other = "https://shop.example", "https://copycat.example"
        preflight = await client.options(
            f"{W}/sessions",
            headers={
                "Origin": shop,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,x-widget-token",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == shop
        assert "X-Widget-Token" in preflight.headers["access-control-allow-headers"]

        anywhere = await client.get(f"{W}/config", headers={"Origin": other, "X-Widget-Token": token})
        assert anywhere.status_code == 200 and anywhere.headers["access-control-allow-origin"] == other

        await set_settings(app, token, allowed_origins=[shop + "/"])
        allowed = await client.get(f"{W}/config", headers={"Origin": shop, "X-Widget-Token": token})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == shop
        refused = await client.post(f"{W}/contacts", json={}, headers={"Origin": other, "X-Widget-Token": token})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in refused.headers
        own = await client.get(f"{W}/config", headers={"Origin": "http://relaydesk.test", "X-Widget-Token": token})
        assert own.status_code == 200


async def test_rate_limits_answer_429_with_retry_after(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):  # no agent: the test writes every reply
        _, token, _ = await create_workspace(app)
        visitor = await new_visitor(client, token)
        session_id = await new_session(client, visitor)
        app.state.widget_rate_limiter = RateLimiter(
            WidgetRates(per_ip=Rate(burst=1000, per_second=100), per_contact=Rate(burst=3, per_second=0.25))
        )
        answers = [await send(client, visitor, session_id, f"message {n}") for n in range(4)]
        assert [a.status_code for a in answers] == [201, 201, 201, 429]
        limited = answers[-1]
        assert limited.headers["retry-after"] == "4"
        assert limited.json()["error"]["code"] == "rate_limited"
        other = await new_visitor(client, token)
        assert (await client.get(f"{W}/sessions", headers=other.headers)).status_code == 200

        app.state.widget_rate_limiter = RateLimiter(
            WidgetRates(per_ip=Rate(burst=2, per_second=0.5), per_contact=Rate(burst=1000, per_second=100))
        )
        by_address = [await client.get(f"{W}/config", headers={"X-Widget-Token": token}) for _ in range(3)]
        assert [a.status_code for a in by_address] == [200, 200, 429]
        assert by_address[-1].headers["retry-after"] == "2"


def test_token_bucket_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    rate = Rate(burst=2, per_second=1.0)
    assert [limiter.take("k", rate) for _ in range(3)] == [0.0, 0.0, 1.0]
    now[0] = 1.0
    assert limiter.take("k", rate) == 0.0


async def upload(client: httpx2.AsyncClient, visitor: Visitor, name: str, content: bytes, kind: str) -> Any:
    return await client.post(f"{W}/uploads", files={"file": (name, io.BytesIO(content), kind)}, headers=visitor.headers)


async def test_uploads_are_checked_by_their_bytes_stored_once_and_served_safely(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):  # no agent: the test writes every reply
        _, token, _ = await create_workspace(app)
        visitor = await new_visitor(client, token)
        first = await upload(client, visitor, "../../screen shot.png", PNG, "image/png")
        again = await upload(client, visitor, "copy.png", PNG, "image/png")
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["name"] == "screen shot.png" and body["content_type"] == "image/png"
        assert body["preview_url"] == body["url"] and body["url"] != again.json()["url"]
        blobs = list((settings.data_dir / "uploads" / "blobs").rglob("*"))
        assert len([b for b in blobs if b.is_file()]) == 1

        served = await client.get(body["url"])
        assert served.status_code == 200 and served.content == PNG
        assert served.headers["content-type"] == "image/png"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert (await client.get(body["url"].replace(body["url"].split("/")[-2], "A" * 22))).status_code == 404

        text = await upload(client, visitor, "notes.txt", b"order 1234, please check", "text/plain")
        assert text.json()["preview_url"] is None
        assert (await client.get(text.json()["url"])).headers["content-disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("name", "content", "kind", "status"),
    [
        ("drawing.svg", b"<svg><script>alert(1)</script></svg>", "image/svg+xml", 415),
        ("page.html", b"<html><script>alert(1)</script></html>", "text/html", 415),
        ("fake.png", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff" * 8, "image/png", 415),
        ("big.png", PNG + b"\x00" * 4096, "image/png", 413),
        ("empty.txt", b"", "text/plain", 415),
    ],
)
async def test_uploads_refused_by_type_or_size_say_why(
    settings: Settings, name: str, content: bytes, kind: str, status: int
) -> None:
    async with app_client(settings, run_workers=False) as (client, app):  # no agent: the test writes every reply
        _, token, _ = await create_workspace(app)
        await set_settings(app, token, widget={"max_upload_bytes": 2048})
        visitor = await new_visitor(client, token)
        refused = await upload(client, visitor, name, content, kind)
        assert refused.status_code == status
        assert refused.json()["error"]["message"]
        assert not list((settings.data_dir / "uploads" / "tmp").glob("*"))


async def resolved_session(client: httpx2.AsyncClient, app: Any, **widget: Any) -> tuple[Visitor, str]:
    _, token, _ = await create_workspace(app)
    if widget:
        await set_settings(app, token, widget=widget)
    visitor = await new_visitor(client, token)
    session_id = await new_session(client, visitor)
    await send(client, visitor, session_id, "Thanks, that was it")
    resolved = await client.post(f"{W}/sessions/{session_id}/resolve", headers=visitor.headers)
    assert resolved.json()["state"] == "resolved" and resolved.json()["resolved_by"] == "visitor"
    again = await client.post(f"{W}/sessions/{session_id}/resolve", headers=visitor.headers)
    assert again.status_code == 200
    return visitor, session_id


async def test_csat_is_stored_once_on_a_resolved_session(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):  # no agent: the test writes every reply
        _, token, _ = await create_workspace(app)
        visitor = await new_visitor(client, token)
        open_session = await new_session(client, visitor)
        early = await client.post(f"{W}/sessions/{open_session}/csat", json={"score": 5}, headers=visitor.headers)
        assert early.status_code == 409

        visitor, session_id = await resolved_session(client, app)
        url = f"{W}/sessions/{session_id}/csat"
        assert (await client.post(url, json={"score": 6}, headers=visitor.headers)).status_code == 422
        rated = await client.post(url, json={"score": 2, "comment": " Slow answers "}, headers=visitor.headers)
        assert rated.status_code == 200
        assert (rated.json()["csat_score"], rated.json()["csat_comment"]) == (2, "Slow answers")
        retry = await client.post(url, json={"score": 2, "comment": "Slow answers"}, headers=visitor.headers)
        assert retry.status_code == 200
        changed = await client.post(url, json={"score": 5}, headers=visitor.headers)
        assert changed.status_code == 409
        messages = (await client.get(f"{W}/sessions/{session_id}/messages", headers=visitor.headers)).json()
        events = [m for m in messages["messages"] if m["event"] == "csat_submitted"]
        assert len(events) == 1 and events[0]["text"] == "Rated 2/5: Slow answers"


@pytest.mark.parametrize(
    ("widget", "body", "status"),
    [
        ({"csat_low_score_comment": "require"}, {"score": 1}, 422),
        ({"csat_low_score_comment": "require"}, {"score": 1, "comment": "Wrong answer"}, 200),
        ({"csat_low_score_comment": "require"}, {"score": 4}, 200),
        ({"csat_low_score_comment": "ask"}, {"score": 1}, 200),
        ({"csat_enabled": False}, {"score": 5}, 409),
    ],
)
async def test_csat_rules_follow_the_workspace_settings(
    settings: Settings, widget: dict[str, Any], body: dict[str, Any], status: int
) -> None:
    async with app_client(settings, run_workers=False) as (client, app):  # no agent: the test writes every reply
        visitor, session_id = await resolved_session(client, app, **widget)
        answer = await client.post(f"{W}/sessions/{session_id}/csat", json=body, headers=visitor.headers)
        assert answer.status_code == status, answer.text


async def test_script_in_a_message_is_stored_and_returned_as_text(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):  # no agent: the test writes every reply
        _, token, _ = await create_workspace(app)
        visitor = await new_visitor(client, token)
        session_id = await new_session(client, visitor)
        attack = "<script>alert(document.cookie)</script>"
        posted = await send(client, visitor, session_id, attack)
        assert posted.json()["message"]["text"] == attack and posted.json()["message"]["html"] is None
        conversations = app.state.runtime.conversations
        workspace_id = (await conversations.workspace_by_widget_token(token)).id
        await conversations.post_message(
            workspace_id,
            session_id,
            NewMessage(author="rep", text="hi", html='<p onclick="x()">hi<script>alert(1)</script></p>'),
        )
        listed = await client.get(f"{W}/sessions/{session_id}/messages", headers=visitor.headers)
        assert [m["html"] for m in listed.json()["messages"]] == [None, "<p>hi</p>"]


async def test_config_speaks_the_visitors_language_with_the_sites_wording(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):  # no agent: the test writes every reply
        _, token, _ = await create_workspace(app)
        await set_settings(
            app,
            token,
            widget={"bot_name": "Lark", "languages": ["en", "de", "ar"], "copy_overrides": {"de": {"ph": "Frag uns"}}},
        )
        headers = {"X-Widget-Token": token}
        german = await client.get(f"{W}/config", headers={**headers, "Accept-Language": "fr;q=0.9, de-AT;q=0.8"})
        assert german.json()["language"] == "de" and german.json()["copy"]["ph"] == "Frag uns"
        assert german.json()["copy"]["send"] == "Senden" and german.json()["bot"]["name"] == "Lark"
        arabic = await client.get(f"{W}/config?lang=ar-EG", headers={**headers, "Accept-Language": "de"})
        assert (arabic.json()["language"], arabic.json()["direction"]) == ("ar", "rtl")
        fallback = await client.get(f"{W}/config", headers={**headers, "Accept-Language": "ja"})
        assert fallback.json()["language"] == "en"


def test_every_widget_string_exists_in_all_fifteen_languages() -> None:
    assert len(LANGUAGES) == 15
    for key, texts in COPY.items():
        assert set(texts) == set(LANGUAGES), key
        for language, text in texts.items():
            assert text.strip(), (key, language)
            assert ("{name}" in text) == ("{name}" in texts["en"]), (key, language)
            assert ("{max}" in text) == ("{max}" in texts["en"]), (key, language)


async def test_widget_script_is_cacheable_and_within_its_budget(settings: Settings) -> None:
    async with app_client(settings) as (client, _):
        served = await client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
        assert served.status_code == 200 and served.headers["content-encoding"] == "gzip"
        assert served.headers["content-type"].startswith("text/javascript")
        assert "max-age" in served.headers["cache-control"]
        unchanged = await client.get("/widget.js", headers={"If-None-Match": served.headers["etag"]})
        assert unchanged.status_code == 304 and not unchanged.content
    size = widget_size()
    assert served.content == (STATIC / "widget.js").read_bytes()
    assert size["within_budget"], size


async def test_config_reports_office_hours_from_the_handoff_settings(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):  # no agent: the test writes every reply
        _, token, _ = await create_workspace(app)
        never_open = {"timezone": "UTC", "weekly": {}}
        await set_settings(
            app, token, agent={"handoff": {"office_hours": never_open}}, widget={"office_hours_notice": "Back at 9"}
        )
        config = await client.get(f"{W}/config", headers={"X-Widget-Token": token})
        assert config.json()["office_hours"] == {"open": False, "notice": "Back at 9"}
