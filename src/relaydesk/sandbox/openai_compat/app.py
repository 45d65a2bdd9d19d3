"""The emulated HTTP API: `POST /v1/chat/completions` and `GET /v1/models`, with Bearer auth and fault injection."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from relaydesk.sandbox.openai_compat.replies import Fault, Reply, TextReply, ToolCall, ToolCalls
from relaydesk.sandbox.openai_compat.sandbox import ChatSandbox, RecordedRequest
from relaydesk.sandbox.openai_compat.wire import ChatRequest, InvalidRequest, error_body, parse_chat_request

_TOKEN = re.compile(r"\s*\S+")
_ARGUMENT_FRAGMENT_CHARS = 12
_FINGERPRINT = "fp_sandbox"


class APIError(Exception):
    """An error answered with the documented `{"error": {...}}` body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body["error"]["message"])
        self.status = status
        self.body = body
        self.headers = headers or {}


class ConnectionDropped(Exception):
    """Raised inside a streamed response so the server cuts the connection mid-stream."""


def create_app(sandbox: ChatSandbox | None = None) -> FastAPI:
    """An ASGI app serving the emulated API; its state is `app.state.sandbox`."""
    state = sandbox or ChatSandbox()
    app = FastAPI(title="relaydesk OpenAI-compatible sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = state

    @app.exception_handler(APIError)
    async def _api_error(_: Request, error: APIError) -> Response:
        return JSONResponse(error.body, status_code=error.status, headers=error.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _unknown_route(request: Request, error: StarletteHTTPException) -> Response:
        message = f"Invalid URL ({request.method} {request.url.path})"
        return JSONResponse(error_body(message, "invalid_request_error"), status_code=error.status_code)

    async def recorded(request: Request) -> Any:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        state.requests.append(RecordedRequest(request.method, request.url.path, dict(request.headers), body))
        return body

    def authorized(request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise APIError(
                401,
                error_body(
                    "No API key was provided. Send it in the Authorization header as 'Bearer YOUR_KEY'.",
                    "invalid_request_error",
                ),
            )
        if key.strip() not in state.api_keys:
            raise APIError(
                401,
                error_body(f"Incorrect API key provided: {_masked(key.strip())}.", "invalid_request_error", code="invalid_api_key"),
            )

    Body = Annotated[Any, Depends(recorded)]
    Authorized = Depends(authorized)

    @app.get("/v1/models", dependencies=[Authorized])
    async def list_models(_: Body) -> dict[str, Any]:
        """List the models the sandbox serves.

        Follows https://developers.openai.com/api/reference/resources/models/methods/list
        """
        return {
            "object": "list",
            "data": [{"id": model, "object": "model", "created": 0, "owned_by": "relaydesk-sandbox"} for model in state.models],
        }

    @app.post("/v1/chat/completions", dependencies=[Authorized], response_model=None)
    async def create_chat_completion(request: Request, body: Body) -> Response | dict[str, Any]:
        """Answer a conversation with a chat completion, or a stream of chunks when `stream` is true.

        Follows https://developers.openai.com/api/reference/resources/chat/subresources/completions/methods/create
        and, for `stream: true`, https://developers.openai.com/api/reference/resources/chat/subresources/completions/streaming-events
        Errors follow https://developers.openai.com/api/docs/guides/error-codes#api-errors
        """
        fault = state.take_fault() or Fault()
        if fault.latency_s:
            await asyncio.sleep(fault.latency_s)
        if fault.hang:
            while not await request.is_disconnected():
                await asyncio.sleep(0.05)
            return Response(status_code=499)
        if fault.status is not None:
            raise _injected_error(fault)
        if body is None:
            raise APIError(400, error_body("The request body is not valid JSON.", "invalid_request_error"))
        try:
            chat = parse_chat_request(body)
        except InvalidRequest as invalid:
            raise APIError(400, error_body(invalid.message, "invalid_request_error", param=invalid.param)) from invalid
        if chat.model not in state.models:
            raise APIError(
                404,
                error_body(
                    f"The model '{chat.model}' does not exist or you do not have access to it.",
                    "invalid_request_error",
                    param="model",
                    code="model_not_found",
                ),
            )
        reply = state.reply_to(chat)
        completion_id = state.next_id("chatcmpl-sandbox")
        calls = _calls(reply, state)
        if chat.stream:
            chunks = _chunks(chat, reply, calls, completion_id)
            return StreamingResponse(
                _event_stream(chunks, fault.drop_after_chunks), media_type="text/event-stream; charset=utf-8"
            )
        return _completion(chat, reply, calls, completion_id)

    return app


def _masked(key: str) -> str:
    return key[:3] + "*" * max(len(key) - 7, 0) + key[-4:] if len(key) > 8 else "*" * len(key)


def _injected_error(fault: Fault) -> APIError:
    status = fault.status or 500
    headers: dict[str, str] = {}
    retry_after = fault.retry_after_s if fault.retry_after_s is not None else (1 if status == 429 else None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if status == 429:
        body = error_body(
            f"Rate limit reached for requests. Please try again in {retry_after}s.", "requests", code="rate_limit_exceeded"
        )
    elif status >= 500:
        body = error_body("The server had an error while processing your request.", "server_error")
    else:
        body = error_body(f"The request failed with status {status}.", "invalid_request_error")
    return APIError(status, body, headers)


def _calls(reply: Reply, state: ChatSandbox) -> list[tuple[str, ToolCall]]:
    """The tool calls of a reply, each with its call id."""
    if isinstance(reply, TextReply):
        return []
    calls = reply.calls if isinstance(reply, ToolCalls) else (reply,)
    return [(state.next_id("call_sandbox"), call) for call in calls]


def _arguments(call: ToolCall) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def _usage(chat: ChatRequest, reply: Reply, calls: list[tuple[str, ToolCall]]) -> dict[str, int]:
    """Word counts standing in for token counts."""
    prompt = sum(len(json.dumps(message.model_dump(exclude_none=True)).split()) for message in chat.messages)
    produced = reply.text if isinstance(reply, TextReply) else " ".join(_arguments(call) for _, call in calls)
    completion = len(produced.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(chat: ChatRequest, reply: Reply, calls: list[tuple[str, ToolCall]], completion_id: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    if isinstance(reply, TextReply):
        message["content"] = reply.text
    else:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": _arguments(call)}}
            for call_id, call in calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": chat.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "stop" if isinstance(reply, TextReply) else "tool_calls",
            }
        ],
        "usage": _usage(chat, reply, calls),
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }


def _chunks(chat: ChatRequest, reply: Reply, calls: list[tuple[str, ToolCall]], completion_id: str) -> list[dict[str, Any]]:
    """The `chat.completion.chunk` objects of a streamed reply: role, content or tool call deltas, finish."""
    include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
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

    chunks: list[dict[str, Any]] = []
    if isinstance(reply, TextReply):
        chunks.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        chunks.extend(chunk({"content": token}) for token in _TOKEN.findall(reply.text))
        chunks.append(chunk({}, "stop"))
    else:
        for index, (call_id, call) in enumerate(calls):
            opening: dict[str, Any] = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            first = {"role": "assistant", "content": None, "refusal": None} if index == 0 else {}
            chunks.append(chunk({**first, "tool_calls": [opening]}))
            arguments = _arguments(call)
            chunks.extend(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[start : start + _ARGUMENT_FRAGMENT_CHARS]}}]})
                for start in range(0, len(arguments), _ARGUMENT_FRAGMENT_CHARS)
            )
        chunks.append(chunk({}, "tool_calls"))
    if include_usage:
        final = chunk({})
        final["choices"] = []
        final["usage"] = _usage(chat, reply, calls)
        chunks.append(final)
    return chunks


async def _event_stream(chunks: list[dict[str, Any]], drop_after: int | None) -> AsyncIterator[bytes]:
    """Server-sent events, one `data:` line per chunk, ending with `data: [DONE]`."""
    for sent, chunk in enumerate(chunks):
        if drop_after is not None and sent >= drop_after:
            raise ConnectionDropped(f"connection dropped after {sent} chunks")
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"
