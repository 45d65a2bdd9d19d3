"""A local OpenAI-compatible chat completions server whose model is deterministic and scriptable."""

from __future__ import annotations

from relaydesk.sandbox.openai_compat.app import create_app
from relaydesk.sandbox.openai_compat.replies import Reply, TextReply, ToolCall, ToolCalls
from relaydesk.sandbox.openai_compat.sandbox import ChatSandbox, RecordedRequest

__all__ = ["ChatSandbox", "RecordedRequest", "Reply", "TextReply", "ToolCall", "ToolCalls", "create_app"]
