"""Pending needs settled once their conversation goes quiet (bot.needs.records)."""
import json
from datetime import timedelta

from sqlalchemy import select

from bot.demo.fixtures import FIXTURE_NOW
from bot.needs.records import settle_pending
from bot.store.db import session_scope
from bot.store.models import Need

MIN = timedelta(minutes=1)
IDLE = 30 * MIN


def add(engine, conversation, seq, *, updated, status="pending", product=None, category=None,
        size=(), colour=(), price_max=None):
    with session_scope(engine) as session:
        session.add(Need(conversation_id=conversation, need_seq=seq, customer_id=None, turn=1,
                         text="", last_message_key=f"{conversation}{seq}", product=product,
                         category=category, size=json.dumps(list(size)),
                         colour=json.dumps(list(colour)), price_max=price_max,
                         matched_product_ids="[]", status=status, extractor_version="test",
                         created_at=updated - MIN, updated_at=updated))


def statuses(engine):
    with session_scope(engine) as session:
        return {(n.conversation_id, n.need_seq): (n.status, json.loads(n.matched_product_ids),
                                                  n.updated_at)
                for n in session.execute(select(Need)).scalars()}


def test_quiet_conversations_get_the_status_their_details_give(shop):
    old = FIXTURE_NOW - 40 * MIN
    add(shop, "left", 100, updated=old, product="hiking boot", category="footwear",
        price_max=100)                                   # asked the size, never answered
    add(shop, "left", 200, updated=old, product="parka", category="outerwear", price_max=100)
    add(shop, "left", 300, updated=old, status="unmet:not_stocked", product="tent")
    add(shop, "talking", 100, updated=FIXTURE_NOW - 5 * MIN, product="parka")
    add(shop, "other-need-recent", 100, updated=old, product="parka")
    add(shop, "other-need-recent", 200, updated=FIXTURE_NOW - MIN, status="matched",
        product="hiking boot")

    assert settle_pending(shop, FIXTURE_NOW, IDLE) == 2
    after = statuses(shop)
    assert after[("left", 100)][:2] == ("matched", [1])
    assert after[("left", 200)][:2] == ("unmet:over_budget", [])
    assert after[("left", 100)][2] == old  # when the shopper last spoke of it
    assert after[("left", 300)][0] == "unmet:not_stocked"
    assert after[("talking", 100)][0] == "pending"
    assert after[("other-need-recent", 100)][0] == "pending"  # its conversation is not quiet

    assert settle_pending(shop, FIXTURE_NOW, IDLE) == 0  # nothing left to settle
    assert settle_pending(shop, FIXTURE_NOW + 40 * MIN, IDLE) == 2


def test_recent_activity_in_the_conversation_keeps_it_pending(shop):
    old = FIXTURE_NOW - 40 * MIN
    add(shop, "chatting", 100, updated=old, product="parka", size=["M"])
    add(shop, "gone", 100, updated=old, product="parka", size=["XXL"])
    recent = (FIXTURE_NOW - 2 * MIN).timestamp()
    seen = []

    def last_activity(conversation_id):
        seen.append(conversation_id)
        return {"chatting": recent}.get(conversation_id)  # "gone": no events known

    assert settle_pending(shop, FIXTURE_NOW, IDLE, last_activity=last_activity) == 1
    after = statuses(shop)
    assert after[("chatting", 100)][0] == "pending"
    assert after[("gone", 100)][0] == "unmet:size_or_colour"
    assert sorted(seen) == ["chatting", "gone"]


def test_an_answer_arriving_meanwhile_wins(shop, monkeypatch):
    old = FIXTURE_NOW - 40 * MIN
    add(shop, "race", 100, updated=old, product="parka")
    from bot.needs import records

    real = records.catalogue.assess_need

    def answered_meanwhile(session, need, vocab):
        with session_scope(shop) as other:  # the chat writes the shopper's answer
            row = other.execute(select(Need)).scalar_one()
            row.status, row.updated_at = "matched", FIXTURE_NOW
        return real(session, need, vocab)

    monkeypatch.setattr(records.catalogue, "assess_need", answered_meanwhile)
    assert settle_pending(shop, FIXTURE_NOW, IDLE) == 0
    assert statuses(shop)[("race", 100)][0] == "matched"


def test_an_outbox_line_from_before_reasons_is_imported_pending_then_settled(shop, tmp_path):
    from bot.needs.outbox import Outbox
    from bot.needs.service import _record, drain_outbox

    outbox = Outbox(tmp_path / "outbox.jsonl")
    need = {"product": "parka", "category": "outerwear", "attributes": [], "colour": ["red"],
            "size": [], "confidence": 0.9}
    outbox.append(_record("old", None, 1, "a red parka", need, 100, "key", "unmet", [],
                          "needs-0.9", FIXTURE_NOW - 40 * MIN, new=True))
    assert drain_outbox(shop, outbox).imported == 1
    assert statuses(shop)[("old", 100)][0] == "pending"
    assert settle_pending(shop, FIXTURE_NOW, IDLE) == 1
    assert statuses(shop)[("old", 100)][0] == "unmet:size_or_colour"
    from bot.insights import facets  # the settled status reached the insights' rollup
    from bot.store.db import session_scope
    with session_scope(shop) as session:
        assert facets.stale_need_ids(session) == []
