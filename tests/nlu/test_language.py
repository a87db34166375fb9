"""Telling another language from English (bot/nlu/language.py) and the NLU component using it."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.nlu.language import foreign_language
from bot.nlu.overlap import plain
from bot.settings import REPO_ROOT

# Our own sentences, as a shopper abroad might write them.
FOREIGN = [
    ("bonsoir, pourquoi mon colis est toujours en retard ?", "French"),
    ("je voudrais parler avec quelqu'un de votre service", "French"),
    ("ich habe meine Rechnung nicht bekommen", "German"),
    ("können Sie mir bitte helfen, mein Paket ist weg", "German"),
    ("el paquete todavía no ha llegado y estoy esperando desde hace una semana", "Spanish"),
    ("buongiorno, vorrei sapere dove si trova il mio pacco", "Italian"),
    ("boa tarde, ainda não recebi o meu reembolso", "Portuguese"),
    ("goedemiddag, ik heb een vraag over mijn bestelling", "Dutch"),
    ("dzień dobry, nie dostałem jeszcze zwrotu pieniędzy", "Polish"),
    ("hej, jeg har ikke fået min pakke endnu", None),
    ("здравствуйте, где мой заказ?", None),
    ("我的包裹还没有到", None),
    ("مرحبا، أين طلبي؟", None),
]
ENGLISH = [
    "any Le Creuset casserole dishes in blue?", "die cast model car for my son",
    "hola! where's my parcel", "merci for the help, bye", "Want vichy ideal white",
    "mail me at jan.kowalski@example.pl", "SH-100003", "cancle my ordr pls", "", "   ", "😀",
    "la la la", "café table refund", "con artists!!! where is my money",
]


@pytest.mark.parametrize("text, language", FOREIGN)
def test_another_language_is_recognised(text, language):
    verdict = foreign_language(text)
    assert verdict.foreign, text
    if language:
        assert verdict.language == language


@pytest.mark.parametrize("text", ENGLISH)
def test_english_and_odd_input_are_not_taken_for_another_language(text):
    assert not foreign_language(text).foreign


def test_no_english_training_example_is_taken_for_another_language():
    wrong = []
    for path in sorted((REPO_ROOT / "nlu_data").rglob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" not in item or item["intent"] == "other_language":
                continue
            for line in item["examples"].splitlines():
                if line.startswith("- ") and foreign_language(plain(line[2:])).foreign:
                    wrong.append((item["intent"], line))
    assert wrong == []


def test_non_strings_are_no_language():
    assert not foreign_language(None).foreign and not foreign_language(42).foreign


def test_the_guard_sets_other_language_for_sure_cases_only():
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.language_guard import LanguageGuard

    def parsed(text, intent="cancel_order", confidence=0.95):
        message = Message(data={"text": text})
        message.set("intent", {"name": intent, "confidence": confidence})
        message.set("intent_ranking", [{"name": intent, "confidence": confidence},
                                       {"name": "other_language", "confidence": 0.05}])
        return message

    guard = LanguageGuard(LanguageGuard.get_default_config())
    foreign, english = guard.process([parsed("je voudrais annuler ma commande, le colis est en retard"),
                                      parsed("cancel my order now please")])
    assert foreign.get("intent") == {"name": "other_language", "confidence": 1.0}
    assert foreign.get("intent_ranking") == [{"name": "other_language", "confidence": 1.0}]
    assert foreign.get("language") == {"foreign": True, "name": "French"}
    assert english.get("intent") == {"name": "cancel_order", "confidence": 0.95}
    assert english.get("language") is None


def test_the_guard_is_in_the_pipeline_before_the_fallback():
    names = [c["name"] for c in yaml.safe_load(Path(REPO_ROOT / "config.yml").read_text())[
        "pipeline"]]
    guard = names.index("bot.nlu.language_guard.LanguageGuard")
    assert names.index("DIETClassifier") < guard < names.index("FallbackClassifier")
