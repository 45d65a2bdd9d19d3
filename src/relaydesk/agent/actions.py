"""Workspace-defined AI actions: HTTP calls the model may make, offered as tools and run with time and size caps."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx2
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from relaydesk.agent.decision import Component

HAND_OFF = "hand_off"
RESOLVE = "resolve"
SYSTEM_TOOLS = frozenset({HAND_OFF, RESOLVE})

ParameterType = Literal["string", "integer", "number", "boolean", "object", "array"]
ParameterLocation = Literal["query", "path", "body"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DOT_SEGMENTS = frozenset({".", ".."})  # percent-encoding keeps dots, and a URL resolves these: `..` climbs
_COMPONENT_TEXT_CHARS = 500
_ERROR_EXCERPT_CHARS = 300


class ActionParameter(BaseModel):
    """One input of an action and where it goes in the HTTP request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)
    type: ParameterType = "string"
    description: str = ""
    required: bool = False
    location: ParameterLocation = "query"


class ActionDefinition(BaseModel):
    """An HTTP call a workspace lets the AI make, such as looking up an order; `{name}` in `url` is a path parameter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=5, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")
    description: str = Field(min_length=20, max_length=1024)
    method: HttpMethod = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict, repr=False)  # may carry credentials
    parameters: tuple[ActionParameter, ...] = ()
    component_key: str | None = None  # when set, a successful JSON result is also returned as this widget component

    @field_validator("name")
    @classmethod
    def _not_a_system_tool(cls, name: str) -> str:
        if name in SYSTEM_TOOLS:
            raise ValueError(f"'{name}' is reserved for the AI's own tools")
        return name

    @model_validator(mode="after")
    def _consistent(self) -> ActionDefinition:
        names = [parameter.name for parameter in self.parameters]
        if len(names) != len(set(names)):
            raise ValueError("parameter names must be unique")
        url = urlsplit(_PLACEHOLDER.sub("x", self.url))
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ValueError("url must be an absolute http or https URL")
        placeholders = set(_PLACEHOLDER.findall(urlsplit(self.url).path))
        if placeholders != set(_PLACEHOLDER.findall(self.url)):
            raise ValueError("url placeholders may only appear in the path")
        declared = {p.name for p in self.parameters if p.location == "path"}
        if placeholders != declared:
            raise ValueError("every {placeholder} in the url must be a path parameter, and every path parameter used")
        for parameter in self.parameters:
            if parameter.location == "path" and not parameter.required:
                raise ValueError(f"path parameter '{parameter.name}' must be required")
            if parameter.location == "body" and self.method in ("GET", "DELETE"):
                raise ValueError(f"{self.method} actions cannot take body parameters")
        return self

    def to_tool(self) -> dict[str, Any]:
        """The action as a Chat Completions function tool."""
        properties = {
            p.name: {"type": p.type, "description": p.description} if p.description else {"type": p.type}
            for p in self.parameters
        }
        schema = {
            "type": "object",
            "properties": properties,
            "required": [p.name for p in self.parameters if p.required],
            "additionalProperties": False,
        }
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action call produced: the text the model reads, and a widget component when the action has one."""

    text: str
    ok: bool
    component: Component | None = None


