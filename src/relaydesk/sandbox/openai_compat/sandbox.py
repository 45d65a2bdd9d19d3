"""The emulator's state: API keys, models, scripted replies, injected faults and the requests it received."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from relaydesk.sandbox.openai_compat.replies import Fault, Reply, default_reply
from relaydesk.sandbox.openai_compat.wire import ChatRequest


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator received it, before any check."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the decoded JSON, or None when the body was empty or not JSON


@dataclass(slots=True)
class _ArmedFault:
    fault: Fault
    remaining: int | None  # None: until cleared


class ChatSandbox:
    """A deterministic, scriptable chat model behind the emulated API; tests drive it and read what it received."""

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = ("sk-sandbox",),
        models: Iterable[str] = ("sandbox-chat",),
    ) -> None:
        self.api_keys = frozenset(api_keys)
        self.models = tuple(models)
        self.requests: list[RecordedRequest] = []
        self._scripts: dict[tuple[str, str | None], deque[Reply]] = {}
        self._faults: deque[_ArmedFault] = deque()
        self._ids = 0

    def queue(self, *replies: Reply, model: str | None = None, conversation: str | None = None) -> None:
        """Script the next replies: for one conversation (its `prompt_cache_key` or `user`), one model, or any call."""
        if conversation is not None:
            key = ("conversation", conversation)
        elif model is not None:
            key = ("model", model)
        else:
            key = ("any", None)
        self._scripts.setdefault(key, deque()).extend(replies)

    def inject(self, fault: Fault, *, times: int | None = 1) -> None:
        """Apply `fault` to the next `times` chat completion calls (every call until cleared when None)."""
        self._faults.append(_ArmedFault(fault, times))

    def clear_faults(self) -> None:
        self._faults.clear()

    def take_fault(self) -> Fault | None:
        """The fault for the call being served, if one is armed."""
        if not self._faults:
            return None
        armed = self._faults[0]
        if armed.remaining is not None:
            armed.remaining -= 1
            if armed.remaining <= 0:
                self._faults.popleft()
        return armed.fault

    def reply_to(self, request: ChatRequest) -> Reply:
        """The scripted reply for this call, most specific script first, else the default rules."""
        keys: list[tuple[str, str | None]] = [("model", request.model), ("any", None)]
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
        """The JSON bodies of every chat completion call received, oldest first."""
        return [r.body for r in self.requests if r.path.endswith("/chat/completions") and isinstance(r.body, dict)]
