"""The offline brain: handoff policy first, then small talk, then an extractive answer from the knowledge base."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from relaydesk.agent import copy
from relaydesk.agent.analyzers import LanguageDetector, language_detector
from relaydesk.agent.decision import AgentContext, Answer, Citation, Decision, HandOff, Resolve
from relaydesk.agent.knowledge import Passage, split_sentences
from relaydesk.agent.lexicon import FILLER, HUMAN_REQUEST, SMALL_TALK, PhraseMatcher, stopwords, words
from relaydesk.agent.policy import HandoffPolicy, HandoffSettings, Trigger, find_email, said
from relaydesk.agent.retrieval import PassageIndex, SearchResult, terms

SmallTalk = Literal["greeting", "wellbeing", "thanks", "resolve"]

_SMALL_TALK = PhraseMatcher({**SMALL_TALK, "filler": FILLER})
_NEGATION = PhraseMatcher({"negation": HUMAN_REQUEST["negation"]})
_LIST_ITEM = re.compile(r"^(?:\d+[.)]|[-*•])\s+")
_NUMBERED = re.compile(r"^\d+[.)]\s+")
MAX_ANSWER_SENTENCES = 3
MAX_LIST_ITEMS = 8
IN_DOMAIN_SHARE = 0.5


def small_talk(message: str) -> SmallTalk | None:
    """What kind of small talk the whole message is, or None when it asks for something."""
    tokens = words(message)
    if not tokens:
        return None
    matches = _SMALL_TALK.find(tokens)
    covered = {i for m in matches for i in range(m.start, m.end)}
    common = stopwords(None)
    rest = [t for i, t in enumerate(tokens) if i not in covered and t not in common]
    labels = {m.label for m in matches} - {"filler"}
    if not labels or len(rest) > 1:
        return None
    negated = bool(_NEGATION.find(tokens))
    if ("solved" in labels and not negated) or "goodbye" in labels:
        return "resolve"
    if "thanks" in labels:
        return "thanks"
    if "wellbeing" in labels:
        return "wellbeing"
    return "greeting" if "greeting" in labels else None


@dataclass(frozen=True, slots=True)
class _Sentence:
    passage: Passage
    text: str
    position: int
    score: float


def _score_sentences(result: SearchResult, passages: Sequence[Passage]) -> list[_Sentence]:
    """Every sentence of the passages, scored by the weight of the question's word groups it contains."""
    scored: list[_Sentence] = []
    for passage in passages:
        for position, sentence in enumerate(split_sentences(passage.text)):
            found = set(terms(sentence, passage.language))
            score = sum(
                max((result.weights.get(t, 0.0) for t in group), default=0.0)
                for group in result.query.groups
                if found.intersection(group)
            )
            scored.append(_Sentence(passage, sentence, position, score))
    return scored


def _with_lists(chosen: list[_Sentence], every: list[_Sentence]) -> list[_Sentence]:
    """Complete numbered steps, and the list a sentence ending in ':' introduces, so instructions stay whole."""
    keep = {(s.passage.text, s.position) for s in chosen}
    for sentence in chosen:
        siblings = [s for s in every if s.passage is sentence.passage]
        index = sentence.position
        if _NUMBERED.match(sentence.text):
            start = index
            while start > 0 and _NUMBERED.match(siblings[start - 1].text):
                start -= 1
            end = index
            while end + 1 < len(siblings) and _NUMBERED.match(siblings[end + 1].text):
                end += 1
            keep.update((sentence.passage.text, i) for i in range(start, min(end + 1, start + MAX_LIST_ITEMS)))
        elif sentence.text.endswith(":"):
            following = index + 1
            while following < len(siblings) and _LIST_ITEM.match(siblings[following].text):
                keep.add((sentence.passage.text, following))
                following += 1
                if following - index > MAX_LIST_ITEMS:
                    break
    return [s for s in every if (s.passage.text, s.position) in keep]


def compose_answer(result: SearchResult, language: str | None) -> Answer:
    """An extractive answer: the sentences of the best article's passages that answer the question, with its source."""
    best = result.hits[0].passage
    passages = [hit.passage for hit in result.hits if hit.passage.doc_id == best.doc_id][:2]
    every = _score_sentences(result, passages)
    ranked = sorted(every, key=lambda s: (-s.score, passages.index(s.passage), s.position))
    top = ranked[0].score if ranked else 0.0
    chosen = [s for s in ranked[:MAX_ANSWER_SENTENCES] if s.score >= top * 0.6 and s.score > 0] or ranked[:1]
    selected = _with_lists(chosen, every)
    lines: list[str] = []
    for passage in passages:
        mine = [s.text for s in selected if s.passage is passage]
        if not mine:
            continue
        if passage.heading and _LIST_ITEM.match(mine[0]):
            lines.append(f"{passage.heading}:")
        lines.extend(mine)
    intro = copy.text("answer_in_english", language) if best.language == "en" else ""
    source = f"{copy.text('source', language)}: {best.title}" + (f" ({best.url})" if best.url else "")
    body = "\n".join(lines)
    return Answer(
        text="\n\n".join(part for part in (intro, body, source) if part),
        confidence=result.confidence,
        citations=tuple(Citation(p.title, p.url, p.text) for p in passages),
    )


