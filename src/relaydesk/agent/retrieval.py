"""BM25 search over knowledge passages, with Snowball stemming per language and cross-language support vocabulary."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from relaydesk.agent.knowledge import KnowledgeBase, Passage
from relaydesk.agent.lexicon import ENGLISH_SYNONYMS, KEYWORDS, PhraseMatcher, stopwords, within_one_edit, words

STEMMERS: dict[str, str] = {
    "ar": "arabic",
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "it": "italian",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "sv": "swedish",
    "tr": "turkish",
}
# Languages close enough that a visitor's word may be listed under a neighbour (and detection may confuse them).
_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "da": ("da", "no", "sv"),
    "no": ("no", "da", "sv"),
    "sv": ("sv", "no", "da"),
    "es": ("es", "pt"),
    "pt": ("pt", "es"),
}
INDEX_DIR = "index"
_PASSAGES_FILE = "passages.json"
_FINGERPRINT_FILE = "fingerprint"
TITLE_WEIGHT = 2
# Words of another language that the vocabulary cannot translate say little about whether an article fits.
UNTRANSLATED_WEIGHT = 0.35


@cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(STEMMERS.get(language, "english"))


def terms(text: str, language: str = "en") -> list[str]:
    """Index terms of a text: folded words without stopwords, stemmed in the text's language."""
    common = stopwords(language if language in STEMMERS else "en")
    kept = [word for word in words(text) if word not in common and (len(word) > 1 or word.isdigit())]
    return list(_stemmer(language if language in STEMMERS else "en").stemWords(kept))


@cache
def _keyword_matcher() -> PhraseMatcher:
    return PhraseMatcher(
        {english: {language: phrases for language, phrases in row.items()} for english, row in KEYWORDS.items()}
    )


@cache
def _keyword_stems(language: str) -> dict[str, tuple[str, ...]]:
    """Stems of the one-word entries of the cross-language vocabulary in one language, to catch inflected forms."""
    table: dict[str, list[str]] = {}
    for english, row in KEYWORDS.items():
        for phrase in row.get(language, ()):
            if " " not in phrase.strip() and not phrase.endswith("*"):
                for stem in terms(phrase, language):
                    table.setdefault(stem, []).append(english)
    return {stem: tuple(dict.fromkeys(labels)) for stem, labels in table.items()}


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """A visitor's question as index terms: each content word with the terms that stand for it."""

    groups: tuple[tuple[str, ...], ...]

    @property
    def flat(self) -> list[str]:
        """Every distinct term, first occurrence first."""
        return list(dict.fromkeys(term for group in self.groups for term in group))


def analyze_query(text: str, language: str | None) -> QueryTerms:
    """Terms for a question: stems in its language, English stems of the same words (loanwords, product names)
    and, for other languages, the English support words that the cross-language vocabulary maps them to."""
    language = language if language in STEMMERS else None
    tokens = words(text)
    groups: list[tuple[str, ...]] = []
    covered: set[int] = set()
    if language != "en":
        allowed = set(_NEIGHBOURS.get(language, (language,))) if language else None
        seen: set[tuple[str, int, int]] = set()
        for match in _keyword_matcher().find(tokens):
            key = (match.label, match.start, match.end)
            if (allowed is not None and match.language not in allowed) or key in seen:
                continue
            seen.add(key)
            english = tuple(terms(match.label, "en"))
            if english:
                native = tuple(terms(" ".join(tokens[match.start : match.end]), language or "en"))
                groups.append(tuple(dict.fromkeys(english + native)))
                covered.update(range(match.start, match.end))
    common = stopwords(language) if language else stopwords(None)
    if language != "en":
        common = common | stopwords("en")
    for index, token in enumerate(tokens):
        if index in covered or token in common or (len(token) < 2 and not token.isdigit()):
            continue
        group = [*terms(token, language or "en"), *(terms(token, "en") if language not in (None, "en") else [])]
        if language not in (None, "en"):
            for neighbour in _NEIGHBOURS.get(language, (language,)):
                for stem in terms(token, neighbour):
                    for label in _keyword_stems(neighbour).get(stem, ()):
                        group.extend(terms(label, "en"))
        for synonym in ENGLISH_SYNONYMS.get(token, ()):
            group.extend(terms(synonym, "en"))
        if group:
            groups.append(tuple(dict.fromkeys(group)))
    return QueryTerms(tuple(groups))


