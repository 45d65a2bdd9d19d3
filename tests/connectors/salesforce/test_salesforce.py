"""Salesforce MIAW specifics against the sandbox: identity, routing attributes, the transcript, and the event
stream's guarantees (dropped connections, restarts, takeover by another worker, repeated events)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from relaydesk.connectors.salesforce.stream import StreamService
from relaydesk.core.conversations import session_channel
from relaydesk.core.leases import Leases
from tests.connectors.contract import SalesforceDriver, Stack, stack_with

REP_TEXT = "Hi, Maria here. Refunding the second charge now."


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Stack, SalesforceDriver]]:
    async with stack_with("salesforce", database_url, tmp_path) as (relaydesk, helpdesk):
        await helpdesk.connect(relaydesk)
        yield relaydesk, helpdesk


async def handed_off(relaydesk: Stack, helpdesk: SalesforceDriver, *, verified: bool = False,
                     turns: tuple[tuple[str, str], ...] = ()) -> str:
    visitor = (await relaydesk.verified_visitor("jane@example.com", "Jane Doe") if verified
               else await relaydesk.visitor(name="Jane Doe"))
    session_id = await relaydesk.chat(visitor, *(turns or (("visitor", "I was charged twice"),
                                                          ("ai", "Let me look at your invoice."))))
    await relaydesk.hand_off(session_id)
    await relaydesk.settled(session_id)
    return session_id


async def rep_texts(relaydesk: Stack, session_id: str) -> list[str]:
    return [m["text"] for m in await relaydesk.messages(session_id) if m["author"] == "rep" and m["kind"] == "text"]


async def streaming(relaydesk: Stack, helpdesk: SalesforceDriver) -> None:
    await relaydesk.wait_for(lambda: helpdesk.sandbox.open_streams() > 0)


async def stop_runtime_streams(relaydesk: Stack) -> None:
    """Stop the stream supervisor the stack's runtime started (it lets its leases go, as a graceful stop does)."""
    tasks = relaydesk.app.state.runtime._tasks
    task = next(t for t in tasks if t.get_name() == "salesforce-streams")
    tasks.remove(task)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_anonymous_handoff_routes_a_conversation_with_attributes_and_transcript(
    stack: tuple[Stack, SalesforceDriver],
) -> None:
    relaydesk, helpdesk = stack
    session_id = await handed_off(relaydesk, helpdesk)
    conversation = helpdesk.conversation(session_id)
    attributes = conversation.routing_attributes
    assert attributes["RelaydeskSessionId"] == session_id
    assert attributes["Chat_Consumer_Type"] == "Anonymous"
    assert attributes["_firstName"] == "Jane" and attributes["_lastName"] == "Doe"
    assert attributes["_subject"] == "billing" and "asked for a person" in attributes["Handoff_Reason"]
    assert attributes["Priority"] in ("High", "Medium") and "_email" not in attributes
    assert "/UNAUTH/" in conversation.subject
    texts = [e.text for e in conversation.messages("EndUser")]
    assert texts[0].startswith("relaydesk · AI handoff") and f"/app/sessions/{session_id}" in texts[0]
    assert texts[1:] == ["Visitor: I was charged twice", "AI assistant: Let me look at your invoice."]
    links = {link["kind"]: link for link in (await relaydesk.session(session_id))["links"]}
    assert links["conversation"]["external_id"] == conversation.id
    await relaydesk.wait_for(lambda: _has_link(relaydesk, session_id, conversation.session_id))


async def _has_link(relaydesk: Stack, session_id: str, record_id: str) -> bool:
    links = (await relaydesk.session(session_id))["links"]
    return any(link["kind"] == "messaging_session" and link["external_id"] == record_id for link in links)


async def test_verified_visitor_gets_an_authenticated_token_through_the_identity_jwt(
    stack: tuple[Stack, SalesforceDriver],
) -> None:
    relaydesk, helpdesk = stack
    session_id = await handed_off(relaydesk, helpdesk, verified=True)
    conversation = helpdesk.conversation(session_id)
    assert conversation.subject == "v2/iamessage/AUTH/Relaydesk_Keyset/uid:jane@example.com"
    assert conversation.routing_attributes["Chat_Consumer_Type"] == "Authenticated"
    assert conversation.routing_attributes["_email"] == "jane@example.com"
    lease = await Leases(relaydesk.app.state.runtime.db).get(
        f"salesforce:{helpdesk.integration_id}:{conversation.id}")
    assert lease is not None and lease.secret and "eyJ" not in lease.secret  # the token is kept encrypted


