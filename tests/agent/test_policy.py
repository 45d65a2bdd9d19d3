"""The handoff policy: asking for a person, topics, frustration, presets and office hours."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from relaydesk.agent import copy
from relaydesk.agent.decision import AgentContext, Turn
from relaydesk.agent.lexicon import LANGUAGES
from relaydesk.agent.policy import (
    HandoffPolicy,
    HandoffSettings,
    OfficeHours,
    TimeRange,
    Triggers,
    asks_for_person,
    compile_topic,
    has_insult,
    is_shouting,
    low_confidence_streak,
    matched_topic,
    repeat_count,
)

REQUESTS = {
    "ar": "أريد التحدث مع موظف من فضلك",
    "da": "Jeg vil gerne tale med et menneske",
    "de": "Kann ich bitte mit einem Mitarbeiter sprechen?",
    "en": "Can I talk to a human please?",
    "es": "Quiero hablar con una persona",
    "fi": "Haluan puhua ihmisen kanssa",
    "fr": "Je voudrais parler à un conseiller",
    "it": "Vorrei parlare con un operatore",
    "nl": "Ik wil graag met een medewerker praten",
    "no": "Kan jeg snakke med en person?",
    "pl": "Chcę porozmawiać z konsultantem",
    "pt": "Quero falar com um atendente",
    "ro": "Vreau să vorbesc cu un operator",
    "sv": "Jag vill prata med en människa",
    "tr": "Bir temsilciyle görüşmek istiyorum",
}


@pytest.mark.parametrize(("language", "message"), sorted(REQUESTS.items()))
def test_asking_for_a_person_is_recognised_in_every_language(language: str, message: str) -> None:
    assert asks_for_person(message)


@pytest.mark.parametrize(
    "message",
    [
        "HUMAN PLEASE",
        "can i talk to a humna",
        "agent!!",
        "is there a real person there?",
        "I'd rather chat with a person than a bot",
        "Ich will keinen Bot, ich will einen Menschen",
    ],
)
def test_typos_shouting_and_paraphrases_still_ask_for_a_person(message: str) -> None:
    assert asks_for_person(message)


@pytest.mark.parametrize(
    "message",
    [
        "how do I add a person to my team",
        "Can I invite someone to my workspace?",
        "Wie füge ich eine Person zu meinem Team hinzu?",
        "I don't need a person, just tell me the price",
        "Can I share a file with a person who has no account?",
        "How do I make a colleague an admin?",
    ],
)
def test_talking_about_people_is_not_asking_for_one(message: str) -> None:
    assert not asks_for_person(message)


def test_topics_match_their_words_synonyms_and_other_languages() -> None:
    rules = [compile_topic("refund requests"), compile_topic("legal threats or lawyers"), compile_topic("press")]
    assert matched_topic("I want my money back", "en", rules) == "refund requests"
    assert matched_topic("You will hear from my attorney", "en", rules) == "legal threats or lawyers"
    assert matched_topic("Je veux un remboursement", "fr", rules) == "refund requests"
    assert matched_topic("How do I request a new invoice?", "en", rules) is None
    assert matched_topic("I pressed the reset button", "en", rules) is None
    assert matched_topic("I am a journalist writing about you", "en", rules) == "press"


def test_frustration_signals() -> None:
    assert is_shouting("WHY DOES THIS NEVER WORK")
    assert not is_shouting("Is my VAT ID on the PDF?")
    assert has_insult("Das ist doch lächerlich")
    assert has_insult("Bu tamamen saçmalık")
    assert not has_insult("How do I cancel my plan?")


def test_the_same_question_asked_again_is_counted() -> None:
    transcript = (Turn("visitor", "How do I export all my files?"), Turn("ai", "Here is how..."))
    assert repeat_count("how can i export all of my files", transcript, "en") == 2
    assert repeat_count("What does the Team plan cost?", transcript, "en") == 1


def test_low_confidence_answers_in_a_row_are_counted_until_a_good_one() -> None:
    transcript = (
        Turn("ai", "a", confidence=0.2),
        Turn("ai", "b", confidence=0.9),
        Turn("visitor", "?"),
        Turn("ai", "c", confidence=0.1),
        Turn("visitor", "??"),
        Turn("ai", "d", confidence=0.2),
    )
    assert low_confidence_streak(transcript, 0.35) == 2


def test_preset_levels_resolve_to_triggers_and_advanced_uses_its_own() -> None:
    assert not HandoffSettings(level="ai_only").hands_off
    assert HandoffSettings().triggers.unproductive_turns == 2
    assert HandoffSettings(level="ai_first").triggers.attempts_before_handoff == 1
    custom = HandoffSettings(level="advanced", advanced=Triggers(frustration=False, unproductive_turns=5))
    assert not custom.triggers.frustration and custom.triggers.unproductive_turns == 5


def test_settings_reject_unknown_time_zones_and_inverted_hours() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        OfficeHours(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="must be after"):
        TimeRange(start=time(17), end=time(9))


def test_disabled_frustration_trigger_is_not_checked() -> None:
    policy = HandoffPolicy(HandoffSettings(level="advanced", advanced=Triggers(frustration=False)))
    assert policy.frustration(AgentContext("w", "s", "THIS IS USELESS GARBAGE"), "en") is None


HOURS = OfficeHours(
    timezone="Europe/Paris",
    weekly={
        day: [TimeRange(start=time(9), end=time(17))]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
    holidays=[date(2025, 12, 25)],
)


def test_office_hours_open_and_close_in_their_own_time_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert HOURS.is_open(datetime(2025, 12, 23, 10, 0, tzinfo=paris))
    assert not HOURS.is_open(datetime(2025, 12, 23, 17, 0, tzinfo=paris))
    assert HOURS.is_open(datetime(2025, 12, 23, 8, 30))  # naive means UTC: 09:30 in Paris
    assert not HOURS.is_open(datetime(2025, 12, 25, 10, 0, tzinfo=paris))


def test_next_opening_skips_holidays_and_weekends() -> None:
    paris = ZoneInfo("Europe/Paris")
    friday_evening = datetime(2025, 12, 26, 18, 0, tzinfo=paris)
    assert HOURS.next_opening(friday_evening) == datetime(2025, 12, 29, 9, 0, tzinfo=paris)
    christmas_eve = datetime(2025, 12, 24, 20, 0, tzinfo=paris)
    assert HOURS.next_opening(christmas_eve) == datetime(2025, 12, 26, 9, 0, tzinfo=paris)
    assert OfficeHours().next_opening(friday_evening) is None


def test_every_visitor_sentence_exists_in_all_fifteen_languages() -> None:
    for key, translations in copy.MESSAGES.items():
        assert set(translations) == set(LANGUAGES), key
    assert set(copy.WEEKDAYS) == set(LANGUAGES)
    assert copy.text("handoff", "pt-BR") == copy.MESSAGES["handoff"]["pt"]
    assert copy.text("handoff", "nb") == copy.MESSAGES["handoff"]["no"]
    assert copy.text("handoff", "ja") == copy.MESSAGES["handoff"]["en"]
