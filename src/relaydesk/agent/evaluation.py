"""Measures the offline brain on the labelled sample messages: answers, handoffs, language and latency."""

from __future__ import annotations

import json
import random
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from relaydesk.agent.analyzers import language_detector
from relaydesk.agent.decision import AgentContext, Answer, Decision, HandOff, Resolve
from relaydesk.agent.knowledge import KnowledgeBase, Passage, read_directory
from relaydesk.agent.offline import OfflineBrain
from relaydesk.agent.policy import HandoffSettings
from relaydesk.agent.retrieval import PassageIndex
from relaydesk.agent.sample import SAMPLE_KB_DIR, EvalMessage, load_eval_messages, load_eval_topics

TARGETS: dict[str, float] = {
    "explicit_request_recall": 0.98,
    "false_handoff_rate": 0.02,
    "answer_accuracy": 0.85,
    "language_accuracy": 0.95,
    "latency_p99_ms": 50.0,
}
HANDOFF_LABELS = ("explicit_request", "topic", "frustration")
NO_HANDOFF_LABELS = ("answer", "small_talk", "off_topic")
LANGUAGE_MIN_CHARS = 20


def _outcome(decision: Decision) -> str:
    """The decision in eval-label terms: a handoff's reason, "answer" when it cites, else "reply" or "resolve"."""
    if isinstance(decision, HandOff):
        return decision.reason
    if isinstance(decision, Resolve):
        return "resolve"
    return "answer" if decision.citations else "reply"


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def synthetic_passages(source: Sequence[Passage], count: int, seed: int = 7) -> list[Passage]:
    """Filler passages drawn from the real passages' words, to grow an index to a realistic size."""
    rng = random.Random(seed)
    vocabulary = [word for passage in source for word in passage.text.split() if word.isalpha()]
    passages: list[Passage] = []
    for number in range(count):
        title = " ".join(rng.choices(vocabulary, k=rng.randint(3, 7))).capitalize()
        body = " ".join(rng.choices(vocabulary, k=rng.randint(40, 120)))
        passages.append(Passage(f"synthetic-{number}", title, None, None, body))
    return passages