class OfflineBrain:
    """Decides without any model server: rules for handing off, BM25 retrieval and extraction for answering."""

    def __init__(
        self, index: PassageIndex, settings: HandoffSettings | None = None, *, detector: LanguageDetector | None = None
    ) -> None:
        self.index = index
        self.settings = settings or HandoffSettings()
        self.policy = HandoffPolicy(self.settings)
        self._detector = detector

    async def decide(self, context: AgentContext) -> Decision:
        """One decision for the visitor's new message."""
        return self.decide_now(context)

    def language_of(self, context: AgentContext) -> str | None:
        """The message's language, else the widget's hint when it is one of ours."""
        detector = self._detector or language_detector()
        guess = detector.detect(context.message).language
        return guess or (copy.copy_language(context.language) if context.language else None)

    def decide_now(self, context: AgentContext) -> Decision:
        """The same decision, synchronously: everything here is in memory and takes milliseconds."""
        language = self.language_of(context)
        reply_in = language or context.language
        ruled = self.rule_decision(context, language)
        if ruled is not None:
            return ruled
        triggers = self.policy.triggers

        kind = small_talk(context.message)
        if kind == "resolve":
            return Resolve(copy.text("goodbye", reply_in))
        if kind is not None:
            return Answer(copy.text(kind, reply_in), confidence=1.0)

        result = self.index.search(context.message, language=language)
        if result.hits and result.confidence >= triggers.min_confidence:
            return compose_answer(result, reply_in)
        if self.settings.hands_off and triggers.ai_decision and result.known >= IN_DOMAIN_SHARE:
            return self._hand_off(Trigger("ai_decision"), context, reply_in, context.now or datetime.now(UTC))
        return Answer(copy.text("dont_know", reply_in), confidence=result.confidence)

    def rule_decision(self, context: AgentContext, language: str | None) -> Decision | None:
        """What the handoff rules decide on their own (requests for a person, topics, frustration, unproductive
        turns, office hours), or None when it is up to the brain. Runs before any model is asked."""
        reply_in = language or context.language
        now = context.now or datetime.now(UTC)
        triggers = self.policy.triggers
        last_ai = next((turn for turn in reversed(context.transcript) if turn.author == "ai"), None)

        if last_ai is not None and said(last_ai, "ask_email") and (email := find_email([context.message])):
            return HandOff("office_hours", message=self._after_email(email, now, reply_in))
        if last_ai is not None and said(last_ai, "ask_problem") and self.settings.hands_off:
            return self._hand_off(Trigger("explicit_request"), context, reply_in, now)

        if self.policy.explicit_request(context):
            if not self.settings.hands_off:
                return Answer(copy.text("decline_handoff", reply_in), confidence=1.0)
            if triggers.require_problem_statement and not self.policy.has_problem_statement(context):
                return Answer(copy.text("ask_problem", reply_in), confidence=1.0)
            if self.policy.attempts(context) < triggers.attempts_before_handoff:
                result = self.index.search(context.message, language=language)
                if result.hits and result.confidence >= triggers.min_confidence:
                    answer = compose_answer(result, reply_in)
                    return Answer(
                        f"{copy.text('try_first', reply_in)}\n\n{answer.text}", answer.confidence, answer.citations
                    )
            return self._hand_off(Trigger("explicit_request"), context, reply_in, now)

        topic = self.policy.topic(context, language)
        if topic is not None:
            if not self.settings.hands_off:
                return Answer(copy.text("decline_topic", reply_in), confidence=1.0)
            return self._hand_off(Trigger("topic", topic), context, reply_in, now)

        trigger = self.policy.frustration(context, language) or self.policy.unproductive(context)
        if trigger is not None:
            return self._hand_off(trigger, context, reply_in, now)
        return None

    def _hand_off(self, trigger: Trigger, context: AgentContext, language: str | None, now: datetime) -> Decision:
        """Hand off now, or outside office hours say when a person will answer (or first ask for an email)."""
        if self.policy.is_open(now):
            return HandOff(trigger.reason, trigger.topic, copy.text("handoff", language))
        opening = self.policy.next_opening(now)
        when = copy.format_opening(opening, language) if opening is not None else ""
        if self.settings.out_of_hours == "ai_collects_email":
            email = _known_email(context)
            if email is None:
                return Answer(copy.text("ask_email", language, opening=when), confidence=1.0)
            return HandOff(trigger.reason, trigger.topic, self._after_email(email, now, language))
        return HandOff(trigger.reason, trigger.topic, copy.text("handoff_out_of_hours", language, opening=when))

    def _after_email(self, email: str, now: datetime, language: str | None) -> str:
        opening = self.policy.next_opening(now)
        when = copy.format_opening(opening, language) if opening is not None else ""
        return copy.text("email_received", language, email=email, opening=when)


def _known_email(context: AgentContext) -> str | None:
    """An email the visitor gave: from a verified contact, or written in the conversation."""
    trusted = context.custom_data.get("email")
    if isinstance(trusted, str) and "@" in trusted:
        return trusted
    visitor_texts: list[str] = [turn.text for turn in context.transcript if turn.author == "visitor"]
    return find_email([*visitor_texts, context.message])
