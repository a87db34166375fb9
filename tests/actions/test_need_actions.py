"""Need capture in the conversation: ``action_product_search`` with the needs service and the
propensity policy, against the fixture shop (hand-built trackers, CollectingDispatcher).

The propensity *model* is not trained here (too slow for a unit test): the services' propensity
service serves a fake scorer returning a fixed band. The customer's features are still read
from the shop DB by the real ``PropensityService.score_customer``; what is under test is how the
search uses the band (``offer_for``) and stores the score with the need.
"""
import json

import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy import select

from actions import replies
from actions.confirmation import ActionHandleConfirmation
from actions.product_search import ActionProductSearch
from bot.store.db import session_scope
from bot.store.models import Need
from propensity.registry import Registry
from propensity.scoring import PropensityService
from propensity.serve import Score
from service_helpers import make_services
from action_helpers import make_tracker, run, texts, token

BOOT_CARD = {"id": 1, "name": "Fellrunner Waterproof Hiking Boot", "price": 89.99,
             "currency": "GBP", "url": "/p/fellrunner-waterproof-hiking-boot",
             "image": "/images/products/fellrunner-waterproof-hiking-boot.svg"}
MORE_BUTTONS = [{"title": "Something else", "payload": "/product_search"},
                {"title": "That's all, thanks", "payload": "/thank"}]
# Slots the action sets back to None are sent only when they were set (no-op SlotSets dropped).


class FakeScorer:
    """Stands in for a promoted model: a fixed probability and band."""

    def __init__(self, probability, band, version="test-model-1"):
        self.probability, self.band, self.version = probability, band, version
        self.scored = []

    def score_row(self, customer_id, x):
        self.scored.append(customer_id)
        return Score(str(customer_id), self.probability, self.band, self.version)


class FakeModel(PropensityService):
    """The real service (features from the shop DB) with ``fake`` as the promoted model."""

    def __init__(self, engine, scorer, registry_root):
        super().__init__(engine, Registry(registry_root))
        self.fake = scorer

    def current(self):
        return self.fake


@pytest.fixture
def needs_env(shop, db_url, tmp_path, lazy_extractor):
    scorer = FakeScorer(0.7, "high")
    propensity = FakeModel(shop, scorer, tmp_path / "registry")
    services = make_services(db_url, shop, tmp_path, lazy_extractor, propensity=propensity)
    return {"engine": shop, "outbox": services.settings.needs_outbox, "scorer": scorer,
            "services": services}


def need_rows(engine):
    with session_scope(engine) as s:
        return [{"conversation_id": n.conversation_id, "need_seq": n.need_seq,
                 "customer_id": n.customer_id, "turn": n.turn, "text": n.text,
                 "product": n.product, "category": n.category,
                 "price_max": None if n.price_max is None else float(n.price_max),
                 "size": json.loads(n.size), "colour": json.loads(n.colour),
                 "status": n.status, "matched": json.loads(n.matched_product_ids),
                 "probability": n.propensity_probability, "band": n.propensity_band,
                 "model_version": n.propensity_model_version,
                 "back_in_stock": n.back_in_stock_requested_at}
                for n in s.execute(select(Need).order_by(Need.id)).scalars()]


def user_events(*texts_):
    return [{"event": "user", "text": t} for t in texts_]


async def say(services, text, slots=None, history=(), intent="product_search", **kw):
    tracker = make_tracker(intent=intent, text=text, slots=slots,
                           events=user_events(*history, text), **kw)
    return await run(ActionProductSearch(services), tracker)


def need_slot(events):
    return next(e["value"] for e in events if e.get("name") == "current_need")


