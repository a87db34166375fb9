import json

import pytest
from sqlalchemy import create_engine, select

from bot.demo.fixtures import FIXTURE_NOW
from bot.needs.outbox import Outbox
from bot.needs.service import capture, drain_outbox
from bot.store.db import session_scope
from bot.store.models import Need


@pytest.fixture
def outbox(tmp_path):
    return Outbox(tmp_path / "outbox.jsonl")


def _rows(engine):
    with session_scope(engine) as session:
        return [{"seq": n.need_seq, "product": n.product, "status": n.status, "text": n.text,
                 "colour": json.loads(n.colour), "size": json.loads(n.size),
                 "price_max": n.price_max, "matched": json.loads(n.matched_product_ids),
                 "customer_id": n.customer_id, "turn": n.turn}
                for n in session.execute(select(Need).order_by(Need.id)).scalars()]


def test_ask_once_then_match_and_log(shop, extractor, outbox):
    first = capture("c1", 1, 1, "looking for hiking boots under £100", engine=shop,
                    extractor=extractor, outbox=outbox, now=FIXTURE_NOW)
    assert first.kind == "question" and first.question == "size"
    second = capture("c1", 1, 2, "size 9 please", first.need, engine=shop, extractor=extractor,
                     outbox=outbox, now=FIXTURE_NOW)
    assert second.kind == "products"
    assert [c["id"] for c in second.products] == [1]
    assert set(second.products[0]) == {"id", "name", "price", "currency", "url", "image"}
    rows = _rows(shop)
    assert len(rows) == 1 and rows[0]["status"] == "matched" and rows[0]["matched"] == [1]
    assert rows[0]["size"] == ["9"] and rows[0]["turn"] == 2


def test_needs_accumulate_across_turns_and_unmet(shop, extractor, outbox):
    turns = ["I need a parka", "under 100", "in blue"]
    need = None
    for turn, text in enumerate(turns, start=1):
        result = capture("c2", None, turn, text, need, engine=shop, extractor=extractor,
                         outbox=outbox, now=FIXTURE_NOW)
        need = result.need
    rows = _rows(shop)
    assert len(rows) == 1
    assert rows[0]["product"] == "parka" and rows[0]["colour"] == ["blue"]
    assert float(rows[0]["price_max"]) == 100 and rows[0]["customer_id"] is None
    # Parkas exist (the fixture's is black): not in that colour.
    assert rows[0]["status"] == "unmet:size_or_colour" and result.kind == "unmet"
    assert result.status == "unmet:size_or_colour"
    assert result.text == "Sorry, we do sell parka, but not in that colour."


def test_open_need_is_read_from_the_log_without_previous_need(shop, extractor, outbox):
    capture("c3", 1, 1, "do you have a black parka size M", engine=shop, extractor=extractor,
            outbox=outbox, now=FIXTURE_NOW)
    result = capture("c3", 1, 2, "under 200 pounds", engine=shop, extractor=extractor,
                     outbox=outbox, now=FIXTURE_NOW)
    assert result.kind == "products" and result.products[0]["id"] == 3
    assert len(_rows(shop)) == 1


def test_out_of_stock_is_not_offered(shop, extractor, outbox):
    result = capture("c4", None, 1, "any cast iron casserole dish in blue?", engine=shop,
                     extractor=extractor, outbox=outbox, now=FIXTURE_NOW)
    assert result.kind == "unmet" and _rows(shop)[0]["status"] == "unmet:out_of_stock"
    assert result.text == ("Sorry, we do sell cast iron casserole dish, but nothing that fits is "
                           "in stock right now.")


def test_retry_does_not_duplicate(shop, extractor, outbox):
    for _ in range(3):
        capture("c5", 2, 4, "a tent and two sleeping bags please", engine=shop,
                extractor=extractor, outbox=outbox, now=FIXTURE_NOW)
    assert [r["product"] for r in _rows(shop)] == ["tent", "sleeping bag"]


def test_stored_text_is_redacted(shop, extractor, outbox):
    capture("c6", None, 1, "need a parka, email me at jo@example.com or 07700 900123",
            engine=shop, extractor=extractor, outbox=outbox, now=FIXTURE_NOW)
    text = _rows(shop)[0]["text"]
    assert "jo@example.com" not in text and "900123" not in text and "parka" in text


