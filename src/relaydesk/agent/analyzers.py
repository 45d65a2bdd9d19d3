"""Conversation analyzers: language (BCP-47), sentiment and the extractive summary a rep reads at handoff, or in the
helpdesk's note when the AI resolved a conversation on its own."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from lingua import Language, LanguageDetectorBuilder
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from relaydesk.agent.decision import Turn
from relaydesk.agent.lexicon import FRUSTRATION, SMALL_TALK, PhraseMatcher, stopwords, words

_LINGUA_CODES: dict[Language, str] = {
    Language.ARABIC: "ar",
    Language.DANISH: "da",
    Language.GERMAN: "de",
    Language.ENGLISH: "en",
    Language.SPANISH: "es",
    Language.FINNISH: "fi",
    Language.FRENCH: "fr",
    Language.ITALIAN: "it",
    Language.DUTCH: "nl",
    Language.BOKMAL: "no",
    Language.NYNORSK: "no",
    Language.POLISH: "pl",
    Language.PORTUGUESE: "pt",
    Language.ROMANIAN: "ro",
    Language.SWEDISH: "sv",
    Language.TURKISH: "tr",
}
_ARABIC_LETTERS = re.compile(r"[\u0600-\u06ff]")
_LETTERS = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """The detected language, or None when the text is too short or too mixed to say; with the detector's confidence."""

    language: str | None
    confidence: float


class LanguageDetector:
    """Offline language detection over the 15 visitor languages with lingua (its models ship in the wheel).

    High-accuracy mode needs about 1.5 s and 490 MB to load and detects short messages far better;
    low-accuracy mode loads in under 0.1 s with about 30 MB.
    """

    def __init__(self, *, low_accuracy: bool = False, min_confidence: float = 0.1, min_lead: float = 1.5) -> None:
        builder = LanguageDetectorBuilder.from_languages(*_LINGUA_CODES).with_preloaded_language_models()
        if low_accuracy:
            builder = builder.with_low_accuracy_mode()
        self._detector = builder.build()
        self.min_confidence = min_confidence
        self.min_lead = min_lead

    def detect(self, text: str) -> LanguageGuess:
        """The likely language, or None unless the best one is well ahead; Bokmål and Nynorsk both count as `no`."""
        letters = len(_LETTERS.findall(text))
        if letters < 3:
            return LanguageGuess(None, 0.0)
        if len(_ARABIC_LETTERS.findall(text)) * 2 > letters:
            return LanguageGuess("ar", 1.0)
        totals: dict[str, float] = {}
        for value in self._detector.compute_language_confidence_values(text):
            code = _LINGUA_CODES[value.language]
            totals[code] = totals.get(code, 0.0) + value.value
        if not totals:
            return LanguageGuess(None, 0.0)
        ranked = sorted(totals.items(), key=lambda item: -item[1])
        code, confidence = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        sure = confidence >= self.min_confidence and confidence >= self.min_lead * runner_up
        return LanguageGuess(code if sure else None, confidence)


_detector: LanguageDetector | None = None
_detector_lock = threading.Lock()


def language_detector() -> LanguageDetector:
    """The process-wide detector, loaded on first use, once: loading holds the interpreter for seconds, so two
    threads asking at the same moment must not both load it."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                _detector = LanguageDetector()
    return _detector


def detect_language(text: str, hint: str | None = None) -> str | None:
    """BCP-47 code of the text; the widget's hint (if one of ours) when the text says too little; else None."""
    guess = language_detector().detect(text).language
    if guess is not None:
        return guess
    base = hint.split("-")[0].lower() if hint else None
    return base if base in _SUPPORTED else None


_SUPPORTED = frozenset(_LINGUA_CODES.values())

# --- Sentiment ----------------------------------------------------------------------------------------------------

SentimentLabel = Literal["positive", "neutral", "negative", "unknown"]
_EMOTICON = re.compile(
    r"(?:[:;=8xX][-'^]?[()\[\]DPpOo3/\\|])|(?:[()\[\]][-'^]?[:;=])|[\U0001F300-\U0001FAFF\u2600-\u27BF]"
)
_INSULTS = PhraseMatcher(FRUSTRATION, fuzzy_labels=())


