"""The emulator's state: API keys, models, scripted replies, armed faults and the requests it received."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from relaydesk.sandbox.faults import FaultPlan
from relaydesk.sandbox.openai_compat.replies import Reply, default_reply
from relaydesk.sandbox.openai_compat.wire import ChatRequest, status_error_body


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator received it, before any check or fault."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the decoded JSON, or None when the body was empty or not JSON


class ChatSandbox:
    """A deterministic, scriptable chat model behind the emulated API; tests drive it and read what it received."""

    def __init__(self, *, api_keys: Iterable[str] = ("sk-sandbox",), models: Iterable[str] = ("sandbox-chat",)) -> None:
        self.api_keys = frozenset(api_keys)
        self.models = tuple(models)
        self.requests: list[RecordedRequest] = []
        self.faults = FaultPlan(error_body=status_error_body)
        self._scripts: dict[tuple[str, str], deque[Reply]] = {}
        self._stream_drops: deque[int] = deque()
        self._ids = 0

    def queue(self, *replies: Reply, model: str | None = None, conversation: str | None = None) -> None:
        """Script the next replies: for one conversation (its `prompt_cache_key` or `user`), one model, or any call."""
        if conversation is not None:
            key = ("conversation", conversation)
        elif model is not None:
            key = ("model", model)
        else:
            key = ("any", "")
        self._scripts.setdefault(key, deque()).extend(replies)

    def drop_stream_after(self, chunks: int, *, times: int = 1) -> None:
        """Cut the connection of the next `times` streamed completions after `chunks` chunks."""
        self._stream_drops.extend([chunks] * times)

    def take_stream_drop(self) -> int | None:
        """The chunk count after which the stream being served is cut, if a drop is armed."""
        return self._stream_drops.popleft() if self._stream_drops else None

    def reply_to(self, request: ChatRequest) -> Reply:
        """The scripted reply for this call, most specific script first, else the default rules."""
        keys = [("model", request.model), ("any", "")]
        if request.conversation is not None:
            keys.insert(0, ("conversation", request.conversation))
        for key in keys:
            script = self._scripts.get(key)
            if script:
                return script.popleft()
        return default_reply(request)

    def next_id(self, prefix: str) -> str:
        """A predictable identifier, so tests can assert on it."""
        self._ids += 1
        return f"{prefix}{self._ids:06d}"

    def completions(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat completion calls received, oldest first."""
        return [r.body for r in self.requests if r.path == "/v1/chat/completions" and isinstance(r.body, dict)]