def test_no_need_writes_nothing(shop, extractor, outbox):
    result = capture("c7", 1, 1, "where is my parcel?", engine=shop, extractor=extractor,
                     outbox=outbox)
    assert result.kind == "none" and _rows(shop) == []


def test_database_down_queues_then_drains(shop, extractor, outbox, tmp_path):
    down = create_engine(f"sqlite:///{tmp_path}/missing-dir/nope.db", future=True)
    result = capture("c8", 1, 1, "looking for a waterproof parka size L", engine=down,
                     extractor=extractor, outbox=outbox, now=FIXTURE_NOW)
    assert result.queued and result.kind == "queued" and result.status == "pending"
    assert len(outbox.pending()) == 1 and _rows(shop) == []
    assert drain_outbox(shop, outbox).imported == 1
    assert outbox.pending() == []
    rows = _rows(shop)
    assert len(rows) == 1 and rows[0]["product"] == "parka" and rows[0]["size"] == ["L"]


def test_a_new_session_never_overwrites_an_earlier_sessions_need(shop, extractor, outbox):
    # Rasa restarts turn numbers with each session of a conversation: both messages are turn 1.
    capture("c9", 1, 1, "do you have a black parka size M", engine=shop, extractor=extractor,
            outbox=outbox, now=FIXTURE_NOW)
    later = capture("c9", 1, 1, "I'm after a red wool scarf", engine=shop, extractor=extractor,
                    outbox=outbox, now=FIXTURE_NOW)
    rows = _rows(shop)
    assert [(r["seq"], r["product"]) for r in rows] == [(100, "parka"), (200, "wool scarf")]
    assert later.need["_seq"] == 200  # the chat's slot points at the row written
    # A retry of the later message finds its own row again: nothing new, nothing overwritten.
    capture("c9", 1, 1, "I'm after a red wool scarf", engine=shop, extractor=extractor,
            outbox=outbox, now=FIXTURE_NOW)
    assert _rows(shop) == rows


def test_a_need_waiting_for_its_size_is_pending_not_unmet(shop, extractor, outbox):
    first = capture("p1", 1, 1, "looking for hiking boots under £100", engine=shop,
                    extractor=extractor, outbox=outbox, now=FIXTURE_NOW)
    assert first.kind == "question" and first.status == "pending"
    assert [(r["status"], r["matched"]) for r in _rows(shop)] == [("pending", [])]
    capture("p1", 1, 2, "size 12", first.need, engine=shop, extractor=extractor,
            outbox=outbox, now=FIXTURE_NOW)
    assert [r["status"] for r in _rows(shop)] == ["unmet:size_or_colour"]


def test_the_same_need_restated_later_is_one_record(shop, extractor, outbox):
    need = None
    for turn, text in enumerate(["hiking boots size 12 please", "and a tent please",
                                 "back to the hiking boots - size 9 would do"], start=1):
        need = capture("r1", 1, turn, text, need, engine=shop, extractor=extractor,
                       outbox=outbox, now=FIXTURE_NOW).need
    rows = _rows(shop)
    assert [(r["seq"], r["product"], r["size"], r["status"], r["turn"]) for r in rows] == [
        (100, "hiking boot", ["9"], "matched", 3), (200, "tent", [], "unmet:not_stocked", 2)]
    assert need["_seq"] == 100  # the chat's slot follows the restated need
    # Read from the log too (no slot, as after a new Rasa session): still one record.
    capture("r1", 1, 1, "hiking boots in brown", engine=shop, extractor=extractor,
            outbox=outbox, now=FIXTURE_NOW)
    assert [(r["seq"], r["colour"]) for r in _rows(shop)] == [(100, ["brown"]), (200, [])]


def test_another_product_of_the_same_category_is_another_need(shop, extractor, outbox):
    first = capture("r2", 1, 1, "hiking boots size 9", engine=shop, extractor=extractor,
                    outbox=outbox, now=FIXTURE_NOW)
    capture("r2", 1, 2, "and slippers size 9 for my dad", first.need, engine=shop,
            extractor=extractor, outbox=outbox, now=FIXTURE_NOW)
    assert [(r["product"], r["status"]) for r in _rows(shop)] == [
        ("hiking boot", "matched"), ("slipper", "unmet:not_stocked")]