def run_evaluation(
    *,
    messages: Sequence[EvalMessage] | None = None,
    topics: Sequence[str] | None = None,
    knowledge_dir: Path = SAMPLE_KB_DIR,
    latency_passages: int = 10_000,
) -> dict[str, Any]:
    """Run the brain (level `quick`, the eval topics) over every eval message and report against the targets."""
    messages = list(messages) if messages is not None else load_eval_messages()
    topics = list(topics) if topics is not None else load_eval_topics()
    knowledge = KnowledgeBase()
    knowledge.ingest(read_directory(knowledge_dir))
    articles = {doc.url: doc.doc_id for doc in knowledge.documents if doc.kind == "markdown" and doc.url}
    settings = HandoffSettings(topics=topics)
    brain = OfflineBrain(PassageIndex.build(knowledge.passages), settings)

    outcomes: list[tuple[EvalMessage, Decision, str]] = []
    for message in messages:
        decision = brain.decide_now(AgentContext("eval", message.id, message.text))
        outcomes.append((message, decision, _outcome(decision)))

    answerable = [(m, d) for m, d, _ in outcomes if m.label == "answer"]
    correct_by_language: Counter[str] = Counter()
    total_by_language: Counter[str] = Counter()
    answer_errors: list[dict[str, Any]] = []
    for message, decision in answerable:
        total_by_language[message.language] += 1
        cited = (
            articles.get(decision.citations[0].url or "", "")
            if isinstance(decision, Answer) and decision.citations
            else None
        )
        if cited == message.article:
            correct_by_language[message.language] += 1
        else:
            answer_errors.append({"id": message.id, "expected": message.article, "got": cited or _outcome(decision)})

    handoff: dict[str, dict[str, float | int | None]] = {}
    for label in HANDOFF_LABELS:
        expected = [o for o in outcomes if o[0].label == label]
        predicted = [o for o in outcomes if o[2] == label]
        hits = [o for o in expected if o[2] == label]
        handoff[label] = {
            "support": len(expected),
            "recall": _ratio(len(hits), len(expected)),
            "precision": _ratio(len(hits), len(predicted)),
        }
    topic_items = [o for o in outcomes if o[0].label == "topic"]
    handoff["topic"]["topic_named_correctly"] = _ratio(
        sum(1 for m, d, _ in topic_items if isinstance(d, HandOff) and d.topic == m.topic), len(topic_items)
    )
    should_stay = [o for o in outcomes if o[0].label in NO_HANDOFF_LABELS]
    false_handoffs = [o for o in should_stay if isinstance(o[1], HandOff)]

    detector = language_detector()
    long_enough = [m for m in messages if len(m.text) >= LANGUAGE_MIN_CHARS]
    language_hits = sum(1 for m in long_enough if detector.detect(m.text).language == m.language)

    latency = measure_latency(brain, knowledge.passages, messages, latency_passages, settings)
    answer_accuracy = _ratio(sum(correct_by_language.values()), len(answerable))
    report: dict[str, Any] = {
        "messages": len(messages),
        "answer_accuracy": answer_accuracy,
        "answer_accuracy_by_language": {
            lang: _ratio(correct_by_language[lang], total) for lang, total in sorted(total_by_language.items())
        },
        "handoff": handoff,
        "false_handoff_rate": _ratio(len(false_handoffs), len(should_stay)),
        "language_accuracy": _ratio(language_hits, len(long_enough)),
        "latency_ms": latency,
        "outcomes_by_label": {
            label: dict(Counter(o[2] for o in outcomes if o[0].label == label))
            for label in sorted({m.label for m in messages})
        },
        "answer_errors": answer_errors,
        "false_handoffs": [{"id": m.id, "label": m.label, "reason": o} for m, _, o in false_handoffs],
        "missed_handoffs": [
            {"id": m.id, "label": m.label, "got": o}
            for m, _, o in outcomes
            if m.label in HANDOFF_LABELS and o != m.label
        ],
    }
    report["targets"] = {
        "explicit_request_recall": _met(handoff["explicit_request"]["recall"], TARGETS["explicit_request_recall"]),
        "false_handoff_rate": _met(report["false_handoff_rate"], TARGETS["false_handoff_rate"], lower=True),
        "answer_accuracy": _met(answer_accuracy, TARGETS["answer_accuracy"]),
        "language_accuracy": _met(report["language_accuracy"], TARGETS["language_accuracy"]),
        "latency_p99_ms": _met(latency["p99"], TARGETS["latency_p99_ms"], lower=True),
    }
    return report


def _met(value: float | int | None, target: float, *, lower: bool = False) -> bool:
    if value is None:
        return False
    return value <= target if lower else value >= target


def measure_latency(
    brain: OfflineBrain,
    passages: Sequence[Passage],
    messages: Sequence[EvalMessage],
    size: int,
    settings: HandoffSettings,
) -> dict[str, float]:
    """Median and p99 decision time over the eval messages with an index grown to `size` passages."""
    grown = list(passages) + synthetic_passages(passages, max(0, size - len(passages)))
    big = OfflineBrain(PassageIndex.build(grown), settings, detector=language_detector())
    contexts = [AgentContext("eval", m.id, m.text) for m in messages]
    for context in contexts[:10]:
        big.decide_now(context)
    timings: list[float] = []
    for _ in range(2):
        for context in contexts:
            started = time.perf_counter()
            big.decide_now(context)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "passages": float(len(grown)),
        "median": round(statistics.median(timings), 3),
        "p99": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 3),
    }


if __name__ == "__main__":
    print(json.dumps(run_evaluation(), indent=2, ensure_ascii=False))