@dataclass(frozen=True, slots=True)
class Sentiment:
    """Positive, neutral or negative with VADER's compound score (-1..1); unknown when there is no real signal."""

    label: SentimentLabel
    score: float | None

    @staticmethod
    def from_compound(compound: float) -> Sentiment:
        """VADER's usual cut-offs: ±0.05."""
        label: SentimentLabel = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
        return Sentiment(label, round(compound, 4))


@cache
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def vader_compound(text: str) -> float:
    """VADER's compound score for English text."""
    return float(_vader().polarity_scores(text)["compound"])


def analyze_sentiment(text: str, language: str | None) -> Sentiment:
    """VADER for English; elsewhere only emoticons, emoji and the insult lexicon count, otherwise "unknown"."""
    if language == "en":
        return Sentiment.from_compound(vader_compound(text))
    if _INSULTS.find(words(text)):
        return Sentiment("negative", -0.5)
    emoticons = _EMOTICON.findall(text)
    if emoticons:
        return Sentiment.from_compound(vader_compound(" ".join(emoticons)))
    return Sentiment("unknown", None)


def conversation_sentiment(transcript: Sequence[Turn], message: str | None, language: str | None) -> Sentiment:
    """Sentiment of the visitor's last three messages, the latest weighing most."""
    texts = [turn.text for turn in transcript if turn.author == "visitor"]
    if message:
        texts.append(message)
    scored = [(weight, analyze_sentiment(text, language)) for weight, text in zip((1, 2, 4), texts[-3:], strict=False)]
    known = [(weight, s.score) for weight, s in scored if s.score is not None]
    if not known:
        return Sentiment("unknown", None)
    total = sum(weight for weight, _ in known)
    return Sentiment.from_compound(sum(weight * score for weight, score in known) / total)


# --- Summary ------------------------------------------------------------------------------------------------------

_SMALL_TALK = PhraseMatcher(SMALL_TALK)
_SOURCE_LINE = re.compile(r"^[^\n:]{1,24}: (.+?) \(https?://[^)\s]+\)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Summary:
    """What a rep needs in ten seconds: what the visitor wants, what the AI tried, what is still open."""

    wants: str
    tried: tuple[str, ...]
    still_open: str | None
    text: str


def content_words(text: str) -> list[str]:
    """Words that carry meaning: no stopwords of any of our languages, no small talk."""
    tokens = words(text)
    small_talk = {i for match in _SMALL_TALK.find(tokens) for i in range(match.start, match.end)}
    common = stopwords(None)
    return [token for i, token in enumerate(tokens) if i not in small_talk and token not in common]


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _attempt(turn: Turn) -> str:
    sources = _SOURCE_LINE.findall(turn.text)
    label = f"answered from “{sources[0]}”" if sources else f"replied “{_clip(turn.text, 80)}”"
    if turn.confidence is not None and turn.confidence < 0.5:
        label += " (low confidence)"
    return label


def summarize(transcript: Sequence[Turn], message: str | None = None) -> Summary:
    """Extractive summary: the visitor's first real request, the AI's answers, and the latest open message."""
    visitor = [turn.text for turn in transcript if turn.author == "visitor"]
    if message:
        visitor.append(message)
    substantive = [text for text in visitor if len(content_words(text)) >= 2]
    wants = _clip(substantive[0] if substantive else (visitor[-1] if visitor else ""))
    tried = tuple(_attempt(turn) for turn in transcript if turn.author == "ai")
    latest = substantive[-1] if substantive else None
    still_open = _clip(latest) if latest is not None and _clip(latest) != wants else None
    lines = [f"Wants: {wants or '(nothing said yet)'}"]
    lines.append("Tried: " + ("; ".join(tried) if tried else "nothing yet"))
    if still_open:
        lines.append(f"Still open: {still_open}")
    return Summary(wants, tried, still_open, "\n".join(lines))


@dataclass(frozen=True, slots=True)
class ConversationAnalysis:
    """What every handoff and every AI resolution leaves for the team: the visitor's language, their sentiment and a
    summary."""

    language: str | None
    sentiment: Sentiment
    summary: Summary


def analyze_conversation(
    transcript: Sequence[Turn], message: str | None, hint: str | None = None
) -> ConversationAnalysis:
    """The analyzers over a conversation the AI hands off or resolves; `message` is the visitor's latest, if any."""
    language = detect_language(message, hint) if message else hint
    return ConversationAnalysis(language, conversation_sentiment(transcript, message, language),
                           summarize(transcript, message))
