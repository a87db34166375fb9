"""Checks on our NLU training data (nlu_data/nlu) against the contract in docs/conversation.md."""
from __future__ import annotations

import re
from collections import defaultdict

import pytest
import yaml

from bot.settings import REPO_ROOT

NLU_DIR = REPO_ROOT / "nlu_data" / "nlu"
ENTITIES = {"order_number", "email", "product"}
MIN_EXAMPLES = 30
# [text](entity) or [text]{"entity": ...}
ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<entity>[^)]+)\)|\{(?P<json>[^}]+)\})")


def contract_intents() -> list[str]:
    doc = (REPO_ROOT / "docs" / "conversation.md").read_text(encoding="utf-8")
    section = doc.split("## Intents", 1)[1].split("## ", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, re.M)


def load_nlu() -> tuple[dict[str, list[str]], dict[str, str]]:
    """(intent -> raw examples, regex name -> pattern) from every file in nlu_data/nlu."""
    examples: dict[str, list[str]] = defaultdict(list)
    regexes: dict[str, str] = {}
    for path in sorted(NLU_DIR.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            lines = [
                line[2:].strip() for line in item["examples"].splitlines() if line.startswith("- ")
            ]
            if "intent" in item:
                examples[item["intent"]].extend(lines)
            elif "regex" in item:
                assert len(lines) == 1, f"one pattern per regex: {item['regex']}"
                regexes[item["regex"]] = lines[0]
    return examples, regexes


def plain(example: str) -> str:
    return ANNOTATION.sub(lambda m: m.group("text"), example)


def normalised(example: str) -> str:
    return re.sub(r"[^\w#@]+", " ", plain(example).lower()).strip()


EXAMPLES, REGEXES = load_nlu()


def test_contract_lists_the_37_intents():
    assert len(contract_intents()) == 37  # export_data: docs/privacy.md


@pytest.mark.parametrize("intent", contract_intents())
def test_every_intent_has_enough_examples(intent):
    assert len(EXAMPLES.get(intent, [])) >= MIN_EXAMPLES, intent


def test_no_intent_outside_the_contract():
    assert set(EXAMPLES) - set(contract_intents()) == set()


def test_no_duplicate_examples_within_or_across_intents():
    owners: dict[str, list[str]] = defaultdict(list)
    for intent, examples in EXAMPLES.items():
        for example in examples:
            owners[normalised(example)].append(intent)
    duplicates = {text: intents for text, intents in owners.items() if len(intents) > 1}
    assert duplicates == {}


def test_annotated_entities_are_the_three_we_use():
    used = defaultdict(int)
    for examples in EXAMPLES.values():
        for example in examples:
            for match in ANNOTATION.finditer(example):
                assert match.group("entity") in ENTITIES, example
                used[match.group("entity")] += 1
    assert set(used) == ENTITIES


def test_annotated_order_numbers_and_emails_match_their_regex_exactly():
    for examples in EXAMPLES.values():
        for example in examples:
            for match in ANNOTATION.finditer(example):
                entity = match.group("entity")
                if entity in REGEXES:
                    found = [
                        m.group(0) for m in re.finditer(REGEXES[entity], plain(example), re.I)
                    ]
                    assert match.group("text") in found, (entity, example)


def test_order_number_annotated_in_every_spelling():
    values = [
        m.group("text")
        for examples in EXAMPLES.values()
        for example in examples
        for m in ANNOTATION.finditer(example)
        if m.group("entity") == "order_number"
    ]
    spellings = {
        "SH-123456": r"SH-\d{6}",
        "SH 123456": r"SH \d{6}",
        "sh123456": r"sh\d{6}",
        "#123456": r"#\d{6}",
        "123456": r"\d{6}",
    }
    for name, shape in spellings.items():
        assert any(re.fullmatch(shape, value) for value in values), name


def find(entity: str, text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(REGEXES[entity], text, re.IGNORECASE)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SH-123456", "SH-123456"),
        ("SH 123456", "SH 123456"),
        ("sh123456", "sh123456"),
        ("sh-123456", "sh-123456"),
        ("#123456", "#123456"),
        ("123456", "123456"),
        ("where is my order SH-104233?", "SH-104233"),
        ("order #104233, thanks", "#104233"),
        ("it's 104233.", "104233"),
    ],
)
def test_order_number_regex_matches_shopper_spellings(text, expected):
    assert find("order_number", text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "call me on 07700 900123",
        "+44 7700 900123",
        "my number is 07700900123",
        "(555) 123-4567",
        "555-123456",
        "020 7946 0958",
        "1234567",
        "SH-1234567",
        "card 4111 1111 1111 1111",
        "zip code 94103",
    ],
)
def test_order_number_regex_ignores_phone_and_other_numbers(text):
    assert find("order_number", text) == []


def test_email_regex():
    assert find("email", "mail jo.bloggs@example.com or tom.r+shop@example.co.uk.") == [
        "jo.bloggs@example.com",
        "tom.r+shop@example.co.uk",
    ]
    assert find("email", "not an email: jo@ or @example.com") == []


def test_rasa_reads_the_same_examples():
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(NLU_DIR))
    counts = defaultdict(int)
    for message in data.intent_examples:
        counts[message.get("intent")] += 1
    assert dict(counts) == {intent: len(examples) for intent, examples in EXAMPLES.items()}
    assert {e["entity"] for m in data.entity_examples for e in m.get("entities", [])} == ENTITIES
