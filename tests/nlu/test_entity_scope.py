"""Product entities only on product searches (bot/nlu/entity_scope.py)."""
from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.nlu.entity_scope import EntityScope


def message(intent: str, *entities: tuple[str, str]) -> Message:
    return Message(data={
        "text": "some text",
        "intent": {"name": intent, "confidence": 0.9},
        "entities": [{"entity": name, "value": value, "start": 0, "end": len(value),
                      "extractor": "DIETClassifier"} for name, value in entities],
    })


def scope() -> EntityScope:
    return EntityScope.create(EntityScope.get_default_config(), None, None, None)


def test_a_product_in_an_account_question_is_dropped_and_the_order_number_kept():
    m = message("switch_account", ("product", "laptop"), ("order_number", "SH-104233"))
    scope().process([m])
    assert [e["entity"] for e in m.get("entities")] == ["order_number"]


def test_a_product_search_keeps_its_products():
    m = message("product_search", ("product", "hiking boots"), ("product", "waterproof"))
    scope().process([m])
    assert [e["value"] for e in m.get("entities")] == ["hiking boots", "waterproof"]


def test_other_entities_and_messages_without_entities_are_untouched():
    plain, email = message("greet"), message("inform", ("email", "jan@example.com"))
    scope().process([plain, email])
    assert plain.get("entities") == []
    assert [e["value"] for e in email.get("entities")] == ["jan@example.com"]


def test_scopes_come_from_the_config():
    custom = EntityScope.create({"scopes": {"product": ["product_search", "complaint"]}},
                                None, None, None)
    m = message("complaint", ("product", "kettle"))
    custom.process([m])
    assert [e["value"] for e in m.get("entities")] == ["kettle"]


def test_the_product_entity_is_annotated_only_where_the_scope_keeps_it_or_asks_how_to_buy():
    """Training data agrees with the scope: no product annotated in complaints, accounts..."""
    import yaml

    from bot.settings import REPO_ROOT

    annotated = set()
    for path in sorted((REPO_ROOT / "nlu_data").glob("*/*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" in item and "](product)" in item.get("examples", ""):
                annotated.add(item["intent"])
    assert annotated == {"product_search", "place_order"}
