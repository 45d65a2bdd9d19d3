"""Language detection, sentiment and the handoff summary."""

from __future__ import annotations

import pytest

from relaydesk.agent.analyzers import (
    analyze_sentiment,
    conversation_sentiment,
    detect_language,
    language_detector,
    summarize,
)
from relaydesk.agent.decision import Turn

SENTENCES = {
    "ar": "لا أستطيع تسجيل الدخول إلى حسابي منذ الأمس",
    "da": "Jeg kan ikke logge ind på min konto, og jeg har brug for hjælp med min adgangskode.",
    "de": "Ich kann mich seit gestern nicht mehr in mein Konto einloggen.",
    "en": "I have not been able to sign in to my account since yesterday.",
    "es": "No puedo iniciar sesión en mi cuenta desde ayer, ¿qué hago?",
    "fi": "En ole päässyt kirjautumaan tililleni eilisen jälkeen.",
    "fr": "Je n'arrive plus à me connecter à mon compte depuis hier.",
    "it": "Non riesco più ad accedere al mio account da ieri.",
    "nl": "Ik kan sinds gisteren niet meer inloggen op mijn account.",
    "no": "Jeg har ikke klart å logge inn på kontoen min siden i går, hva gjør jeg nå?",
    "pl": "Od wczoraj nie mogę zalogować się na moje konto.",
    "pt": "Não consigo entrar na minha conta desde ontem, o que devo fazer?",
    "ro": "Nu mă pot conecta la contul meu de ieri, ce să fac?",
    "sv": "Jag har inte kunnat logga in på mitt konto sedan i går, vad ska jag göra?",
    "tr": "Dünden beri hesabıma giriş yapamıyorum, ne yapmalıyım?",
}


@pytest.mark.parametrize(("language", "sentence"), sorted(SENTENCES.items()))
def test_each_visitor_language_is_detected(language: str, sentence: str) -> None:
    assert language_detector().detect(sentence).language == language


def test_too_little_text_is_undetermined_rather_than_guessed() -> None:
    assert language_detector().detect("ok").language is None
    assert language_detector().detect("hi").language is None


def test_widget_hint_fills_in_when_the_text_says_too_little() -> None:
    assert detect_language("ok", hint="pt-BR") == "pt"
    assert detect_language("ok", hint="ja") is None


def test_english_sentiment_comes_from_vader() -> None:
    assert analyze_sentiment("Thanks, this is great and really helpful!", "en").label == "positive"
    negative = analyze_sentiment("This is awful, I am very angry and disappointed.", "en")
    assert negative.label == "negative" and negative.score is not None and negative.score < -0.5


def test_other_languages_are_unknown_without_a_real_signal() -> None:
    assert analyze_sentiment("Ich kann mein Passwort nicht ändern.", "de").label == "unknown"
    assert analyze_sentiment("C'est nul, votre service est inutile.", "fr").label == "negative"
    assert analyze_sentiment("Danke 😊", "de").label == "positive"


def test_conversation_sentiment_weighs_the_latest_message_most() -> None:
    transcript = (Turn("visitor", "This is terrible and annoying."), Turn("ai", "Sorry to hear that."))
    sentiment = conversation_sentiment(transcript, "Thanks, that works great now!", "en")
    assert sentiment.label == "positive"


def test_summary_says_what_is_wanted_what_was_tried_and_what_is_open() -> None:
    transcript = (
        Turn("visitor", "hi"),
        Turn("visitor", "My invoice shows the wrong VAT number for my company"),
        Turn("ai", "You can add a VAT number in Settings.\n\nSource: Invoices and VAT (https://x.test/vat)", None, 0.7),
        Turn("visitor", "I did that but old invoices still show the wrong number"),
        Turn("ai", "I couldn't find an answer to that.", None, 0.1),
    )
    summary = summarize(transcript, "can someone fix the old invoices?")
    assert summary.wants == "My invoice shows the wrong VAT number for my company"
    assert summary.tried == (
        "answered from “Invoices and VAT”",
        "replied “I couldn't find an answer to that.” (low confidence)",
    )
    assert summary.still_open == "can someone fix the old invoices?"
    assert summary.text.splitlines()[0].startswith("Wants: My invoice")
