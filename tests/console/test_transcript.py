"""Reading one conversation from the tracker store (bot.console.transcript)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from bot.console import transcript
from bot.console.transcript import Guess, load
from bot.needs.follow import TrackerUnavailable, tracker_engine
from bot.needs.service import message_key
from bot.store.models import Need

C = "conv-1"


def _conversation(t):
    """A chat with every kind of event the console shows or skips; returns the ids."""
    ids = {}
    ids["session"] = t.session_start(C)
    ids["greet"] = t.user(C, "hello there", "greet", 0.93,
                          ranking=[("greet", 0.93), ("thank", 0.04), ("deny", 0.03)])
    t.action(C, "utter_greet")
    ids["hi"] = t.bot(C, "Hi! How can I help?", utter_action="utter_greet")
    t.action(C, "action_listen")
    ids["boots"] = t.user(C, "any hiking boots", "product_search", 0.41,
                          ranking=[("product_search", 0.41), ("place_order", 0.38)],
                          entities=[{"entity": "product", "value": "hiking boots", "start": 4,
                                     "end": 16, "extractor": "DIETClassifier"}])
    t.action(C, "action_product_search")
    ids["found"] = t.bot(C, "Here's what I found for hiking boots:")
    ids["cards"] = t.bot(C, None, custom={"type": "product_cards", "products": [
        {"id": 1, "name": "Trail Boot"}, {"id": 2, "name": "Peak <Boot>"}]})
    t.action(C, "action_listen")
    ids["huh"] = t.user(C, "blorp the zibble", "nlu_fallback", 0.6,
                        ranking=[("nlu_fallback", 0.6), ("track_order", 0.35),
                                 ("greet", 0.2)])
    t.action(C, "action_two_stage_fallback")
    ids["rephrase"] = t.bot(C, "Sorry, could you say that another way?",
                            utter_action="utter_ask_rephrase")
    t.action(C, "action_listen")
    ids["pause"] = t.pause(C)
    ids["joined"] = t.agent(C, "", kind="joined", name="Sam", message_id=7)
    ids["agent"] = t.agent(C, "Hi, I'm <Sam>. Let me look.", name="Sam", message_id=8)
    ids["rating"] = t.bot(C, "How did we do?", custom={"type": "rating_request"})
    ids["back"] = t.agent(C, "Sam handed you back to the bot", kind="handed_back", name="Sam",
                          message_id=9)
    ids["resume"] = t.resume(C)
    return ids


def test_a_conversation_becomes_console_messages(tracker_file, tracker, clock):
    ids = _conversation(tracker_file)
    tracker_file.turn("someone-else", "not mine")
    messages = load(tracker, C)
    by_id = {m.event_id: m for m in messages}
    assert [m.sender for m in messages] == [
        "shopper", "bot", "shopper", "bot", "bot", "shopper", "bot", "system", "system",
        "agent", "system", "system", "system"]
    assert ids["session"] not in by_id  # session starts, slots, action_listen: not shown

    greet = by_id[ids["greet"]]
    assert greet.text == "hello there"
    assert greet.intent == Guess("greet", 0.93) and greet.runner_up == Guess("thank", 0.04)
    assert not greet.low_confidence and not greet.fallback
    assert isinstance(greet.at, datetime) and greet.at.tzinfo is None
    assert greet.at == clock.now - timedelta(hours=2) + timedelta(seconds=1)

    assert by_id[ids["hi"]].action == "utter_greet" and by_id[ids["hi"]].sender == "bot"

    boots = by_id[ids["boots"]]
    assert boots.low_confidence and not boots.fallback
    assert boots.runner_up == Guess("place_order", 0.38)
    assert [dict(e) for e in boots.entities] == [{"entity": "product",
                                                  "value": "hiking boots"}]
    # a bot message without a response name: the action that sent it
    assert by_id[ids["found"]].action == "action_product_search"
    assert by_id[ids["cards"]].text == "Products shown: Trail Boot, Peak <Boot>"

    huh = by_id[ids["huh"]]
    assert huh.fallback and not huh.low_confidence  # nlu_fallback's confidence is the threshold
    assert huh.runner_up == Guess("track_order", 0.35)
    rephrase = by_id[ids["rephrase"]]
    assert rephrase.fallback and rephrase.action == "utter_ask_rephrase"
    assert not by_id[ids["found"]].fallback

    assert by_id[ids["pause"]].text == "Bot paused"
    assert by_id[ids["resume"]].text == "Bot resumed"
    joined = by_id[ids["joined"]]
    assert (joined.sender, joined.text, joined.agent_name, joined.agent_message_id) == (
        "system", "Sam joined the conversation", "Sam", 7)
    agent = by_id[ids["agent"]]
    assert (agent.sender, agent.text, agent.agent_name, agent.agent_message_id) == (
        "agent", "Hi, I'm <Sam>. Let me look.", "Sam", 8)
    assert by_id[ids["rating"]].text == "Asked the shopper for a rating"
    assert by_id[ids["rating"]].sender == "system"
    assert by_id[ids["back"]].text == "Sam handed you back to the bot"
    # JSON-ready
    data = agent.as_dict()
    assert json.loads(json.dumps(data))["agent_name"] == "Sam"
    assert by_id[ids["boots"]].as_dict()["intent"] == {"name": "product_search",
                                                       "confidence": 0.41}


def test_after_an_event_and_a_limit(tracker_file, tracker):
    ids = _conversation(tracker_file)
    tail = load(tracker, C, after_event_id=ids["found"])
    assert tail[0].event_id == ids["cards"]
    huh = next(m for m in tail if m.event_id == ids["huh"])
    assert huh.turn == 3  # numbered over the whole conversation, not the window
    # the action before the window still names the bot message at its start
    tail = load(tracker, C, after_event_id=ids["found"] - 1)
    assert tail[0].event_id == ids["found"] and tail[0].action == "action_product_search"
    assert [m.event_id for m in load(tracker, C, limit=2)] == [ids["greet"], ids["hi"]]
    assert load(tracker, "nobody") == []


def test_malformed_rows_are_skipped_and_keep_turn_numbers(tracker_file, tracker):
    tracker_file.raw(C, "user", "{not json", 1.0)
    tracker_file.raw(C, "bot", json.dumps(["a list"]), 2.0)
    good = tracker_file.user(C, "second message", "greet", 0.9)
    messages = load(tracker, C)
    assert [m.event_id for m in messages] == [good]
    assert messages[0].turn == 2


def test_needs_are_shown_on_the_message_they_came_from(tracker_file, tracker,
                                                       console_services, clock):
    tracker_file.session_start(C)
    first = tracker_file.turn(C, "looking for hiking boots", "product_search", 0.9)
    tracker_file.turn(C, "thanks", "thank", 0.95)
    # a second session: the chat's action numbers its turns from 1 again
    tracker_file.session_start(C, at=tracker_file.now + timedelta(hours=1))
    third = tracker_file.turn(C, "a red scarf under 20", "product_search", 0.9)
    fourth = tracker_file.turn(C, "shame you don't have it in size 14", "complaint", 0.7)
    with console_services.unit_of_work() as s:
        # the action, first session: turn 1 -> need_seq 100
        s.add(_need(C, 100, 1, "looking for hiking boots", "hiking boots", "footwear",
                    clock.now))
        # the action, second session: its turn 1 is the conversation's third message
        s.add(_need(C, 200, 1, "a red scarf under 20", "scarf", "accessories", clock.now,
                    colour=["red"], price_max=20))
        # the needs follower: all-session turn 4, need_seq 4 * 100 + 50
        s.add(_need(C, 450, 4, "shame you don't have it in size 14", "boots", None,
                    clock.now, size=["14"]))
        s.add(_need("other", 100, 1, "looking for hiking boots", "x", None, clock.now))
    messages = {m.event_id: m for m in load(tracker, C, services=console_services)}
    assert [n["product"] for n in messages[first].needs] == ["hiking boots"]
    scarf = messages[third].needs[0]
    assert (scarf["colour"], scarf["price_max"], scarf["status"], scarf["need_seq"]) == (
        ("red",), 20.0, "unmet", 200)
    assert messages[fourth].needs[0]["size"] == ("14",)
    assert sum(len(m.needs) for m in messages.values()) == 3
    assert load(tracker, C)[0].needs == ()  # without services: no needs


def _need(conversation, seq, turn, text, product, category, now, **fields):
    from decimal import Decimal

    return Need(conversation_id=conversation, need_seq=seq, turn=turn, text=text,
                last_message_key=message_key(conversation, turn, text), product=product,
                category=category, attributes="[]",
                colour=json.dumps(fields.get("colour", [])),
                size=json.dumps(fields.get("size", [])),
                price_max=Decimal(str(fields["price_max"])) if "price_max" in fields else None,
                status="unmet", extractor_version="test", confidence=Decimal("0.9"),
                created_at=now, updated_at=now)


def test_the_message_key_is_the_needs_one():
    assert transcript.message_key("c", 3, "hi £5") == message_key("c", 3, "hi £5")


def test_latest_shopper_texts(tracker_file, tracker):
    tracker_file.turn("a", "first")
    tracker_file.turn("a", "second")
    tracker_file.turn("b", "only one")
    tracker_file.bot("c", "a bot message only")
    found = transcript.latest_shopper_texts(tracker, ["a", "b", "c", "missing"])
    assert {k: v[0] for k, v in found.items()} == {"a": "second", "b": "only one"}
    assert isinstance(found["a"][1], datetime)
    assert transcript.latest_shopper_texts(tracker, []) == {}


def test_a_missing_tracker_store_is_unavailable_not_a_traceback(tmp_path):
    engine = tracker_engine(f"sqlite:///{tmp_path / 'nothing.db'}")
    with pytest.raises(TrackerUnavailable):
        load(engine, C)
    with pytest.raises(TrackerUnavailable):
        transcript.latest_shopper_texts(engine, [C])
    engine.dispose()
