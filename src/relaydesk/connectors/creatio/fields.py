"""AI-filled case fields: values for the admin's mapped columns, read from the transcript, never outside the
allowed values. A configured model (RELAYDESK_LLM_*) answers first; rules and the allowed values' keywords fill
whatever it leaves out, and everything when no model is configured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import httpx2

from relaydesk.connectors.base import TranscriptMessage
from relaydesk.connectors.creatio.settings import AiField

WORD = re.compile(r"[^\W_]+", re.UNICODE)
TEXT_LIMIT = 500


def _words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def _mentions(words: list[str], phrase: str) -> int:
    """How often a keyword or phrase occurs, a word matching by its start (refund matches refunded)."""
    wanted = _words(phrase)
    if not wanted:
        return 0
    return sum(1 for i in range(len(words) - len(wanted) + 1)
               if all(words[i + j].startswith(w) for j, w in enumerate(wanted)))


def allowed(field: AiField, value: object) -> str | None:
    """The allowed value `value` names (case and spacing ignored), or None; text fields take any text."""
    if not isinstance(value, str) or not value.strip():
        return None
    if field.type == "text":
        return value.strip()[:TEXT_LIMIT]
    wanted = " ".join(_words(value))
    return next((a.value for a in field.allowed_values if " ".join(_words(a.value)) == wanted), None)


def by_rules(field: AiField, visitor_text: str, summary: str) -> str | None:
    """Offline: the allowed value whose name and keywords the visitor mentions most; text fields get the summary."""
    if field.type == "text":
        return summary.strip()[:TEXT_LIMIT] or None
    words = _words(visitor_text)
    scores = [(sum(_mentions(words, k) for k in [a.value, *a.keywords]), -i, a.value)
              for i, a in enumerate(field.allowed_values)]
    best = max(scores, default=(0, 0, ""))
    return best[2] if best[0] > 0 else None


def _prompt(fields: Sequence[AiField]) -> str:
    lines = []
    for f in fields:
        values = "; allowed values: " + ", ".join(a.value for a in f.allowed_values) if f.type == "dropdown" else ""
        lines.append(f"- {f.column} ({f.title}): {f.instruction or 'fill from the conversation'}{values}")
    return ("Fill these fields of a support case from the conversation. Reply with only a JSON object mapping each "
            "column name to a value; for a field with allowed values use exactly one of them, or null when none "
            "fits.\n" + "\n".join(lines))


async def by_model(
    fields: Sequence[AiField], transcript: Sequence[TranscriptMessage], http: httpx2.AsyncClient
) -> dict[str, str]:
    """What a configured model answers for the fields, kept only where it is allowed; {} without a model."""
    from relaydesk.config import Settings

    settings = Settings()
    if not settings.llm_base_url or not settings.llm_model:
        return {}
    # Imported here: the offline default needs no model SDK (it comes with the `llm` extra).
    from relaydesk.agent.llm import LLMSettings, one_shot

    llm = LLMSettings(base_url=settings.llm_base_url, model=settings.llm_model,
                      api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none")
    conversation = "\n".join(f"{'Visitor' if m.author == 'visitor' else 'AI assistant'}: {m.text}"
                             for m in transcript)
    reply = await one_shot(_prompt(fields), conversation, llm, http)
    start, end = (reply or "").find("{"), (reply or "").rfind("}")
    try:
        decoded = json.loads((reply or "")[start : end + 1]) if 0 <= start < end else {}
    except ValueError:
        return {}
    if not isinstance(decoded, dict):
        return {}
    kept = {f.column: allowed(f, decoded.get(f.column)) for f in fields}
    return {column: value for column, value in kept.items() if value is not None}


async def fill(
    fields: Sequence[AiField], transcript: Sequence[TranscriptMessage], summary: str, http: httpx2.AsyncClient
) -> dict[str, str]:
    """Column → value for every field a value was found for."""
    if not fields:
        return {}
    found = await by_model(fields, transcript, http)
    visitor_text = "\n".join(m.text for m in transcript if m.author == "visitor")
    for field in fields:
        if field.column not in found:
            value = by_rules(field, visitor_text, summary)
            if value is not None:
                found[field.column] = value
    return found
