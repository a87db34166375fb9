from datetime import date

import pytest

from bot.needs import normalise, rules
from bot.redact import redact


def _fields(mentions):
    return {(m.field, m.value) for m in mentions}


@pytest.mark.parametrize("text,expected", [
    ("below £60", {("price_max", 60), ("currency", "GBP")}),
    ("40-70 dollars", {("price_min", 40), ("price_max", 70), ("currency", "USD")}),
    ("no more than 150 euros", {("price_max", 150), ("currency", "EUR")}),
    ("250€ max", {("price_max", 250), ("currency", "EUR")}),
    ("under a tenner", {("price_max", 10), ("currency", "GBP")}),
    ("between 300 and 450", {("price_min", 300), ("price_max", 450)}),
    ("over $1,200", {("price_min", 1200), ("currency", "USD")}),
])
def test_prices(text, expected):
    assert _fields(rules.find_prices(text)) == expected


@pytest.mark.parametrize("text", ["size 6-11", "under 5kg", "2-3 years", "order 104233", "age 8"])
def test_numbers_that_are_not_prices(text):
    assert rules.find_prices(text) == []


@pytest.mark.parametrize("text,value", [
    ("two packs of batteries", 2), ("a dozen mugs", 12), ("x3", 3), ("pack of 6", 6),
    ("3 pack", 3),
])
def test_quantities(text, value):
    assert [m.value for m in rules.find_quantities(text)] == [value]


@pytest.mark.parametrize("text,sizes", [
    ("size 10", ["10"]), ("uk 9", ["9"]), ("any jumpers in M?", ["M"]), ("king size duvet", ["king"]),
    ("petite please", ["petite"]), ("age 8", ["8 years"]), ("sizes 11 and 13", ["11", "13"]),
    ("XL if you have it", ["XL"]),
])
def test_sizes(text, sizes):
    assert sorted(m.value for m in rules.find_sizes(text)) == sorted(sizes)


def test_dates_resolve_against_today():
    today = date(2026, 6, 15)  # a Monday
    assert [m.value for m in rules.find_dates("by Friday", today)] == ["2026-06-19"]
    assert [m.value for m in rules.find_dates("before Christmas", today)] == ["2026-12-25"]
    assert [m.value for m in rules.find_dates("tomorrow", today)] == ["2026-06-16"]


def test_vocabulary_longest_match_and_synonyms():
    found = _fields(rules.find_vocabulary("light blue noise cancelling for my grandma's bday"))
    assert ("colour", "light blue") in found and ("attributes", "lightweight") not in found
    assert ("attributes", "noise-cancelling") in found
    assert ("recipient", "grandmother") in found and ("occasion", "birthday") in found


def test_typo_correction_only_touches_unknown_words():
    assert normalise.correct_word("jaket") == "jacket"
    assert normalise.correct_word("sneekers") == "sneakers"
    assert normalise.correct_word("hedphones") == "headphones"
    assert normalise.correct_word("boats") == "boats"  # a real word stays
    assert normalise.correct_word("order") == "order"


def test_normal_forms():
    assert normalise.product_form("Football Boots") == "football boot"
    assert normalise.product_form("jeans") == "jeans"
    assert normalise.category_of("hiking boot") == "footwear"
    assert normalise.category_of("sneaker") == "footwear"
    assert normalise.recipient_form("my mum") == "mother"
    assert normalise.occasion_form("xmas") == "christmas"
    assert normalise.size_form("medium") == "M"
    assert normalise.colour_form("Gray") == "grey"


def test_redaction():
    text = ("mail jo.bloggs@example.com, call 07700 900123, card 4242 4242 4242 4242, "
            "I live at 14 Rowan Close, Leeds LS6 3QT, want size 10 boots under £60")
    out = redact(text)
    for secret in ("jo.bloggs", "900123", "4242 4242", "Rowan", "LS6"):
        assert secret not in out
    assert "size 10 boots under £60" in out
