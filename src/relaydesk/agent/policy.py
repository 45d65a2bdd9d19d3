"""The handoff policy: when a conversation goes to a person, preset levels, topics, and office hours."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import Stemmer
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from relaydesk.agent import copy
from relaydesk.agent.analyzers import content_words, vader_compound
from relaydesk.agent.decision import AgentContext, HandoffReason, Turn
from relaydesk.agent.lexicon import (
    FRUSTRATION,
    HUMAN_REQUEST,
    TOPIC_SYNONYMS,
    TOPIC_WORDS_BY_SYNONYM_ONLY,
    PhraseMatcher,
    words,
)
from relaydesk.agent.retrieval import analyze_query, terms

Level = Literal["ai_only", "quick", "balanced", "ai_first", "advanced"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAY_NAMES: tuple[Weekday, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Triggers(BaseModel):
    """Each trigger on or off with its threshold: the Advanced form, and what every preset level resolves to."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    explicit_request: bool = True
    require_problem_statement: bool = False
    attempts_before_handoff: int = Field(0, ge=0, le=5)
    topics: bool = True
    frustration: bool = True
    negative_sentiment_below: float = Field(-0.6, ge=-1.0, le=0.0)
    insults: bool = True
    shouting: bool = True
    repeated_question_count: int = Field(2, ge=2, le=10)
    unproductive: bool = True
    unproductive_turns: int = Field(2, ge=1, le=10)
    min_confidence: float = Field(0.35, ge=0.0, le=1.0)
    ai_decision: bool = True


PRESETS: dict[Level, Triggers] = {
    "ai_only": Triggers(enabled=False),
    "quick": Triggers(),
    "balanced": Triggers(
        require_problem_statement=True,
        negative_sentiment_below=-0.75,
        repeated_question_count=3,
        unproductive_turns=3,
        ai_decision=False,
    ),
    "ai_first": Triggers(
        require_problem_statement=True,
        attempts_before_handoff=1,
        negative_sentiment_below=-0.85,
        shouting=False,
        repeated_question_count=3,
        unproductive_turns=4,
        ai_decision=False,
    ),
}


class TimeRange(BaseModel):
    """Open from `start` to `end` on one day (local time of the schedule); `end` 00:00 means midnight."""

    model_config = ConfigDict(extra="forbid")

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end != time(0) and self.end <= self.start:
            raise ValueError(f"opening hours end ({self.end}) must be after their start ({self.start})")
        return self

    def contains(self, moment: time) -> bool:
        """Whether a local time of day falls in this range."""
        return self.start <= moment and (self.end == time(0) or moment < self.end)


class OfficeHours(BaseModel):
    """When people answer: a weekly schedule in one time zone, and holidays (whole days closed)."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "UTC"
    weekly: dict[Weekday, list[TimeRange]] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Paris") from error
        return value

    @cached_property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)

    def _ranges(self, day: date) -> list[TimeRange]:
        if day in self.holidays:
            return []
        return sorted(self.weekly.get(WEEKDAY_NAMES[day.weekday()], []), key=lambda r: r.start)

    def is_open(self, now: datetime) -> bool:
        """Whether people answer at this moment (a naive `now` is taken as UTC)."""
        local = _aware(now).astimezone(self.zone)
        return any(r.contains(local.time()) for r in self._ranges(local.date()))

    def next_opening(self, now: datetime) -> datetime | None:
        """The next moment the team opens (now if open), in the schedule's zone; None if it never opens."""
        local = _aware(now).astimezone(self.zone)
        if self.is_open(local):
            return local
        for offset in range(0, 8 + len(self.holidays)):
            day = local.date() + timedelta(days=offset)
            for opening in self._ranges(day):
                start = datetime.combine(day, opening.start, tzinfo=self.zone)
                if start > local:
                    return start
        return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo("UTC"))


class HandoffSettings(BaseModel):
    """A workspace's handoff rules: a preset level (or `advanced` with its own triggers), topics and office hours."""

    model_config = ConfigDict(extra="forbid")

    level: Level = "quick"
    advanced: Triggers = Field(default_factory=Triggers)
    topics: list[str] = Field(default_factory=list)
    office_hours: OfficeHours | None = None
    out_of_hours: Literal["handoff_anyway", "ai_collects_email"] = "handoff_anyway"

    @property
    def triggers(self) -> Triggers:
        """The triggers in force: the level's preset, or the advanced form."""
        return self.advanced if self.level == "advanced" else PRESETS[self.level]

    @property
    def hands_off(self) -> bool:
        """False only when the AI may never hand a conversation to a person."""
        return self.triggers.enabled


# --- Detecting what the visitor says ------------------------------------------------------------------------------

