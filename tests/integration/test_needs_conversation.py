"""Need capture over REST against the real Rasa server, action server and trained model.

A shopper states a need over two turns (the product and budget, then the size the bot asks
for); the test checks the bot answered with a product_cards custom payload and that the needs
table holds one accumulated, redacted row. Run a model trained elsewhere with
``SHOP_TEST_MODEL=/path/model.tar.gz`` (read by tests/integration/conftest.py).
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.store.db import make_engine, session_scope
from bot.store.models import Need

pytestmark = pytest.mark.integration

BOOT_URL = "/p/fellrunner-waterproof-hiking-boot"


def need_rows(db_url: str, conversation_id: str) -> list[Need]:
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            rows = s.execute(select(Need).where(Need.conversation_id == conversation_id)
                             .order_by(Need.need_seq)).scalars().all()
            s.expunge_all()
            return rows
    finally:
        engine.dispose()


def text_of(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def cards_in(replies: list[dict]) -> list[dict]:
    return [r["custom"] for r in replies if isinstance(r.get("custom"), dict)
            and r["custom"].get("type") == "product_cards"]


def test_need_over_two_turns_is_logged_and_answered_with_cards(chat, servers):
    _, db_url = servers
    shopper = chat()
    first = shopper.say("I'm looking for hiking boots under 100")
    assert "What size do you need?" in text_of(first), first
    assert not cards_in(first)
    second = shopper.say("size 9, and email me at jo.bloggs@example.com")
    cards = cards_in(second)
    assert cards, second
    assert [p["url"] for p in cards[0]["products"]] == [BOOT_URL]
    assert cards[0]["products"][0] == {
        "id": 1, "name": "Fellrunner Waterproof Hiking Boot", "price": 89.99, "currency": "GBP",
        "url": BOOT_URL, "image": "/images/products/fellrunner-waterproof-hiking-boot.svg"}
    assert "Here's what I found for hiking boot:" in text_of(second)

    row, = need_rows(db_url, shopper.sender)
    assert (row.product, row.category, float(row.price_max), json.loads(row.size)) == (
        "hiking boot", "footwear", 100.0, ["9"])
    assert (row.status, json.loads(row.matched_product_ids), row.customer_id, row.turn) == (
        "matched", [1], None, 2)
    assert row.text == "size 9, and email me at [email]"  # redacted before it is stored
    # Anonymous: never scored.
    assert (row.propensity_probability, row.propensity_band,
            row.propensity_model_version) == (None, None, None)


def test_verified_shoppers_need_carries_their_score_or_none(chat, servers):
    _, db_url = servers
    alice = chat(customer_id=1)
    replies = alice.say("have you got hiking boots in brown size 9")
    assert cards_in(replies), replies
    row, = need_rows(db_url, alice.sender)
    assert (row.customer_id, row.status) == (1, "matched")
    # Scored with the promoted model when there is one (and Alice has enough history);
    # otherwise "no score": all three columns stay empty together.
    scored = (row.propensity_probability is not None, row.propensity_band is not None,
              row.propensity_model_version is not None)
    assert scored in ((True, True, True), (False, False, False))
    if row.propensity_band is not None:
        assert row.propensity_band in ("low", "medium", "high")
        assert 0.0 <= row.propensity_probability <= 1.0
