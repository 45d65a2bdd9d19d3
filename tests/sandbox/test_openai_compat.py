"""The OpenAI-compatible sandbox answers in the public API's shapes, checks what the API checks, and fails on demand."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam

from relaydesk.sandbox.openai_compat import ChatSandbox, TextReply, ToolCall, ToolCalls, create_app

KEY = "sk-sandbox"
MODEL = "sandbox-chat"
AUTH = {"Authorization": f"Bearer {KEY}"}
SYSTEM_PROMPT = (
    "Answer from the passages.\n\n"
    "[1] Refund policy\nRefunds reach your card within 5 business days.\n\n"
    "[2] Shipping\nWe ship to 40 countries from our Berlin warehouse."
)


@pytest.fixture
def sandbox() -> ChatSandbox:
    return ChatSandbox(api_keys=[KEY], models=[MODEL])


@pytest.fixture
async def client(sandbox: ChatSandbox) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=create_app(sandbox))
    async with httpx2.AsyncClient(transport=transport, base_url="http://llm.test") as http:
        yield http


@pytest.fixture
def sdk(client: httpx2.AsyncClient) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url="http://llm.test/v1", api_key=KEY, http_client=client, max_retries=0)


def chat(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": list(messages), **extra}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


HAND_OFF_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "hand_off",
        "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]},
    },
}


def sse_events(body: str) -> list[str]:
    """The `data:` payloads of a server-sent event stream, checking every event is a single data line."""
    events = [event for event in body.split("\n\n") if event]
    assert all(event.startswith("data: ") and "\n" not in event for event in events)
    return [event.removeprefix("data: ") for event in events]


async def test_missing_api_key_gets_401_with_the_documented_error_body(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/chat/completions", json=chat(user("hi")))

    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert "Authorization" in error["message"]


async def test_wrong_api_key_gets_invalid_api_key_without_echoing_the_key(client: httpx2.AsyncClient) -> None:
    response = await client.get("/v1/models", headers={"Authorization": "Bearer sk-not-the-right-key-1234"})

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key"
    assert "sk-not-the-right-key-1234" not in error["message"]
    assert error["message"].endswith("1234.")


async def test_models_are_listed(client: httpx2.AsyncClient) -> None:
    response = await client.get("/v1/models", headers=AUTH)

    assert response.status_code == 200
    assert response.json() == {
        "object": "list",
        "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "relaydesk"}],
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (json.dumps({"model": MODEL, "messages": []}).encode(), "messages"),
        (json.dumps({"messages": [user("hi")]}).encode(), "model"),
        (json.dumps(chat({"role": "wizard", "content": "hi"})).encode(), "messages.[0]"),
        (json.dumps(chat(user("hi"), temperature=3)).encode(), "temperature"),
        (json.dumps(chat(user("hi"), tool_choice="auto")).encode(), "tool_choice"),
        (
            json.dumps(chat(user("hi"), {"role": "tool", "tool_call_id": "call_1", "content": "x"})).encode(),
            "messages.[1].role",
        ),
        (
            json.dumps(
                chat(user("hi"), tools=[HAND_OFF_TOOL], tool_choice={"type": "function", "function": {"name": "nope"}})
            ).encode(),
            "tool_choice",
        ),
    ],
    ids=[
        "not-json",
        "no-messages",
        "no-model",
        "bad-role",
        "temperature",
        "choice-without-tools",
        "orphan-tool",
        "unknown-choice",
    ],
)
async def test_malformed_requests_get_400_naming_the_parameter(
    client: httpx2.AsyncClient, body: bytes, param: str | None
) -> None:
    response = await client.post(
        "/v1/chat/completions", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param or (param is not None and error["param"].startswith(param))


async def test_unknown_model_gets_404_model_not_found(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions", json={**chat(user("hi")), "model": "gpt-unknown"}, headers=AUTH
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


async def test_unknown_route_gets_an_error_body(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/engines", headers=AUTH)

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (POST /v1/engines)"


async def test_default_model_answers_from_the_system_prompt_with_a_citation(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json=chat({"role": "system", "content": SYSTEM_PROMPT}, user("When will my refund reach my card?")),
        headers=AUTH,
    )

    body = response.json()
    assert response.status_code == 200
    assert body["object"] == "chat.completion"
    assert body["model"] == MODEL
    assert set(body["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "Refunds reach your card within 5 business days. [1]"


async def test_default_model_hands_off_when_the_visitor_asks_for_a_person(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions", json=chat(user("Can I talk to a human please?"), tools=[HAND_OFF_TOOL]), headers=AUTH
    )

    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["id"].startswith("call_")
    assert call["function"]["name"] == "hand_off"
    assert json.loads(call["function"]["arguments"]) == {"reason": "The visitor asked to talk to a person."}


async def test_tool_choice_none_keeps_the_default_model_from_calling_tools(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json=chat(user("I want a human"), tools=[HAND_OFF_TOOL], tool_choice="none"),
        headers=AUTH,
    )

    assert response.json()["choices"][0]["finish_reason"] == "stop"


async def test_streamed_text_arrives_as_chunks_and_ends_with_done(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/v1/chat/completions",
        json=chat({"role": "system", "content": SYSTEM_PROMPT}, user("Where do you ship from?"), stream=True),
        headers=AUTH,
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks][-2:] == [None, "stop"]
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    assert text == "We ship to 40 countries from our Berlin warehouse. [2]"
    assert len(chunks) > 4


async def test_streamed_tool_calls_arrive_as_deltas_the_sdk_assembles(
    sandbox: ChatSandbox, sdk: openai.AsyncOpenAI
) -> None:
    sandbox.queue(ToolCalls((ToolCall("hand_off", {"reason": "frustration"}), ToolCall("hand_off", "{broken"))))

    stream = await sdk.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        tools=[HAND_OFF_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    calls: dict[int, dict[str, str]] = {}
    finish_reasons, usage = [], None
    async for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            finish_reasons.append(choice.finish_reason)
            for piece in choice.delta.tool_calls or ():
                call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                call["id"] += piece.id or ""
                call["name"] += (piece.function and piece.function.name) or ""
                call["arguments"] += (piece.function and piece.function.arguments) or ""

    assert [call["name"] for call in calls.values()] == ["hand_off", "hand_off"]
    assert json.loads(calls[0]["arguments"]) == {"reason": "frustration"}
    assert calls[1]["arguments"] == "{broken"
    assert calls[0]["id"] != calls[1]["id"]
    assert finish_reasons[-1] == "tool_calls"
    assert usage is not None and usage.total_tokens > 0


async def test_scripts_apply_per_conversation_before_per_model(sandbox: ChatSandbox, sdk: openai.AsyncOpenAI) -> None:
    sandbox.queue(TextReply("for the model"), model=MODEL)
    sandbox.queue(TextReply("for session 42"), conversation="session-42")

    other = await sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    mine = await sdk.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], prompt_cache_key="session-42"
    )

    assert other.choices[0].message.content == "for the model"
    assert mine.choices[0].message.content == "for session 42"


async def test_a_rate_limit_fault_answers_429_with_retry_after(sandbox: ChatSandbox, sdk: openai.AsyncOpenAI) -> None:
    sandbox.faults.rate_limit_next(retry_after=7)

    with pytest.raises(openai.RateLimitError) as raised:
        await sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])

    assert raised.value.response.headers["retry-after"] == "7"
    assert raised.value.code == "rate_limit_exceeded"
    assert raised.value.type == "requests"


async def test_a_server_error_fault_answers_with_a_server_error_body(
    sandbox: ChatSandbox, sdk: openai.AsyncOpenAI
) -> None:
    sandbox.faults.fail_next(status=500)

    with pytest.raises(openai.InternalServerError) as raised:
        await sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])

    assert raised.value.type == "server_error"


async def test_a_dropped_stream_cuts_the_connection_mid_stream(
    sandbox: ChatSandbox, client: httpx2.AsyncClient
) -> None:
    sandbox.drop_stream_after(2)

    with pytest.raises(httpx2.RemoteProtocolError):
        await client.post("/v1/chat/completions", json=chat(user("hello there"), stream=True), headers=AUTH)


async def test_received_requests_are_recorded_as_sent(sandbox: ChatSandbox, client: httpx2.AsyncClient) -> None:
    await client.post("/v1/chat/completions", json=chat(user("hi")), headers={"Authorization": "Bearer wrong"})
    await client.post("/v1/chat/completions", json=chat(user("hello"), temperature=0.5), headers=AUTH)

    assert [request.headers["authorization"] for request in sandbox.requests] == ["Bearer wrong", f"Bearer {KEY}"]
    assert sandbox.completions()[1] == chat(user("hello"), temperature=0.5)
