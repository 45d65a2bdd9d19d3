"""The sample knowledge base and the evaluation set are well formed and agree with each other."""

from __future__ import annotations

import json
import re
from collections import Counter

from relaydesk.agent.sample import EVAL_LABELS, SAMPLE_KB_DIR, load_eval_messages, load_eval_topics

WIDGET_LANGUAGES = {"ar", "da", "de", "en", "es", "fi", "fr", "it", "nl", "no", "pl", "pt", "ro", "sv", "tr"}
URL_LINE = re.compile(r"^url: https://help\.[a-z0-9-]+\.example/(?P<slug>[a-z0-9-]+)$")


def _article_slugs() -> set[str]:
    return {path.stem for path in SAMPLE_KB_DIR.glob("*.md")}


def test_knowledge_base_has_at_least_55_articles() -> None:
    assert len(_article_slugs()) >= 55


def test_every_article_starts_with_a_title_and_its_own_url() -> None:
    for path in sorted(SAMPLE_KB_DIR.glob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("# ") and lines[0][2:].strip(), f"{path.name}: first line must be '# Title'"
        match = URL_LINE.match(lines[1])
        assert match, f"{path.name}: second line must be 'url: https://help.<company>.example/<slug>'"
        assert match["slug"] == path.stem, f"{path.name}: url slug {match['slug']!r} differs from the file name"


def test_every_article_body_has_150_to_500_words() -> None:
    for path in sorted(SAMPLE_KB_DIR.glob("*.md")):
        body = path.read_text(encoding="utf-8").split("\n", 2)[2]
        words = len(body.split())
        assert 150 <= words <= 500, f"{path.name}: {words} words"


def test_article_titles_are_distinct() -> None:
    titles = [path.read_text(encoding="utf-8").splitlines()[0] for path in SAMPLE_KB_DIR.glob("*.md")]
    assert len(titles) == len(set(titles))


def test_faq_pairs_point_at_existing_articles() -> None:
    slugs = _article_slugs()
    lines = (SAMPLE_KB_DIR / "faq.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 10
    for line in lines:
        pair = json.loads(line)
        assert set(pair) == {"question", "answer", "url"}
        assert pair["question"].strip() and pair["answer"].strip()
        assert pair["url"].rsplit("/", 1)[1] in slugs, pair["url"]


def test_eval_set_has_at_least_320_messages_with_unique_ids() -> None:
    messages = load_eval_messages()
    assert len(messages) >= 320
    ids = [message.id for message in messages]
    assert len(ids) == len(set(ids)), [id_ for id_, count in Counter(ids).items() if count > 1]


def test_every_label_appears() -> None:
    assert {message.label for message in load_eval_messages()} == set(EVAL_LABELS)


def test_every_widget_language_has_at_least_8_messages_and_no_other_language_appears() -> None:
    per_language = Counter(message.language for message in load_eval_messages())
    assert set(per_language) == WIDGET_LANGUAGES
    assert all(count >= 8 for count in per_language.values()), per_language


def test_answer_messages_name_an_existing_article_and_nothing_else() -> None:
    slugs = _article_slugs()
    for message in load_eval_messages():
        if message.label == "answer":
            assert message.article in slugs, f"{message.id}: unknown article {message.article!r}"
        else:
            assert message.article is None, f"{message.id}: only answers name an article"


def test_topic_messages_name_a_configured_topic_and_nothing_else() -> None:
    topics = load_eval_topics()
    assert len(topics) == len(set(topics)) and all(topic.strip() for topic in topics)
    for message in load_eval_messages():
        if message.label == "topic":
            assert message.topic in topics, f"{message.id}: unknown topic {message.topic!r}"
        else:
            assert message.topic is None, f"{message.id}: only topic messages name a topic"


def test_every_configured_topic_is_used() -> None:
    used = {message.topic for message in load_eval_messages()}
    assert set(load_eval_topics()) <= used


def test_messages_are_not_blank_and_answers_are_full_questions() -> None:
    for message in load_eval_messages():
        assert message.text.strip() == message.text and message.text, message.id
        if message.label == "answer":
            assert len(message.text) >= 20, f"{message.id}: answerable questions need at least 20 characters"
