"""Messages: committed with a gap-free seq, idempotent on client_id, kept in the right workspace."""

from __future__ import annotations

import asyncio

from relaydesk.config import Settings
from relaydesk.core.conversations import NewMessage
from relaydesk.core.states import Action
from tests.conftest import app_client
from tests.helpers import api, create_workspace, new_session, new_visitor


async def test_concurrent_sends_get_gap_free_sequence_numbers(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        _, widget_token, _ = await create_workspace(app)
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)

        async def send(i: int) -> int:
            response = await client.post(f"/api/widget/v1/sessions/{session_id}/messages",
                                         json={"text": f"m{i}", "client_id": f"c{i}"}, headers=visitor.headers)
            assert response.status_code == 201, response.text
            return int(response.json()["message"]["seq"])

        seqs = await asyncio.gather(*(send(i) for i in range(40)))
        assert sorted(seqs) == list(range(1, 41))
        listed = (await client.get(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers)).json()
        assert [m["seq"] for m in listed["messages"]] == list(range(1, 41))


async def test_a_retried_send_with_the_same_client_id_is_stored_once(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        _, widget_token, _ = await create_workspace(app)
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)
        url = f"/api/widget/v1/sessions/{session_id}/messages"
        body = {"text": "where is my order?", "client_id": "retry-1"}
        responses = await asyncio.gather(*(client.post(url, json=body, headers=visitor.headers) for _ in range(8)))
        assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
        assert len({r.json()["message"]["id"] for r in responses}) == 1
        messages = (await client.get(url, headers=visitor.headers)).json()["messages"]
        assert [m["text"] for m in messages] == ["where is my order?"]


async def test_internal_notes_reach_the_team_but_never_the_visitor(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        _, widget_token, key = await create_workspace(app)
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)
        note = await client.post(f"/api/v1/sessions/{session_id}/messages", headers=api(key),
                                 json={"text": "VIP customer, be nice", "kind": "note", "author_name": "Ana"})
        assert note.status_code == 201
        reply = await client.post(f"/api/v1/sessions/{session_id}/messages", headers=api(key),
                                  json={"text": "Hi, Ana here", "author_name": "Ana"})
        assert reply.status_code == 201
        seen = (await client.get(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers)).json()
        texts = [m["text"] for m in seen["messages"] if m["kind"] == "text"]
        assert texts == ["Hi, Ana here"]
        assert "VIP customer, be nice" not in str(seen)
        team = (await client.get(f"/api/v1/sessions/{session_id}/messages", headers=api(key))).json()
        assert any(m["kind"] == "note" and m["text"] == "VIP customer, be nice" for m in team["messages"])
        session = (await client.get(f"/api/v1/sessions/{session_id}", headers=api(key))).json()["session"]
        assert session["state"] == "human" and session["assignee"] == "Ana"


async def test_lifecycle_records_events_in_transcript_and_timeline(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        workspace_id, widget_token, key = await create_workspace(app)
        visitor = await new_visitor(client, widget_token)
        session_id = await new_session(client, visitor)
        conversations = app.state.runtime.conversations
        await conversations.post_message(workspace_id, session_id, NewMessage(author="visitor", text="help"))
        handed = await client.post(f"/api/v1/sessions/{session_id}/handoff", headers=api(key),
                                   json={"reason": "explicit_request", "summary": "wants a person"})
        assert handed.json()["state"] == "handed_off"
        again = await client.post(f"/api/v1/sessions/{session_id}/handoff", headers=api(key), json={})
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "illegal_transition"
        await conversations.transition(workspace_id, session_id, Action.REP_JOIN, actor="rep", actor_name="Bo")
        resolved = await client.post(f"/api/v1/sessions/{session_id}/resolve", headers=api(key), json={})
        assert resolved.json()["state"] == "resolved" and resolved.json()["resolved_by"] == "rep"
        reopened = await client.post(f"/api/v1/sessions/{session_id}/reopen", headers=api(key), json={})
        assert reopened.json()["state"] == "ai" and reopened.json()["resolved_by"] is None
        messages = (await client.get(f"/api/widget/v1/sessions/{session_id}/messages", headers=visitor.headers)).json()
        assert [m["event"] for m in messages["messages"] if m["kind"] == "event"] == [
            "handed_off", "rep_joined", "resolved", "reopened"]
        detail = (await client.get(f"/api/v1/sessions/{session_id}", headers=api(key))).json()
        actions = [entry["action"] for entry in detail["timeline"]]
        assert actions[0] == "session.created"
        assert "session.handed_off" in actions and "session.resolved" in actions and "session.reopened" in actions


async def test_authenticating_merges_the_anonymous_visitor_without_losing_sessions(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, app):
        _, widget_token, key = await create_workspace(app)
        anonymous = await new_visitor(client, widget_token, name="guest")
        session_id = await new_session(client, anonymous)
        response = await client.post("/api/v1/contacts/authenticate", headers=api(key),
                                     json={"email": "Mia@Example.com", "custom_data": {"plan": "pro"},
                                           "anonymous_token": anonymous.token})
        assert response.status_code == 200, response.text
        verified = response.json()
        assert verified["contact"]["verified"] is True and verified["contact"]["email"] == "mia@example.com"
        headers = {"X-Widget-Token": widget_token, "Authorization": f"Bearer {verified['token']}"}
        listed = (await client.get("/api/widget/v1/sessions", headers=headers)).json()["sessions"]
        assert [s["id"] for s in listed] == [session_id]
        again = await client.post("/api/v1/contacts/authenticate", headers=api(key), json={"email": "mia@example.com"})
        assert again.json()["contact"]["id"] == verified["contact"]["id"]
        assert again.json()["contact"]["custom_data"] == {"plan": "pro"}