async def execute_action(
    action: ActionDefinition,
    arguments: Mapping[str, Any] | str,
    *,
    client: httpx2.AsyncClient,
    timeout_s: float = 10.0,
    max_response_bytes: int = 65_536,
) -> ActionResult:
    """Call the action's endpoint with the model's arguments; every failure comes back as text the model can read."""
    values = _decoded(arguments)
    if isinstance(values, str):
        return ActionResult(f"Error: {action.name} was not called: {values}", ok=False)
    problems = _problems(action, values)
    if problems:
        return ActionResult(f"Error: {action.name} was not called: {' '.join(problems)}", ok=False)
    url, query, body = _request_parts(action, values)
    if _DOT_SEGMENTS.intersection(urlsplit(url).path.split("/")):
        return ActionResult(f"Error: {action.name} was not called: a path parameter cannot be '.' or '..'.", ok=False)
    try:
        async with (
            asyncio.timeout(timeout_s),
            client.stream(
                action.method, url, params=query, json=body, headers=action.headers, timeout=timeout_s
            ) as response,
        ):
            raw, truncated = await _capped_body(response, max_response_bytes)
    except (TimeoutError, httpx2.TimeoutException):
        return ActionResult(f"Error: {action.name} did not answer within {timeout_s:g} seconds.", ok=False)
    except httpx2.HTTPError as error:
        return ActionResult(f"Error: {action.name} could not be reached: {error}.", ok=False)
    text = raw.decode(response.encoding or "utf-8", errors="replace")
    if not response.is_success:
        excerpt = text[:_ERROR_EXCERPT_CHARS]
        return ActionResult(
            f"Error: {action.name} answered HTTP {response.status_code} {response.reason_phrase}: {excerpt}", ok=False
        )
    if truncated:
        return ActionResult(f"{text}\n[The result was cut at {max_response_bytes} bytes.]", ok=True)
    return ActionResult(text, ok=True, component=_component(action, text))


def _decoded(arguments: Mapping[str, Any] | str) -> dict[str, Any] | str:
    """The arguments as a dict, or the reason they are unusable."""
    if not isinstance(arguments, str):
        return dict(arguments)
    try:
        decoded = json.loads(arguments or "{}")
    except ValueError:
        return "its arguments were not valid JSON."
    if not isinstance(decoded, dict):
        return "its arguments must be a JSON object."
    return decoded


def _problems(action: ActionDefinition, values: Mapping[str, Any]) -> list[str]:
    """Missing required parameters and values of the wrong JSON type, in words."""
    problems: list[str] = []
    for parameter in action.parameters:
        value = values.get(parameter.name)
        if value is None:
            if parameter.required:
                problems.append(f"'{parameter.name}' is required.")
        elif not _has_type(value, parameter.type):
            problems.append(f"'{parameter.name}' must be a {parameter.type}.")
    return problems


def _has_type(value: Any, expected: ParameterType) -> bool:
    if expected == "string":
        return isinstance(value, str | int | float) and not isinstance(value, bool)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "object":
        return isinstance(value, dict)
    return isinstance(value, list)


def _request_parts(
    action: ActionDefinition, values: Mapping[str, Any]
) -> tuple[str, httpx2.QueryParams, dict[str, Any] | None]:
    """The URL with path parameters percent-encoded, the query parameters, and the JSON body, if any."""
    path = {p.name: quote(_as_text(values[p.name]), safe="") for p in action.parameters if p.location == "path"}
    url = _PLACEHOLDER.sub(lambda match: path[match.group(1)], action.url)
    query = [
        (p.name, _as_text(values[p.name]))
        for p in action.parameters
        if p.location == "query" and values.get(p.name) is not None
    ]
    body = {p.name: values[p.name] for p in action.parameters if p.location == "body" and p.name in values}
    return url, httpx2.QueryParams(tuple(query)), body or None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


async def _capped_body(response: httpx2.Response, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of the body, and whether there was more."""
    received = bytearray()
    async for chunk in response.aiter_bytes():
        received.extend(chunk)
        if len(received) > limit:
            return bytes(received[:limit]), True
    return bytes(received), False


def _component(action: ActionDefinition, text: str) -> Component | None:
    """The result as the action's widget component, when it has one and the result is JSON."""
    if action.component_key is None:
        return None
    try:
        decoded = json.loads(text)
    except ValueError:
        return None
    data = decoded if isinstance(decoded, dict) else {"items": decoded}
    return Component(key=action.component_key, data=data, text=_plain_text(data))


def _plain_text(data: dict[str, Any]) -> str:
    """A short plain rendering of a component's data, for reps and text-only channels."""
    lines = [f"{key}: {value}" for key, value in data.items() if isinstance(value, str | int | float | bool)]
    text = "\n".join(lines) if lines else json.dumps(data, ensure_ascii=False)
    return text[:_COMPONENT_TEXT_CHARS]