async def test_need_over_two_turns_asks_for_the_size_then_shows_cards(needs_env):
    env = needs_env["services"]
    events, messages = await say(env, "I'm looking for hiking boots under 100")
    need = need_slot(events)
    assert need["product"] == "hiking boot" and need["price_max"] == 100 and need["size"] == []
    assert events == [SlotSet("current_need", need), SlotSet("need_question", True)]
    assert messages == [{"text": "What size do you need?", **EMPTY}]

    events, messages = await say(env, "size 9", slots={"current_need": need, "need_question": True},
                                 history=["I'm looking for hiking boots under 100"],
                                 intent="inform")
    need2 = need_slot(events)
    assert (need2["product"], need2["price_max"], need2["size"]) == ("hiking boot", 100, ["9"])
    assert events == [SlotSet("current_need", need2), SlotSet("need_question", None)]
    assert messages == [
        {"text": "Here's what I found for hiking boot:", **EMPTY, "buttons": MORE_BUTTONS},
        {**EMPTY, "text": None, "custom": {"type": "product_cards", "products": [BOOT_CARD]}},
    ]
    rows = need_rows(needs_env["engine"])
    assert len(rows) == 1
    assert rows[0] | {"back_in_stock": None} == {
        "conversation_id": "conv-1", "need_seq": 100, "customer_id": None, "turn": 2,
        "text": "size 9", "product": "hiking boot", "category": "footwear", "price_max": 100.0,
        "size": ["9"], "colour": [], "status": "matched", "matched": [1],
        "probability": None, "band": None, "model_version": None, "back_in_stock": None}


async def test_details_accumulate_across_turns(needs_env):
    env = needs_env["services"]
    need, history = None, []
    for text in ("running shoes", "under 100", "in blue"):
        history.append(text)
        events, _ = await say(env, text, slots={"current_need": need}, history=history[:-1],
                              intent="product_search" if text == "running shoes" else "inform")
        need = need_slot(events)
    assert (need["product"], need["price_max"], need["colour"]) == ("running shoe", 100, ["blue"])
    rows = need_rows(needs_env["engine"])
    assert [(r["product"], r["price_max"], r["colour"], r["status"], r["turn"]) for r in rows] == [
        ("running shoe", 100.0, ["blue"], "unmet:not_stocked", 3)]


async def test_unmet_need_is_passed_on_anonymous_gets_no_score(needs_env, monkeypatch):
    env = needs_env["services"]
    def never(*a, **k):
        raise AssertionError("an anonymous shopper must never be scored")

    monkeypatch.setattr(needs_env["services"].propensity, "score_customer", never)
    events, messages = await say(env, "do you have a casserole dish")
    need = need_slot(events)
    assert events == [SlotSet("current_need", need)]
    # Unscored: alternatives (none in stock in the kitchen category) + the back-in-stock offer,
    # which an anonymous shopper can only take up after signing in.
    assert texts(messages) == [
        "Sorry, we do sell casserole dish, but nothing that fits is in stock right now.",
        replies.BACK_IN_STOCK_SIGN_IN]
    row, = need_rows(needs_env["engine"])
    assert (row["status"], row["customer_id"], row["band"], row["probability"]) == (
        "unmet:out_of_stock", None, None, None)


async def test_verified_high_band_leads_with_the_best_match_and_stores_the_score(needs_env):
    env = needs_env["services"]
    events, messages = await say(env, "hiking boots in brown size 9", metadata=token(1))
    need = need_slot(events)
    assert events == [SlotSet("current_need", need)]
    assert needs_env["scorer"].scored == ["1"]
    assert messages[0]["text"].startswith(
        "The best match for you is the Fellrunner Waterproof Hiking Boot. Order today and it can "
        "be with you by ")
    assert messages[0]["buttons"] == MORE_BUTTONS
    assert messages[1]["custom"] == {"type": "product_cards", "products": [BOOT_CARD]}
    row, = need_rows(needs_env["engine"])
    assert (row["customer_id"], row["status"], row["probability"], row["band"],
            row["model_version"]) == (1, "matched", 0.7, "high", "test-model-1")


