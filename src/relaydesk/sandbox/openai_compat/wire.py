"""The Chat Completions wire format: request validation and the JSON shapes the public API answers with."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

FUNCTION_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"


class _Lenient(BaseModel):
    """Accepts parameters the emulator does not act on, as the real API does."""

    model_config = ConfigDict(extra="allow")


class TextPart(_Lenient):
    type: Literal["text"]
    text: str


Content = str | list[TextPart]


class FunctionDefinition(_Lenient):
    name: str = Field(pattern=FUNCTION_NAME_PATTERN)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Lenient):
    type: Literal["function"]
    function: FunctionDefinition


class CalledFunction(_Lenient):
    name: str
    arguments: str


class ToolCallIn(_Lenient):
    id: str
    type: Literal["function"]
    function: CalledFunction


class SystemMessage(_Lenient):
    role: Literal["system", "developer"]
    content: Content
    name: str | None = None


class UserMessage(_Lenient):
    role: Literal["user"]
    content: Content
    name: str | None = None


class AssistantMessage(_Lenient):
    role: Literal["assistant"]
    content: Content | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None


class ToolMessage(_Lenient):
    role: Literal["tool"]
    content: Content
    tool_call_id: str


Message = Annotated[SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")]


class NamedFunction(_Lenient):
    name: str


class NamedToolChoice(_Lenient):
    type: Literal["function"]
    function: NamedFunction


class StreamOptions(_Lenient):
    include_usage: bool | None = None


class ChatRequest(_Lenient):
    """The body of `POST /v1/chat/completions`, limited to what the emulator checks."""

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    n: int | None = Field(default=None, ge=1, le=1)
    user: str | None = None
    prompt_cache_key: str | None = None

    @field_validator("tools")
    @classmethod
    def _unique_tool_names(cls, tools: list[Tool] | None) -> list[Tool] | None:
        names = [tool.function.name for tool in tools or ()]
        if len(names) != len(set(names)):
            raise ValueError("tool names must be unique")
        return tools

    @property
    def conversation(self) -> str | None:
        """The caller's key for this conversation, if it sent one."""
        return self.prompt_cache_key or self.user

    @property
    def tool_names(self) -> tuple[str, ...]:
        return tuple(tool.function.name for tool in self.tools or ())


class InvalidRequest(Exception):
    """A request the real API would answer with 400 `invalid_request_error`."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def parse_chat_request(body: object) -> ChatRequest:
    """Validate a decoded JSON body, raising `InvalidRequest` the way the API words its 400s."""
    try:
        request = ChatRequest.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        param = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in first["loc"])
        raise InvalidRequest(f"Invalid value for '{param}': {first['msg']}.", param or None) from error
    _check_tool_choice(request)
    _check_tool_messages(request)
    return request


def _check_tool_choice(request: ChatRequest) -> None:
    choice = request.tool_choice
    if choice is None:
        return
    if not request.tools:
        raise InvalidRequest(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", "tool_choice"
        )
    if isinstance(choice, NamedToolChoice) and choice.function.name not in request.tool_names:
        raise InvalidRequest(
            f"Invalid value for 'tool_choice': no function named '{choice.function.name}' was specified in 'tools'.",
            "tool_choice",
        )


def _check_tool_messages(request: ChatRequest) -> None:
    """A `tool` message must answer a call made by the assistant message before it."""
    open_calls: set[str] = set()
    for index, message in enumerate(request.messages):
        if isinstance(message, AssistantMessage):
            open_calls = {call.id for call in message.tool_calls or ()}
        elif isinstance(message, ToolMessage):
            if message.tool_call_id not in open_calls:
                raise InvalidRequest(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceding message with "
                    "'tool_calls'.",
                    f"messages.[{index}].role",
                )
        else:
            open_calls = set()


def text_of(content: Content | None) -> str:
    """The plain text of a message's content, whether a string or a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content)


def error_body(message: str, type_: str, *, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """The documented error object every failed call returns."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def status_error_body(status: int) -> dict[str, Any]:
    """The body the API sends with an error status it chose itself: rate limits, overload, server faults."""
    if status == 429:
        return error_body("Rate limit reached for requests. Please slow down.", "requests", code="rate_limit_exceeded")
    if status >= 500:
        return error_body("The server had an error while processing your request.", "server_error")
    return error_body(f"The request failed with status {status}.", "invalid_request_error")
