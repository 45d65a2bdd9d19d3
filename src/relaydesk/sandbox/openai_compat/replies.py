"""What the sandbox model says: scripted replies, and the rules it follows when nothing is scripted."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from relaydesk.sandbox.openai_compat.wire import (
    ChatRequest,
    NamedToolChoice,
    SystemMessage,
    ToolMessage,
    UserMessage,
    text_of,
)


@dataclass(frozen=True, slots=True)
class TextReply:
    """The model answers with this text."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model calls one function. A `str` argument is sent verbatim, so a script can send malformed JSON."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolCalls:
    """The model calls several functions in one turn (parallel tool calls)."""

    calls: tuple[ToolCall, ...]


Reply = TextReply | ToolCall | ToolCalls


_HUMAN_REQUEST = re.compile(
    r"\b(human|real person|a person|someone real|agent|representative|operator|support team|talk to someone"
    r"|speak to someone)\b",
    re.IGNORECASE,
)
_THANKS = re.compile(r"\b(thanks|thank you|that solved it|that's all|that is all|problem solved|works now)\b", re.I)
_PASSAGE_MARKER = re.compile(r"^\[(\d+)\]")
_WORD = re.compile(r"\w+")
_STOPWORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from", "how", "i"),
        *("if", "in", "is", "it", "me", "my", "of", "on", "or", "our", "so", "that", "the", "this", "to", "was"),
        *("we", "what", "when", "where", "which", "who", "why", "will", "with", "you", "your"),
    }
)


def default_reply(request: ChatRequest) -> Reply:
    """Rule-based stand-in for a model: hand off on request, resolve on thanks, else answer from the system prompt."""
    choice = request.tool_choice
    if isinstance(choice, NamedToolChoice):
        return _call(request, choice.function.name)
    last = request.messages[-1]
    if isinstance(last, ToolMessage):
        return TextReply("Here is what I found: " + _tool_results(request))
    user_text = text_of(last.content) if isinstance(last, UserMessage) else ""
    tools_allowed = bool(request.tools) and choice != "none"
    if tools_allowed and "hand_off" in request.tool_names and _HUMAN_REQUEST.search(user_text):
        return _call(request, "hand_off")
    if tools_allowed and "resolve" in request.tool_names and _THANKS.search(user_text):
        return _call(request, "resolve")
    if choice == "required":
        return _call(request, request.tool_names[0])
    return TextReply(_answer_from_context(request, user_text))


def _call(request: ChatRequest, name: str) -> ToolCall:
    """A call to `name` with a `reason` filled in when its schema asks for one."""
    tool = next(tool for tool in request.tools or () if tool.function.name == name)
    properties = (tool.function.parameters or {}).get("properties", {})
    if "reason" not in properties:
        return ToolCall(name)
    allowed = properties["reason"].get("enum")
    if allowed:
        reason = "explicit_request" if "explicit_request" in allowed else allowed[0]
    else:
        reason = "The visitor asked to talk to a person."
    return ToolCall(name, {"reason": reason})


def _tool_results(request: ChatRequest) -> str:
    """The contents of the tool messages that end the conversation."""
    results: list[str] = []
    for message in reversed(request.messages):
        if not isinstance(message, ToolMessage):
            break
        results.insert(0, text_of(message.content))
    return " ".join(results)


def _answer_from_context(request: ChatRequest, question: str) -> str:
    """The system prompt passage sharing the most words with the question, cited by its `[n]` marker."""
    wanted = _terms(question)
    best_score, best = 0, ""
    for passage in _passages(request):
        score = len(wanted & _terms(f"{passage.title} {passage.body}"))
        if score > best_score:
            best_score, best = score, f"{passage.body} [{passage.marker}]"
    return best or "I could not find that in the information I have."


@dataclass(frozen=True, slots=True)
class _Passage:
    marker: str
    title: str
    body: str


def _passages(request: ChatRequest) -> list[_Passage]:
    """System prompt blocks: a line `[n] title` opens passage n, and the lines up to a blank line are its body."""
    prompt = "\n".join(text_of(m.content) for m in request.messages if isinstance(m, SystemMessage))
    passages: list[_Passage] = []
    for block in re.split(r"\n\s*\n", prompt):
        head, _, body = block.strip().partition("\n")
        opened = _PASSAGE_MARKER.match(head)
        if opened and body.strip():
            title = head[opened.end() :].strip()
            passages.append(_Passage(opened.group(1), title, " ".join(body.split())))
    return passages


def _terms(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS}
