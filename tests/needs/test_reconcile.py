"""Conversion: a later purchase that fulfilled a need is recorded beside it (converted_order_id,
converted_at); the status at the time of asking never changes."""
import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.demo.fixtures import ALICE_ID, BEN_ID, FIXTURE_NOW
from bot.needs.reconcile import mark_converted
from bot.store.db import session_scope
from bot.store.models import Need, Order

DAY = timedelta(days=1)
# The fixture shop's orders: Alice's SH-100001 (only "placed", parka) at -1 hour, SH-100002
# (paid, hiking boot 1) at -1 day, SH-100003 (shipped, casserole dish 2) at -3 days, SH-100004
# (delivered, boot) at -12 days, SH-100005 (delivered, parka + dish) at -70 days, SH-100006
# (cancelled, dish) at -5 days, SH-100007 (returned, boot) at -24 days; Ben's SH-200001
# (delivered, parka 3) at -8 days.


def _add(engine, seq, customer_id, created, *, product=None, category=None, matched=(),
         status="unmet:not_stocked"):
    with session_scope(engine) as session:
        session.add(Need(conversation_id=f"c{seq}", need_seq=seq, customer_id=customer_id,
                         turn=1, text="", last_message_key=f"k{seq}", product=product,
                         category=category, matched_product_ids=json.dumps(list(matched)),
                         status=status, extractor_version="test", created_at=created,
                         updated_at=created))


def _needs(engine):
    with session_scope(engine) as session:
        numbers = dict(session.execute(select(Order.id, Order.number)).all())
        return {n.need_seq: (n.status, numbers.get(n.converted_order_id), n.converted_at,
                             n.updated_at)
                for n in session.execute(select(Need)).scalars()}


def _placed(engine, number):
    with session_scope(engine) as session:
        return session.execute(select(Order.placed_at).where(Order.number == number)).scalar()


def _reconcile(engine, now=FIXTURE_NOW, **kw):
    with session_scope(engine) as session:
        return mark_converted(session, now, **kw)


@pytest.fixture
def needs_log(shop):
    _add(shop, 1, ALICE_ID, FIXTURE_NOW - 2 * DAY, product="hiking boot", category="footwear",
         matched=[1], status="matched")                          # bought it the day after
    _add(shop, 2, ALICE_ID, FIXTURE_NOW - 4 * DAY, product="casserole dish",
         category="kitchen", status="unmet:out_of_stock")        # bought one when it was back
    _add(shop, 3, ALICE_ID, FIXTURE_NOW - 2 * DAY, matched=[1], status="matched")  # shown only
    _add(shop, 4, ALICE_ID, FIXTURE_NOW - 12 * DAY + timedelta(hours=1), product="parka",
         category="outerwear")                        # the later parka order is not paid yet
    _add(shop, 5, BEN_ID, FIXTURE_NOW - 2 * DAY, product="hiking boot",
         category="footwear", matched=[1])                       # someone else bought it
    _add(shop, 6, ALICE_ID, FIXTURE_NOW - 30 * DAY, category="toys-games")  # unrelated
    _add(shop, 7, None, FIXTURE_NOW - 30 * DAY, product="hiking boot", matched=[1])  # anonymous
    _add(shop, 8, BEN_ID, FIXTURE_NOW - 30 * DAY)                # nothing to match on
    _add(shop, 9, ALICE_ID, FIXTURE_NOW - 40 * DAY, product="hiking boot")  # 28 days later
    _add(shop, 10, ALICE_ID, FIXTURE_NOW - 50 * DAY, product="hiking boot")  # 38 days: too late
    _add(shop, 11, ALICE_ID, FIXTURE_NOW - 4 * DAY, product="slipper", category="footwear")
    return shop


def test_a_later_purchase_of_what_was_asked_converts_the_need(needs_log):
    before = _needs(needs_log)
    assert _reconcile(needs_log) == 4
    after = _needs(needs_log)
    converted = {seq: (order, at) for seq, (_, order, at, _) in after.items() if order}
    assert converted == {
        1: ("SH-100002", _placed(needs_log, "SH-100002")),
        2: ("SH-100003", _placed(needs_log, "SH-100003")),
        3: ("SH-100002", _placed(needs_log, "SH-100002")),
        9: ("SH-100004", _placed(needs_log, "SH-100004")),  # not the returned SH-100007
    }
    # The status at the time of asking and updated_at never change.
    assert {s: (v[0], v[3]) for s, v in after.items()} == {s: (v[0], v[3])
                                                          for s, v in before.items()}
    assert _reconcile(needs_log, FIXTURE_NOW + DAY) == 0
    assert _needs(needs_log) == after


def test_only_purchases_up_to_now_and_needs_since(needs_log):
    # Just after needs 1 and 3 were stated SH-100002 (yesterday) had not been placed yet.
    assert _reconcile(needs_log, FIXTURE_NOW - 2 * DAY + timedelta(hours=1),
                      since=FIXTURE_NOW - 5 * DAY) == 1  # need 2
    assert _reconcile(needs_log, since=FIXTURE_NOW - 5 * DAY) == 2  # 1 and 3; not 9 (older)
    assert _needs(needs_log)[9][1] is None


def test_cli_reconcile_and_list(needs_log, db_url, capsys):
    capsys.readouterr()
    assert main(["needs", "reconcile", "--database-url", db_url]) == 0  # the clock is real now
    assert capsys.readouterr().out == "needs converted: 4\n"
    assert main(["needs", "reconcile", "--database-url", db_url]) == 0
    assert capsys.readouterr().out == "needs converted: 0\n"

    def listed(*args):
        assert main(["needs", "list", "--database-url", db_url, "--format", "json", *args]) == 0
        return [r["need_seq"] for r in json.loads(capsys.readouterr().out)]

    assert sorted(listed("--status", "converted")) == [1, 2, 3, 9]
    assert sorted(listed("--status", "matched")) == [1, 3]
    assert sorted(listed("--status", "unmet")) == [2, 4, 5, 6, 7, 8, 9, 10, 11]
    assert sorted(listed("--status", "unmet:out_of_stock")) == [2]
    since = (FIXTURE_NOW - 5 * DAY).date().isoformat()
    assert sorted(listed("--status", "unmet", "--since", since)) == [2, 5, 11]
    assert main(["needs", "list", "--database-url", db_url, "--status", "converted",
                 "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["conversation_id"]: r["converted_order_id"] != "" for r in rows} == {
        "c1": True, "c2": True, "c3": True, "c9": True}
    assert {r["status"] for r in rows} == {"matched", "unmet:out_of_stock", "unmet:not_stocked"}


def test_cli_status_choices_follow_the_statuses(db_url, capsys):
    with pytest.raises(SystemExit):
        main(["needs", "list", "--database-url", db_url, "--status", "purchased_later"])
    assert "invalid choice" in capsys.readouterr().err
