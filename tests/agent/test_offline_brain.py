"""The offline brain end to end: answers, small talk, handoffs per level, office hours, and its evaluation."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from relaydesk.agent import copy
from relaydesk.agent.decision import AgentContext, Answer, Brain, HandOff, Resolve, Turn
from relaydesk.agent.evaluation import run_evaluation
from relaydesk.agent.offline import OfflineBrain, small_talk
from relaydesk.agent.policy import HandoffSettings, OfficeHours, TimeRange
from relaydesk.agent.retrieval import PassageIndex
from relaydesk.agent.sample import EvalMessage

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS_9_TO_17 = OfficeHours(
    timezone="Europe/Paris",
    weekly={
        d: [TimeRange(start=time(9), end=time(17))] for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
)
SATURDAY_NIGHT = datetime(2025, 6, 7, 23, 0, tzinfo=PARIS)


def ask(brain: OfflineBrain, message: str, *transcript: Turn, **context: object) -> object:
    return brain.decide_now(AgentContext("w", "s", message, tuple(transcript), **context))  # type: ignore[arg-type]


async def test_brain_satisfies_the_brain_protocol(quick_brain: OfflineBrain) -> None:
    brain: Brain = quick_brain
    decision = await brain.decide(AgentContext("w", "s", "hello"))
    assert isinstance(decision, Answer)


def test_answer_extracts_the_steps_and_cites_title_and_url(quick_brain: OfflineBrain) -> None:
    decision = ask(quick_brain, "I forgot my password, how do I reset it?")
    assert isinstance(decision, Answer)
    assert "1. On the sign-in page, select Forgot password." in decision.text
    assert "4. Choose a new password and confirm it." in decision.text
    assert "Password rules" not in decision.text
    assert decision.text.endswith("Source: Reset your password (https://help.example.test/reset-password)")
    assert decision.citations[0].url == "https://help.example.test/reset-password"
    assert decision.confidence >= 0.35


def test_answer_picks_the_sentence_that_answers_not_the_whole_article(quick_brain: OfflineBrain) -> None:
    decision = ask(quick_brain, "Do files shared with me count against my storage quota?")
    assert isinstance(decision, Answer)
    assert "do not count against your quota" in decision.text
    assert "empty the trash" not in decision.text


def test_foreign_visitor_gets_the_english_article_introduced_in_their_language(quick_brain: OfflineBrain) -> None:
    decision = ask(quick_brain, "Wie aktiviere ich die Zwei-Faktor-Authentifizierung?")
    assert isinstance(decision, Answer)
    assert decision.text.startswith(copy.MESSAGES["answer_in_english"]["de"])
    assert "Quelle: Turn on two-step verification" in decision.text


def test_small_talk_is_answered_and_a_solved_problem_resolves(quick_brain: OfflineBrain) -> None:
    assert small_talk("Hi there!") == "greeting"
    assert small_talk("hi, how do I reset my password?") is None
    assert small_talk("thanks a lot!") == "thanks"
    assert small_talk("non funziona") is None
    greeting = ask(quick_brain, "Bonjour")
    assert isinstance(greeting, Answer) and greeting.text == copy.MESSAGES["greeting"]["fr"]
    assert isinstance(ask(quick_brain, "That worked, thanks! Bye"), Resolve)
    assert isinstance(ask(quick_brain, "Perfect, thank you"), Answer)


def test_asking_for_a_person_hands_off_with_a_message_in_the_visitors_language(quick_brain: OfflineBrain) -> None:
    decision = ask(quick_brain, "Je voudrais parler à un conseiller, s'il vous plaît")
    assert decision == HandOff("explicit_request", None, copy.MESSAGES["handoff"]["fr"])


def test_adding_a_person_to_a_team_is_answered_not_handed_off(quick_brain: OfflineBrain) -> None:
    decision = ask(quick_brain, "how do I add a person to my team")
    assert isinstance(decision, Answer)
    assert decision.citations[0].title == "Add people to your team"


def test_configured_topic_hands_off_and_names_the_topic(quick_brain: OfflineBrain) -> None:
    decision = ask(quick_brain, "I want my money back for this year")
    assert isinstance(decision, HandOff) and decision.reason == "topic" and decision.topic == "refund requests"


def test_frustration_hands_off(quick_brain: OfflineBrain) -> None:
    decision = ask(quick_brain, "This is useless, you are not listening at all")
    assert isinstance(decision, HandOff) and decision.reason == "frustration"


def test_repeated_unsure_answers_hand_off_as_unproductive(quick_brain: OfflineBrain) -> None:
    transcript = (
        Turn("visitor", "what about the blue widget thing"),
        Turn("ai", "I couldn't find that.", confidence=0.1),
        Turn("visitor", "the gizmo in the corner"),
        Turn("ai", "I couldn't find that either.", confidence=0.05),
    )
    decision = ask(quick_brain, "ok so what now", *transcript)
    assert isinstance(decision, HandOff) and decision.reason == "unproductive"


def test_off_topic_question_is_declined_without_a_handoff(quick_brain: OfflineBrain) -> None:
    decision = ask(quick_brain, "Write me a poem about cats")
    assert isinstance(decision, Answer) and not decision.citations
    assert decision.text == copy.MESSAGES["dont_know"]["en"]


def test_in_domain_question_without_an_answer_is_handed_off_by_the_ai(quick_brain: OfflineBrain) -> None:
    decision = ask(quick_brain, "Why was my password email address account security code sent twice?")
    assert isinstance(decision, HandOff | Answer)
    if isinstance(decision, HandOff):
        assert decision.reason == "ai_decision"


def test_ai_only_declines_requests_and_topics_politely(test_index: PassageIndex) -> None:
    brain = OfflineBrain(test_index, HandoffSettings(level="ai_only", topics=["refund requests"]))
    assert ask(brain, "Quiero hablar con una persona") == Answer(copy.MESSAGES["decline_handoff"]["es"], 1.0)
    assert ask(brain, "I want a refund") == Answer(copy.MESSAGES["decline_topic"]["en"], 1.0)
    assert isinstance(ask(brain, "THIS IS USELESS GARBAGE!!!"), Answer)


def test_balanced_asks_what_it_is_about_before_handing_off(test_index: PassageIndex) -> None:
    brain = OfflineBrain(test_index, HandoffSettings(level="balanced"))
    first = ask(brain, "human please")
    assert isinstance(first, Answer) and first.text == copy.MESSAGES["ask_problem"]["en"]
    second = ask(brain, "my invoice is wrong", Turn("visitor", "human please"), Turn("ai", first.text))
    assert isinstance(second, HandOff) and second.reason == "explicit_request"
    direct = ask(brain, "I want to talk to a person about my invoice")
    assert isinstance(direct, HandOff)


def test_ai_first_tries_an_answer_before_handing_off(test_index: PassageIndex) -> None:
    brain = OfflineBrain(test_index, HandoffSettings(level="ai_first"))
    message = "I forgot my password, can I talk to a person?"
    first = ask(brain, message)
    assert isinstance(first, Answer) and first.text.startswith(copy.MESSAGES["try_first"]["en"])
    again = ask(
        brain,
        "still stuck, let me talk to a person",
        Turn("visitor", message),
        Turn("ai", first.text, confidence=first.confidence),
    )
    assert isinstance(again, HandOff)


def test_out_of_hours_handoff_says_when_a_person_will_answer(test_index: PassageIndex) -> None:
    brain = OfflineBrain(test_index, HandoffSettings(office_hours=WEEKDAYS_9_TO_17))
    decision = ask(brain, "Ich möchte mit einem Mitarbeiter sprechen", now=SATURDAY_NIGHT)
    assert isinstance(decision, HandOff) and decision.reason == "explicit_request"
    assert decision.message is not None and "Montag 09:00 CEST" in decision.message


def test_out_of_hours_the_ai_collects_an_email_first(test_index: PassageIndex) -> None:
    settings = HandoffSettings(office_hours=WEEKDAYS_9_TO_17, out_of_hours="ai_collects_email")
    brain = OfflineBrain(test_index, settings)
    request = "I want to talk to a human"
    asked = ask(brain, request, now=SATURDAY_NIGHT)
    assert isinstance(asked, Answer) and asked.text.startswith("Our team is offline right now (we open Monday 09:00")
    given = ask(
        brain, "sure, it's ana@example.test", Turn("visitor", request), Turn("ai", asked.text), now=SATURDAY_NIGHT
    )
    assert isinstance(given, HandOff) and given.reason == "office_hours"
    assert given.message is not None and "ana@example.test" in given.message
    verified = ask(brain, request, now=SATURDAY_NIGHT, custom_data={"email": "bo@example.test"})
    assert isinstance(verified, HandOff) and verified.reason == "explicit_request"


def test_evaluation_reports_every_figure_against_its_target(tmp_path: Path, articles: dict[str, str]) -> None:
    for slug, text in articles.items():
        (tmp_path / f"{slug}.md").write_text(text, encoding="utf-8")
    messages = [
        EvalMessage("1", "How do I turn on two-step verification?", "en", "answer", article="two-step-verification"),
        EvalMessage("2", "¿Cuánto tarda el envío del Hub?", "es", "answer", article="device-shipping"),
        EvalMessage("3", "I want to talk to a human", "en", "explicit_request"),
        EvalMessage("4", "I want my money back", "en", "topic", topic="refund requests"),
        EvalMessage("5", "this is useless garbage", "en", "frustration"),
        EvalMessage("6", "thanks!", "en", "small_talk"),
        EvalMessage("7", "What is the capital of Australia?", "en", "off_topic"),
    ]
    report = run_evaluation(messages=messages, topics=["refund requests"], knowledge_dir=tmp_path, latency_passages=500)
    assert report["answer_accuracy"] == 1.0
    assert report["handoff"]["explicit_request"] == {"support": 1, "recall": 1.0, "precision": 1.0}
    assert report["handoff"]["topic"]["topic_named_correctly"] == 1.0
    assert report["false_handoff_rate"] == 0.0
    assert report["latency_ms"]["passages"] == 500 and report["latency_ms"]["p99"] < 50
    assert set(report["targets"]) == {
        "explicit_request_recall",
        "false_handoff_rate",
        "answer_accuracy",
        "language_accuracy",
        "latency_p99_ms",
    }