@dataclass(frozen=True, slots=True)
class Hit:
    """A passage and its BM25 score."""

    passage: Passage
    score: float


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Ranked passages and how sure the index is about the best one.

    `coverage`: share of the question's weight (by IDF) found in the best passage; `known`: share of the question's
    words the knowledge base uses at all (low means the question is about something else); `margin`: how far the best
    document is ahead of the next one. `confidence` combines the three (square root of their weighted product, so
    that a passage covering half the question with a clear lead scores about 0.6).
    """

    query: QueryTerms
    hits: tuple[Hit, ...]
    weights: dict[str, float]
    coverage: float
    known: float
    margin: float
    confidence: float


EMPTY_DOCUMENT_TERM = "\x00empty"


class PassageIndex:
    """The BM25 index over a knowledge base's passages."""

    def __init__(self, passages: Sequence[Passage], retriever: bm25s.BM25) -> None:
        self.passages = list(passages)
        self._retriever = retriever
        self._vocabulary: dict[str, int] = {term: index for term, index in retriever.vocab_dict.items() if term}
        indptr = np.asarray(retriever.scores["indptr"])
        self._indices = np.asarray(retriever.scores["indices"])
        self._indptr = indptr
        frequency = np.diff(indptr)
        count = max(len(self.passages), 1)
        self._idf = np.log(1.0 + (count - frequency + 0.5) / (frequency + 0.5))
        self._max_idf = float(math.log(1.0 + (count - 0.5) / 1.5))
        self._typo_index: dict[str, list[str]] | None = None

    @classmethod
    def build(cls, passages: Sequence[Passage]) -> PassageIndex:
        """Index passages (title weighted double) with BM25."""
        corpus = [
            terms(" ".join([p.title] * TITLE_WEIGHT + [p.heading or "", p.text]), p.language) or [""] for p in passages
        ]
        if not corpus:
            # bm25s cannot index nothing; a workspace without documents searches one empty document instead.
            corpus = [[EMPTY_DOCUMENT_TERM]]
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        return cls(passages, retriever)

    def save(self, directory: Path, fingerprint: str = "") -> None:
        """Write the index and its passages to a directory."""
        directory.mkdir(parents=True, exist_ok=True)
        self._retriever.save(str(directory), show_progress=False)
        (directory / _PASSAGES_FILE).write_text(
            json.dumps([asdict(p) for p in self.passages], ensure_ascii=False), encoding="utf-8"
        )
        (directory / _FINGERPRINT_FILE).write_text(fingerprint, encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> PassageIndex:
        """Read an index written by `save`."""
        passages = [Passage(**item) for item in json.loads((directory / _PASSAGES_FILE).read_text(encoding="utf-8"))]
        retriever = bm25s.BM25.load(str(directory), show_progress=False, verbosity=0)
        return cls(passages, retriever)

    @classmethod
    def for_knowledge_base(cls, knowledge: KnowledgeBase) -> PassageIndex:
        """The index of a knowledge base: loaded from its directory when current, else built (and saved)."""
        if knowledge.directory is None:
            return cls.build(knowledge.passages)
        directory = knowledge.directory / INDEX_DIR
        fingerprint_file = directory / _FINGERPRINT_FILE
        if fingerprint_file.exists() and fingerprint_file.read_text(encoding="utf-8") == knowledge.fingerprint:
            return cls.load(directory)
        index = cls.build(knowledge.passages)
        index.save(directory, knowledge.fingerprint)
        return index

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term; unknown terms get none."""
        index = self._vocabulary.get(term)
        return float(self._idf[index]) if index is not None else 0.0

    def correct(self, token: str) -> str | None:
        """The indexed stem a misspelt English word most likely means (one typo away from it or its stem's length)."""
        if len(token) < 5 or not token.isalpha():
            return None
        if self._typo_index is None:
            self._typo_index = {}
            for stem in self._vocabulary:
                if len(stem) >= 5 and stem.isalpha():
                    for key in {stem, *(stem[:i] + stem[i + 1 :] for i in range(len(stem)))}:
                        self._typo_index.setdefault(key, []).append(stem)
        candidates: set[str] = set()
        for size in range(5, len(token) + 2):
            head = token[:size]
            for key in {head, *(head[:i] + head[i + 1 :] for i in range(len(head)))}:
                candidates.update(
                    stem
                    for stem in self._typo_index.get(key, ())
                    if stem[0] == token[0] and abs(len(stem) - size) <= 1 and within_one_edit(head, stem)
                )
        if not candidates:
            return None
        return max(candidates, key=lambda stem: (len(stem), -self.idf(stem)))

    def _contains(self, term_id: int, passage_index: int) -> bool:
        row = self._indices[self._indptr[term_id] : self._indptr[term_id + 1]]
        position = int(np.searchsorted(row, passage_index))
        return position < len(row) and int(row[position]) == passage_index

    def search(self, text: str, *, language: str | None = None, k: int = 5) -> SearchResult:
        """Best passages for a question, with coverage, margin and a confidence between 0 and 1."""
        query = analyze_query(text, language)
        if language in (None, "en"):
            query = QueryTerms(
                tuple(
                    group
                    if any(t in self._vocabulary for t in group) or not (fix := self.correct(group[0]))
                    else (*group, fix)
                    for group in query.groups
                )
            )
        term_ids = [self._vocabulary[t] for t in query.flat if t in self._vocabulary]
        weights = {t: self.idf(t) for t in query.flat if t in self._vocabulary}
        if not term_ids or not self.passages:
            return SearchResult(query, (), weights, 0.0, 0.0, 0.0, 0.0)
        scores = self._retriever.get_scores(term_ids)
        count = min(k * 4, len(scores))
        top = np.argpartition(-scores, count - 1)[:count]
        ranked = [int(i) for i in top[np.argsort(-scores[top], kind="stable")] if scores[i] > 0]
        hits: list[Hit] = []
        for i in ranked:
            if len(hits) < k:
                hits.append(Hit(self.passages[i], float(scores[i])))
        if not hits:
            return SearchResult(query, (), weights, 0.0, 0.0, 0.0, 0.0)
        best_index = ranked[0]
        group_weights: list[float] = []
        group_found: list[bool] = []
        for group in query.groups:
            known = [t for t in group if t in self._vocabulary]
            unknown_weight = self._max_idf if language in (None, "en") else self._max_idf * UNTRANSLATED_WEIGHT
            group_weights.append(max((self.idf(t) for t in known), default=unknown_weight))
            group_found.append(any(self._contains(self._vocabulary[t], best_index) for t in known))
        total = sum(group_weights) or 1.0
        coverage = sum(w for w, found in zip(group_weights, group_found, strict=True) if found) / total
        known_share = sum(1 for group in query.groups if any(t in self._vocabulary for t in group)) / max(
            len(query.groups), 1
        )
        best_doc = hits[0].passage.doc_id
        runner_up = next((float(scores[i]) for i in ranked if self.passages[i].doc_id != best_doc), 0.0)
        margin = (hits[0].score - runner_up) / hits[0].score
        strength = coverage * (0.55 + 0.45 * min(1.0, margin * 2.5)) * (0.6 + 0.4 * known_share)
        confidence = math.sqrt(strength)
        return SearchResult(query, tuple(hits), weights, coverage, known_share, margin, round(confidence, 4))