_ENGLISH = Stemmer.Stemmer("english")
_HUMAN = PhraseMatcher(HUMAN_REQUEST, fuzzy_labels=("person", "strong", "bot"))
_FRUSTRATION = PhraseMatcher(FRUSTRATION, fuzzy_labels=())
_EXASPERATED = re.compile(r"[!?]{3,}|\?!|!\?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CONTACT_GAP_BEFORE = 4
_CONTACT_GAP_AFTER = 3
_BLOCK_WINDOW = 4


def asks_for_person(message: str) -> bool:
    """Whether the visitor asks for a person, in any of the 15 languages, tolerating typos and paraphrase.

    A strong phrase ("live agent", "not a bot") decides alone; otherwise a person word needs a wish, talk or presence
    word near it ("is there a real person?") or a bot set against it, no admin verb just before it ("add a person to
    my team") and no negation before the wish.
    """
    tokens = words(message)
    matches = _HUMAN.find(tokens)
    if any(m.label == "strong" for m in matches):
        return True
    persons = [m for m in matches if m.label == "person"]
    contacts = [m for m in matches if m.label == "contact"]
    blocks = [m for m in matches if m.label == "block"]
    negations = [m for m in matches if m.label == "negation"]
    bots = [m for m in matches if m.label == "bot"]
    for person in persons:
        if any(person.start - _BLOCK_WINDOW <= b.start < person.start for b in blocks):
            continue
        if bots:
            return True
        for contact in contacts:
            if contact.start == person.start:
                continue
            if not (
                0 <= person.start - contact.end <= _CONTACT_GAP_BEFORE
                or 0 <= contact.start - person.end <= _CONTACT_GAP_AFTER
            ):
                continue
            if any(contact.start - 3 <= n.start < contact.start for n in negations):
                continue
            return True
    return bool(persons and not blocks and len(content_words(message)) <= 2 and len(tokens) <= 5)


def is_shouting(message: str) -> bool:
    """Mostly capital letters over several words (acronyms alone do not count)."""
    letters = [ch for ch in message if ch.isalpha() and ch.lower() != ch.upper()]
    if len(letters) < 12:
        return False
    upper_words = [w for w in re.findall(r"[^\W\d_]{3,}", message) if w.isupper()]
    return sum(ch.isupper() for ch in letters) / len(letters) >= 0.7 and len(upper_words) >= 3


def has_insult(message: str) -> bool:
    """An insult, swear word or exasperated phrase in any of the 15 languages."""
    return bool(_FRUSTRATION.find(words(message)))


def _similar(a: set[str], b: set[str]) -> bool:
    if len(a) < 2 or len(b) < 2:
        return False
    return len(a & b) / len(a | b) >= 0.6


def repeat_count(message: str, transcript: Sequence[Turn], language: str | None) -> int:
    """How many times the visitor has now asked this same question (1 = first time)."""
    current = set(terms(" ".join(content_words(message)), language or "en"))
    earlier = [turn.text for turn in transcript if turn.author == "visitor"]
    return 1 + sum(_similar(current, set(terms(" ".join(content_words(t)), language or "en"))) for t in earlier)


def low_confidence_streak(transcript: Sequence[Turn], threshold: float) -> int:
    """AI answers in a row, most recent last, whose confidence was below the threshold."""
    streak = 0
    for turn in reversed(transcript):
        if turn.author == "ai" and turn.confidence is not None:
            if turn.confidence >= threshold:
                break
            streak += 1
        elif turn.author in ("rep", "system"):
            break
    return streak


def find_email(texts: Sequence[str]) -> str | None:
    """The last email address written in these texts."""
    for text in reversed(texts):
        found = _EMAIL.findall(text)
        if found:
            return str(found[-1])
    return None


def said(turn: Turn, key: str) -> bool:
    """Whether an AI turn is the table's sentence `key` (in any language)."""
    return turn.author == "ai" and any(
        turn.text.startswith(variant.split("{")[0].strip()) for variant in copy.all_translations(key) if variant
    )


# --- Topics -------------------------------------------------------------------------------------------------------

_GENERIC_TOPIC_WORDS = frozenset(
    {
        "request",
        "requests",
        "inquiry",
        "inquiries",
        "enquiry",
        "enquiries",
        "question",
        "questions",
        "issue",
        "issues",
        "problem",
        "problems",
        "about",
        "related",
        "regarding",
        "anything",
        "stuff",
        "things",
        "topic",
        "topics",
        "my",
        "our",
        "the",
        "a",
        "an",
        "any",
        "of",
        "to",
        "for",
        "with",
    }
)


@dataclass(frozen=True, slots=True)
class _TopicRule:
    topic: str
    alternatives: tuple[tuple[frozenset[str], ...], ...]


def _stems(text: str) -> str:
    """English stems of every word, stopwords included, so that phrases like "got into" survive."""
    return " ".join(_ENGLISH.stemWords(words(text)))


def _concept(word: str) -> frozenset[str]:
    """A topic word's stem with the stems of its synonyms (multi-word synonyms as joined stems)."""
    variants = set() if word in TOPIC_WORDS_BY_SYNONYM_ONLY else {_stems(word)}
    for synonym in TOPIC_SYNONYMS.get(word, ()) + TOPIC_SYNONYMS.get(_stems(word), ()):
        variants.add(_stems(synonym))
    return frozenset(v for v in variants if v)


def compile_topic(topic: str) -> _TopicRule:
    """Read a plain-language topic line: alternatives split at commas, semicolons and "or"; each needs all its words."""
    alternatives: list[tuple[frozenset[str], ...]] = []
    for part in re.split(r",|;|\bor\b|/", topic.lower()):
        concepts = tuple(
            _concept(word)
            for word in re.findall(r"[\w'-]+", part)
            if word not in _GENERIC_TOPIC_WORDS and terms(word, "en")
        )
        if concepts:
            alternatives.append(concepts)
    return _TopicRule(topic, tuple(alternatives))


def _message_stems(message: str, language: str | None) -> tuple[set[str], str]:
    """Single stems and the space-joined stem sequence of a message, English translations included."""
    query = analyze_query(message, language)
    sequence = _stems(message)
    singles = {term for group in query.groups for term in group} | set(sequence.split())
    return singles, f" {sequence} "


def matched_topic(message: str, language: str | None, rules: Sequence[_TopicRule]) -> str | None:
    """The configured topic the message is most about (most alternatives met, then list order), if any."""
    singles, sequence = _message_stems(message, language)
    best: tuple[int, str] | None = None
    for rule in rules:
        met = sum(
            all(
                any((" " in variant and f" {variant} " in sequence) or variant in singles for variant in concept)
                for concept in concepts
            )
            for concepts in rule.alternatives
        )
        if met and (best is None or met > best[0]):
            best = (met, rule.topic)
    return best[1] if best else None


# --- The verdict --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trigger:
    """Why the conversation should go to a person, in the handoff's words."""

    reason: HandoffReason
    topic: str | None = None
    detail: str = ""


class HandoffPolicy:
    """Applies a workspace's handoff settings to one visitor message."""

    def __init__(self, settings: HandoffSettings) -> None:
        self.settings = settings
        self.triggers = settings.triggers
        self._topics = [compile_topic(topic) for topic in settings.topics if topic.strip()]

    def explicit_request(self, context: AgentContext) -> bool:
        """The visitor asks for a person (checked even under AI-only, to decline politely)."""
        return self.triggers.explicit_request and asks_for_person(context.message)

    def topic(self, context: AgentContext, language: str | None) -> str | None:
        """The configured topic this message is about."""
        if not self._topics or not (self.triggers.topics or not self.triggers.enabled):
            return None
        return matched_topic(context.message, language, self._topics)

    def frustration(self, context: AgentContext, language: str | None) -> Trigger | None:
        """Insults, shouting, strongly negative English, or the same question asked again and again."""
        triggers = self.triggers
        if not (triggers.enabled and triggers.frustration):
            return None
        message = context.message
        if triggers.insults and has_insult(message):
            return Trigger("frustration", detail="insult or exasperation")
        if triggers.shouting and is_shouting(message):
            return Trigger("frustration", detail="shouting")
        if language in (None, "en"):
            compound = vader_compound(message)
            if compound <= triggers.negative_sentiment_below:
                return Trigger("frustration", detail=f"negative sentiment {compound:.2f}")
            if compound < 0 and _EXASPERATED.search(message):
                return Trigger("frustration", detail=f"negative sentiment {compound:.2f} with ?!!")
        repeats = repeat_count(message, context.transcript, language)
        if repeats >= triggers.repeated_question_count:
            return Trigger("frustration", detail=f"same question asked {repeats} times")
        return None

    def unproductive(self, context: AgentContext) -> Trigger | None:
        """Too many AI answers in a row the AI itself was unsure of."""
        triggers = self.triggers
        if not (triggers.enabled and triggers.unproductive):
            return None
        streak = low_confidence_streak(context.transcript, triggers.min_confidence)
        if streak >= triggers.unproductive_turns:
            return Trigger("unproductive", detail=f"{streak} unsure answers in a row")
        return None

    def has_problem_statement(self, context: AgentContext) -> bool:
        """Whether the visitor has said what the problem is, beyond asking for a person."""
        texts = [turn.text for turn in context.transcript if turn.author == "visitor"] + [context.message]
        return any(not _HUMAN.find([word]) for text in texts for word in content_words(text))

    def attempts(self, context: AgentContext) -> int:
        """AI answers given so far in this conversation."""
        return sum(1 for turn in context.transcript if turn.author == "ai" and turn.confidence is not None)

    def is_open(self, now: datetime) -> bool:
        """Whether people answer now (always, without office hours)."""
        hours = self.settings.office_hours
        return hours is None or hours.is_open(now)

    def next_opening(self, now: datetime) -> datetime | None:
        """When people answer next."""
        hours = self.settings.office_hours
        return now if hours is None else hours.next_opening(now)