async def test_a_long_transcript_is_attached_as_a_file_and_its_latest_turns_posted(
    stack: tuple[Stack, SalesforceDriver],
) -> None:
    relaydesk, helpdesk = stack
    turns = tuple(("visitor" if i % 2 == 0 else "ai", f"turn {i} " + "x" * 700) for i in range(12))
    session_id = await handed_off(relaydesk, helpdesk, turns=turns)
    conversation = helpdesk.conversation(session_id)
    files = list(conversation.files.values())
    assert [(name, mime) for name, mime, _ in files] == [("transcript.txt", "text/plain")]
    assert all(f"turn {i} " in files[0][2].decode() for i in range(12))
    posted = [e.text for e in conversation.messages("EndUser") if e.text.startswith(("Visitor:", "AI assistant:"))]
    assert 0 < len(posted) < 12 and posted[-1].startswith("AI assistant: turn 11 ")


async def test_visitor_messages_after_handoff_reach_the_session_once(stack: tuple[Stack, SalesforceDriver]) -> None:
    relaydesk, helpdesk = stack
    visitor = await relaydesk.visitor(name="Jane Doe")
    session_id = await relaydesk.chat(visitor, ("visitor", "hello"))
    await relaydesk.hand_off(session_id)
    await relaydesk.say(visitor, session_id, "visitor", "are you there?")
    await relaydesk.settled(session_id)
    conversation = helpdesk.conversation(session_id)
    texts = [e.text.removeprefix("Visitor: ") for e in conversation.messages("EndUser")]
    assert texts[-1] == "are you there?" and texts.count("are you there?") == 1  # in the transcript or after it


async def test_rep_typing_and_joining_reach_the_session(stack: tuple[Stack, SalesforceDriver]) -> None:
    relaydesk, helpdesk = stack
    session_id = await handed_off(relaydesk, helpdesk)
    await streaming(relaydesk, helpdesk)
    conversation_id = helpdesk.conversation(session_id).id
    async with relaydesk.app.state.runtime.bus.subscribe(session_channel(session_id)) as subscription:
        helpdesk.sandbox.accept(conversation_id)
        helpdesk.sandbox.rep_typing(conversation_id)
        seen: list[dict[str, Any]] = []
        while not any(e.get("type") == "typing" for e in seen):
            event = await subscription.get(5)
            assert event is not None, seen
            seen.append(event)
    typing = next(e for e in seen if e.get("type") == "typing")
    assert typing["author"] == "rep" and typing["name"] == "Maria (Support)"
    await relaydesk.wait_for(lambda: _state(relaydesk, session_id, "human"))


async def _state(relaydesk: Stack, session_id: str, state: str) -> bool:
    return bool((await relaydesk.session(session_id))["session"]["state"] == state)


async def test_a_dropped_stream_reconnects_from_its_last_event_and_loses_no_reply(
    stack: tuple[Stack, SalesforceDriver],
) -> None:
    relaydesk, helpdesk = stack
    session_id = await handed_off(relaydesk, helpdesk)
    await streaming(relaydesk, helpdesk)
    conversation_id = helpdesk.conversation(session_id).id
    helpdesk.sandbox.rep_message(conversation_id, "first reply")
    await relaydesk.wait_for(lambda: _has_rep(relaydesk, session_id, "first reply"))
    connects = len(helpdesk.sandbox.stream_connects)
    helpdesk.sandbox.faults.drop_next(2, path="/eventrouter/v1/sse")  # the first reconnects fail too
    assert helpdesk.sandbox.drop_streams() == 1
    helpdesk.sandbox.rep_message(conversation_id, REP_TEXT)  # while nobody listens
    await relaydesk.wait_for(lambda: _has_rep(relaydesk, session_id, REP_TEXT))
    reconnect = helpdesk.sandbox.stream_connects[connects]
    assert reconnect["lastEventId"] > 0  # resumed, not started over
    assert await rep_texts(relaydesk, session_id) == ["first reply", REP_TEXT]  # replayed entries applied once


async def _has_rep(relaydesk: Stack, session_id: str, text: str) -> bool:
    return text in await rep_texts(relaydesk, session_id)


async def test_a_restarted_worker_resumes_the_stream_from_its_cursor(stack: tuple[Stack, SalesforceDriver]) -> None:
    relaydesk, helpdesk = stack
    session_id = await handed_off(relaydesk, helpdesk)
    await streaming(relaydesk, helpdesk)
    await stop_runtime_streams(relaydesk)
    assert helpdesk.sandbox.open_streams() == 0 or await _eventually_closed(helpdesk)
    helpdesk.sandbox.rep_message(helpdesk.conversation(session_id).id, REP_TEXT)
    await asyncio.sleep(0.3)
    assert REP_TEXT not in await rep_texts(relaydesk, session_id)
    restarted = StreamService(relaydesk.app.state.runtime, holder="restarted-worker")
    stop = asyncio.Event()
    runner = asyncio.create_task(restarted.run(stop))
    try:
        await relaydesk.wait_for(lambda: _has_rep(relaydesk, session_id, REP_TEXT))
        await helpdesk.drain()
    finally:
        stop.set()
        await runner
    assert await rep_texts(relaydesk, session_id) == [REP_TEXT]