async def test_verified_low_band_unmet_offers_back_in_stock_and_records_yes(needs_env):
    env = needs_env["services"]
    needs_env["scorer"].band, needs_env["scorer"].probability = "low", 0.05
    events, messages = await say(env, "do you have a casserole dish", metadata=token(1))
    need = need_slot(events)
    assert events == [SlotSet("current_need", need), SlotSet("pending_action", "back_in_stock")]
    assert texts(messages) == [
        "Sorry, we do sell casserole dish, but nothing that fits is in stock right now.",
        replies.BACK_IN_STOCK_OFFER]
    assert messages[1]["buttons"] == [{"title": "Yes please", "payload": "/affirm"},
                                      {"title": "No thanks", "payload": "/deny"}]
    row, = need_rows(needs_env["engine"])
    assert (row["band"], row["probability"], row["back_in_stock"]) == ("low", 0.05, None)

    yes = make_tracker(intent="affirm", text="yes", metadata=token(1),
                       slots={"pending_action": "back_in_stock", "current_need": need},
                       events=[{"event": "action", "name": "action_product_search"},
                               {"event": "action", "name": "action_listen"},
                               {"event": "user", "text": "yes"}])
    events, messages = await run(ActionHandleConfirmation(needs_env["services"]), yes)
    assert texts(messages) == [replies.BACK_IN_STOCK_RECORDED]
    assert SlotSet("pending_action", None) in events
    assert need_rows(needs_env["engine"])[0]["back_in_stock"] is not None


async def test_no_model_means_no_score_and_the_plain_top_matches(needs_env):
    env = needs_env["services"]
    needs_env["services"].propensity.fake = None
    events, messages = await say(env, "hiking boots in brown size 9", metadata=token(1))
    assert texts(messages) == ["Here's what I found for hiking boot:", None]
    assert messages[1]["custom"]["products"] == [BOOT_CARD]
    row, = need_rows(needs_env["engine"])
    assert (row["customer_id"], row["band"], row["probability"]) == (1, None, None)


async def test_database_down_replies_politely_and_keeps_the_need(needs_env, db_down):
    events, messages = await say(db_down, "hiking boots in brown size 9", metadata=token(1))
    need = need_slot(events)
    assert events == [SlotSet("current_need", need)]
    assert texts(messages) == [
        "Sorry, I can't check our catalogue right now. I've noted that you're looking for hiking "
        "boot - please ask me again in a few minutes."]
    queued = [json.loads(line)
              for line in db_down.settings.needs_outbox.read_text().splitlines()]
    assert [(q["product"], q["customer_id"], q["text"]) for q in queued] == [
        ("hiking boot", 1, "hiking boots in brown size 9")]


@pytest.mark.parametrize("entities,text,expected", [
    ([], "is the casserole dish in stock", None),
    ([], "🥾🥾🥾", replies.ASK_PRODUCT),
    ([], "", replies.ASK_PRODUCT),
    ([], "/product_search", replies.ASK_PRODUCT),
])
async def test_no_need_falls_back_to_the_catalogue_search(needs_env, entities, text, expected):
    env = needs_env["services"]
    events, messages = await say(env, text, entities=entities)
    if expected is not None:
        assert texts(messages) == [expected]
        assert not need_rows(needs_env["engine"])


def parsed(text, intent):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


async def test_find_a_product_pressed_after_a_fallback_searches_what_the_shopper_wrote(needs_env):
    """The two-stage fallback replays the button, not the sentence: the need is still read."""
    env = needs_env["services"]
    history = [parsed("hello", "greet"),
               parsed("im after sum hiking boots under 100 for the lakes", "nlu_fallback"),
               parsed("/product_search", "product_search"),
               parsed("/product_search", "product_search")]  # the fallback's replay
    tracker = make_tracker(intent="product_search", text="/product_search", events=history)
    events, messages = await run(ActionProductSearch(env), tracker)
    need = need_slot(events)
    assert (need["product"], need["price_max"]) == ("hiking boot", 100)
    assert texts(messages) == ["What size do you need?"]


@pytest.mark.parametrize("before", ["hiking boots under 100", "thanks"])
async def test_a_button_anywhere_else_still_asks_what_they_are_looking_for(needs_env, before):
    """"Something else" under search results (or any button after a message the bot placed)
    is not a search for the words said before it."""
    history = [parsed(before, "product_search"), parsed("/product_search", "product_search")]
    tracker = make_tracker(intent="product_search", text="/product_search", events=history)
    _, messages = await run(ActionProductSearch(needs_env["services"]), tracker)
    assert texts(messages) == [replies.ASK_PRODUCT]


EMPTY = {"buttons": [], "elements": [], "custom": {}, "template": None, "response": None,
         "image": None, "attachment": None}
