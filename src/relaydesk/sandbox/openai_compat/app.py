"""The emulated HTTP API: `POST /v1/chat/completions` and `GET /v1/models`, with Bearer auth and fault injection."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relaydesk.sandbox.faults import ConnectionDropped, FaultInjectionMiddleware, fault_admin_router, route_path
from relaydesk.sandbox.openai_compat.replies import Reply, TextReply, ToolCall, ToolCalls
from relaydesk.sandbox.openai_compat.sandbox import ChatSandbox, RecordedRequest
from relaydesk.sandbox.openai_compat.wire import ChatRequest, InvalidRequest, error_body, parse_chat_request

_TOKEN = re.compile(r"\s*\S+")
_ARGUMENT_FRAGMENT_CHARS = 12
_FINGERPRINT = "fp_sandbox"

Chunk = dict[str, Any]
NumberedCalls = list[tuple[str, ToolCall]]


class APIError(Exception):
    """An error answered with the documented `{"error": {...}}` body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body["error"]["message"])
        self.status = status
        self.body = body


class RequestRecorder:
    """ASGI middleware that records each request's method, path, headers and JSON body, then replays the body."""

    def __init__(self, app: ASGIApp, sandbox: ChatSandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Record one HTTP request and pass it on unchanged."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        raw = b""
        while True:
            message = await receive()
            messages.append(message)
            raw += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        self.sandbox.requests.append(RecordedRequest(scope["method"], route_path(scope), headers, body))

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def create_app(sandbox: ChatSandbox | None = None) -> FastAPI:
    """An ASGI app serving the emulated API; its state is `app.state.sandbox`, its faults `/_sandbox/faults`."""
    state = sandbox or ChatSandbox()
    app = FastAPI(title="relaydesk OpenAI-compatible sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = state
    app.add_middleware(FaultInjectionMiddleware, plan=state.faults)
    app.add_middleware(RequestRecorder, sandbox=state)
    app.include_router(fault_admin_router(lambda request: state.faults))

    @app.exception_handler(APIError)
    async def _api_error(_: Request, error: APIError) -> Response:
        return JSONResponse(error.body, status_code=error.status)

    @app.exception_handler(StarletteHTTPException)
    async def _unknown_route(request: Request, error: StarletteHTTPException) -> Response:
        message = f"Invalid URL ({request.method} {route_path(request.scope)})"
        return JSONResponse(error_body(message, "invalid_request_error"), status_code=error.status_code)

    def authorized(request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            message = "No API key was provided. Send it in the Authorization header as 'Bearer YOUR_KEY'."
            raise APIError(401, error_body(message, "invalid_request_error"))
        if key not in state.api_keys:
            message = f"Incorrect API key provided: {_masked(key)}."
            raise APIError(401, error_body(message, "invalid_request_error", code="invalid_api_key"))

    @app.get("/v1/models", dependencies=[Depends(authorized)])
    async def list_models() -> dict[str, Any]:
        """List the models the sandbox serves.

        Follows https://developers.openai.com/api/reference/resources/models/methods/list
        """
        models = [{"id": model, "object": "model", "created": 0, "owned_by": "relaydesk"} for model in state.models]
        return {"object": "list", "data": models}

    @app.post("/v1/chat/completions", dependencies=[Depends(authorized)], response_model=None)
    async def create_chat_completion(request: Request) -> Response | dict[str, Any]:
        """Answer a conversation with a chat completion, or a stream of chunks when `stream` is true.

        Follows https://developers.openai.com/api/reference/resources/chat/subresources/completions/methods/create
        and, streamed, https://developers.openai.com/api/reference/resources/chat/subresources/completions/streaming-events
        Errors follow https://developers.openai.com/api/docs/guides/error-codes
        """
        try:
            body = json.loads(await request.body())
        except ValueError as error:
            message = "We could not parse the JSON body of your request. Send a valid JSON object."
            raise APIError(400, error_body(message, "invalid_request_error")) from error
        try:
            chat = parse_chat_request(body)
        except InvalidRequest as invalid:
            raise APIError(400, error_body(invalid.message, "invalid_request_error", param=invalid.param)) from invalid
        if chat.model not in state.models:
            message = f"The model '{chat.model}' does not exist or you do not have access to it."
            raise APIError(404, error_body(message, "invalid_request_error", param="model", code="model_not_found"))
        reply = state.reply_to(chat)
        completion_id = state.next_id("chatcmpl-sandbox")
        calls = _numbered_calls(reply, state)
        if not chat.stream:
            return _completion(chat, reply, calls, completion_id)
        chunks = _chunks(chat, reply, calls, completion_id)
        stream = _event_stream(chunks, state.take_stream_drop())
        return StreamingResponse(stream, media_type="text/event-stream; charset=utf-8")

    return app


def _masked(key: str) -> str:
    return f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}" if len(key) > 8 else "*" * len(key)


def _numbered_calls(reply: Reply, state: ChatSandbox) -> NumberedCalls:
    """The tool calls of a reply, each with its call id."""
    if isinstance(reply, TextReply):
        return []
    calls = reply.calls if isinstance(reply, ToolCalls) else (reply,)
    return [(state.next_id("call_sandbox"), call) for call in calls]


def _arguments(call: ToolCall) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def _usage(chat: ChatRequest, reply: Reply, calls: NumberedCalls) -> dict[str, int]:
    """Word counts standing in for token counts."""
    prompt = sum(len(json.dumps(message.model_dump(exclude_none=True)).split()) for message in chat.messages)
    produced = reply.text if isinstance(reply, TextReply) else " ".join(_arguments(call) for _, call in calls)
    completion = len(produced.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(chat: ChatRequest, reply: Reply, calls: NumberedCalls, completion_id: str) -> dict[str, Any]:
    """A `chat.completion` object with one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    if isinstance(reply, TextReply):
        message["content"] = reply.text
    else:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": _arguments(call)}}
            for call_id, call in calls
        ]
    finish_reason = "stop" if isinstance(reply, TextReply) else "tool_calls"
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": chat.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": _usage(chat, reply, calls),
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }


def _chunks(chat: ChatRequest, reply: Reply, calls: NumberedCalls, completion_id: str) -> list[Chunk]:
    """The `chat.completion.chunk` objects of a streamed reply: role, content or tool call deltas, finish."""
    include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> Chunk:
        body: Chunk = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": chat.model,
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if include_usage:
            body["usage"] = None
        return body

    chunks: list[Chunk] = []
    if isinstance(reply, TextReply):
        chunks.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        chunks.extend(chunk({"content": token}) for token in _TOKEN.findall(reply.text))
        chunks.append(chunk({}, "stop"))
    else:
        for index, (call_id, call) in enumerate(calls):
            function = {"name": call.name, "arguments": ""}
            opening = {"index": index, "id": call_id, "type": "function", "function": function}
            role = {"role": "assistant", "content": None, "refusal": None} if index == 0 else {}
            chunks.append(chunk({**role, "tool_calls": [opening]}))
            arguments = _arguments(call)
            for start in range(0, len(arguments), _ARGUMENT_FRAGMENT_CHARS):
                fragment = arguments[start : start + _ARGUMENT_FRAGMENT_CHARS]
                chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}))
        chunks.append(chunk({}, "tool_calls"))
    if include_usage:
        chunks.append({**chunk({}), "choices": [], "usage": _usage(chat, reply, calls)})
    return chunks


async def _event_stream(chunks: list[Chunk], drop_after: int | None) -> AsyncIterator[bytes]:
    """Server-sent events, one `data:` line per chunk, ending with `data: [DONE]`; cut short when a drop is armed."""
    for sent, chunk in enumerate(chunks):
        if drop_after is not None and sent >= drop_after:
            raise ConnectionDropped()
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"