async def _eventually_closed(helpdesk: SalesforceDriver) -> bool:
    for _ in range(40):
        if helpdesk.sandbox.open_streams() == 0:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_exactly_one_worker_holds_a_stream_and_another_takes_over_when_it_dies(
    stack: tuple[Stack, SalesforceDriver],
) -> None:
    relaydesk, helpdesk = stack
    runtime = relaydesk.app.state.runtime
    await stop_runtime_streams(relaydesk)
    first, second = (StreamService(runtime, holder=name, ttl_s=1.0) for name in ("worker-a", "worker-b"))
    stops = (asyncio.Event(), asyncio.Event())
    runners = [asyncio.create_task(s.run(stop)) for s, stop in zip((first, second), stops, strict=True)]
    try:
        session_id = await handed_off(relaydesk, helpdesk)
        await streaming(relaydesk, helpdesk)
        await asyncio.sleep(1.5)  # several renewals: the stream stays with one worker
        assert len(first.tasks) + len(second.tasks) == 1 and helpdesk.sandbox.open_streams() == 1
        holder, other = (first, second) if first.tasks else (second, first)
        lease = await Leases(runtime.db).get(next(iter(holder.tasks)))
        assert lease is not None and lease.holder == holder.holder

        async def no_release(name: str, who: str) -> None:  # a killed process lets nothing go
            return None

        holder.leases.release = no_release  # type: ignore[method-assign]
        runners[0 if holder is first else 1].cancel()
        helpdesk.sandbox.rep_message(helpdesk.conversation(session_id).id, REP_TEXT)
        await relaydesk.wait_for(lambda: _has_rep(relaydesk, session_id, REP_TEXT), within_s=10)
        assert len(other.tasks) == 1
        assert await rep_texts(relaydesk, session_id) == [REP_TEXT]
        await helpdesk.drain()
    finally:
        for stop in stops:
            stop.set()
        for runner in runners:
            with contextlib.suppress(asyncio.CancelledError):
                await runner


async def test_the_rep_ending_the_session_resolves_it_and_ends_the_stream(
    stack: tuple[Stack, SalesforceDriver],
) -> None:
    relaydesk, helpdesk = stack
    session_id = await handed_off(relaydesk, helpdesk)
    await streaming(relaydesk, helpdesk)
    conversation = helpdesk.conversation(session_id)
    helpdesk.sandbox.rep_message(conversation.id, REP_TEXT)
    helpdesk.sandbox.rep_end(conversation.id)
    await relaydesk.wait_for(lambda: _state(relaydesk, session_id, "resolved"))
    lease = await Leases(relaydesk.app.state.runtime.db).get(f"salesforce:{helpdesk.integration_id}:{conversation.id}")
    await relaydesk.wait_for(lambda: helpdesk.sandbox.open_streams() == 0)
    assert lease is not None
    ended = await Leases(relaydesk.app.state.runtime.db).get(lease.name)
    assert ended is not None and ended.ended_at is not None and ended.secret == ""
    assert await rep_texts(relaydesk, session_id) == [REP_TEXT]


async def test_settings_name_the_field_that_cannot_work(stack: tuple[Stack, SalesforceDriver]) -> None:
    relaydesk, helpdesk = stack
    cases = [
        ({"instance_url": "http://acme.my.salesforce.com"}, "instance_url", "https://"),
        ({"org_id": "12345"}, "org_id", "00D"),
        ({"private_key": "-----BEGIN PRIVATE KEY-----\nMIIB"}, "private_key", "PEM"),
        ({"es_developer_name": "Not a name"}, "es_developer_name", "API name"),
        ({"auth_key_id": "another-key"}, "auth_key_id", "Auth Key ID another-key"),
        ({"es_developer_name": "Other_Deployment"}, "es_developer_name", "Other_Deployment"),
        ({"org_id": "00D5g000004XyZbEAK"}, "org_id", "org ID"),
    ]
    for change, setting, fragment in cases:
        tested = await relaydesk.client.post("/api/v1/integrations/salesforce/test", headers=relaydesk.admin,
                                             json={"settings": {**helpdesk.settings(), **change}})
        if tested.status_code == 422:
            error = tested.json()["error"]
            assert setting in error["message"] and fragment in error["message"], (change, error)
        else:
            body = tested.json()
            assert body["ok"] is False and body["setting"] == setting and fragment in body["reason"], (change, body)
