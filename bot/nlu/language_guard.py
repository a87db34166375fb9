"""A Rasa NLU component: a message that clearly reads as another language is ``other_language``.

It runs after the intent classifier and before the FallbackClassifier (config.yml). When
:func:`bot.nlu.language.foreign_language` says the text is in another language, the intent
becomes ``other_language`` with confidence 1.0 and the ranking holds it alone, so the fallback
never fires on it and the rules answer with ``utter_english_only`` (also inside a form): no
guess at an English topic, no "did you mean", no hand-over. The verdict is added to the parse
result under ``language`` (``{"foreign": true, "name": "French"}``) for logs and the console.
Payload messages ("/track_order") never reach NLU components, so buttons are unaffected.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.language import foreign_language

OTHER_LANGUAGE = "other_language"
LANGUAGE_KEY = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageGuard(GraphComponent, IntentClassifier):
    """Sets ``other_language`` for messages in another language (see the module doc)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": OTHER_LANGUAGE}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = config.get("intent", OTHER_LANGUAGE)

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "LanguageGuard":
        # Load the word lists now, not on the first shopper's message.
        foreign_language("warm up the word lists")
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            verdict = foreign_language(message.get(TEXT))
            if not verdict.foreign:
                continue
            intent = {INTENT_NAME_KEY: self.intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [dict(intent)], add_to_output=True)
            message.set(LANGUAGE_KEY, {"foreign": True, "name": verdict.language},
                        add_to_output=True)
        return messages
