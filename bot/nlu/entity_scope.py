"""A Rasa NLU component: product entities belong to product searches only.

DIET tags ``product`` from the shopping requests it was trained on (nlu_data, annotated only in
``product_search``), and now and then it tags a noun in other messages too: "this laptop has my
flatmate's account open" is an account question, not a need. Only the product search reads the
entity (as a hint beside the need extractor, ``actions/product_search.py``), so the component
drops ``product`` entities from every message whose intent, after the classifiers, is something
else; order numbers and emails are untouched. It runs after the intent classifiers and before the
FallbackClassifier: a product search that falls back keeps its entity for the "did you mean".
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE, INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class EntityScope(GraphComponent):
    """Keeps each scoped entity only on messages with one of its intents (module doc)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"scopes": {"product": ["product_search"]}}

    def __init__(self, config: Dict[Text, Any]) -> None:
        scopes = config.get("scopes") or {}
        self.scopes = {entity: frozenset(intents) for entity, intents in scopes.items()}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "EntityScope":
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            kept = [e for e in entities if self.keeps(e.get(ENTITY_ATTRIBUTE_TYPE), intent)]
            if len(kept) != len(entities):
                message.set(ENTITIES, kept, add_to_output=True)
        return messages

    def keeps(self, entity: Text | None, intent: Text | None) -> bool:
        allowed = self.scopes.get(entity)
        return allowed is None or intent in allowed
