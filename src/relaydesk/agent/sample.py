"""The sample knowledge base and the labelled visitor messages the offline brain is demoed and evaluated on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast, get_args

SAMPLE_KB_DIR: Path = Path(__file__).with_name("sample_kb")
EVAL_DIR: Path = Path(__file__).with_name("eval")

EvalLabel = Literal["answer", "explicit_request", "frustration", "topic", "small_talk", "off_topic"]
EVAL_LABELS: tuple[EvalLabel, ...] = get_args(EvalLabel)


@dataclass(frozen=True, slots=True)
class EvalMessage:
    """One visitor message with the decision the agent is expected to make."""

    id: str
    text: str
    language: str  # BCP-47 code of the text
    label: EvalLabel
    article: str | None = None  # slug of the expected article, only when label is "answer"
    topic: str | None = None  # expected handoff topic from topics.json, only when label is "topic"


def _label(value: object) -> EvalLabel:
    """Return `value` as an eval label, or raise if it is not one."""
    if value not in EVAL_LABELS:
        raise ValueError(f"unknown eval label {value!r}; expected one of {', '.join(EVAL_LABELS)}")
    return value


def _optional_str(value: object) -> str | None:
    """Return `value` if it is a string, None if it is missing."""
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {value!r}")


def load_eval_messages() -> list[EvalMessage]:
    """Load the labelled visitor messages from eval/messages.jsonl, in file order."""
    messages: list[EvalMessage] = []
    lines = (EVAL_DIR / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict):
            raise ValueError(f"messages.jsonl line {number}: expected a JSON object")
        messages.append(
            EvalMessage(
                id=str(row["id"]),
                text=str(row["text"]),
                language=str(row["language"]),
                label=_label(row["label"]),
                article=_optional_str(row.get("article")),
                topic=_optional_str(row.get("topic")),
            )
        )
    return messages


def load_eval_topics() -> list[str]:
    """Load the plain-language handoff topics from eval/topics.json."""
    topics = json.loads((EVAL_DIR / "topics.json").read_text(encoding="utf-8"))
    if not isinstance(topics, list) or not all(isinstance(topic, str) for topic in topics):
        raise ValueError("topics.json must be a JSON list of strings")
    return cast(list[str], topics)
