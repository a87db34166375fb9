import csv
import io
import json
from datetime import timedelta

from sqlalchemy import select

from bot.cli import main
from bot.demo.fixtures import ALICE_ID, BEN_ID, FIXTURE_NOW
from bot.needs.reconcile import mark_purchased_later
from bot.store.db import session_scope
from bot.store.models import Event, Need

DAY = timedelta(days=1)
# The fixture shop: Alice's SH-100002 (paid, product 1 footwear) placed FIXTURE_NOW - 1 day,
# SH-100003 (shipped, product 2 kitchen) at -3 days, SH-100001 (only "placed", product 3
# outerwear) at -1 hour; Ben's SH-200001 (delivered, product 3) at -8 days. No events.


def _add(engine, seq, customer_id, created, *, category=None, matched=(), status="unmet"):
    with session_scope(engine) as session:
        session.add(Need(conversation_id=f"c{seq}", need_seq=seq, customer_id=customer_id,
                         turn=1, text="", last_message_key=f"k{seq}", category=category,
                         matched_product_ids=json.dumps(list(matched)), status=status,
                         extractor_version="test", created_at=created, updated_at=created))


def _statuses(engine):
    with session_scope(engine) as session:
        return {n.need_seq: (n.status, n.updated_at)
                for n in session.execute(select(Need)).scalars()}


def _reconcile(engine, now=FIXTURE_NOW):
    with session_scope(engine) as session:
        return mark_purchased_later(session, now)


def test_purchase_after_the_need_marks_it_and_nothing_else(shop):
    _add(shop, 1, ALICE_ID, FIXTURE_NOW - 2 * DAY, category="footwear", matched=[1],
         status="matched")                                                  # bought later
    _add(shop, 2, ALICE_ID, FIXTURE_NOW - 4 * DAY, category="kitchen")       # category only
    _add(shop, 3, ALICE_ID, FIXTURE_NOW - 2 * DAY, matched=[1])              # matched only
    _add(shop, 4, ALICE_ID, FIXTURE_NOW - 12 * DAY + timedelta(hours=1),
         category="outerwear")                                 # bought before; later not paid
    _add(shop, 5, BEN_ID, FIXTURE_NOW - 2 * DAY, category="footwear", matched=[1])  # other buyer
    _add(shop, 6, ALICE_ID, FIXTURE_NOW - 30 * DAY, category="toys")         # unrelated
    _add(shop, 7, None, FIXTURE_NOW - 30 * DAY, category="footwear", matched=[1])   # anonymous
    _add(shop, 8, BEN_ID, FIXTURE_NOW - 30 * DAY)                            # nothing to match

    assert _reconcile(shop) == 3
    after = _statuses(shop)
    assert {seq for seq, (status, _) in after.items() if status == "purchased_later"} == {1, 2, 3}
    assert after[1][1] == FIXTURE_NOW
    assert all(after[s] == ("unmet", after[s][1]) and after[s][1] < FIXTURE_NOW
               for s in (4, 5, 6, 7, 8))

    assert _reconcile(shop, FIXTURE_NOW + DAY) == 0
    assert _statuses(shop) == after


def test_purchase_events_count_and_purchases_before_the_need_do_not(shop):
    _add(shop, 1, BEN_ID, FIXTURE_NOW - 3 * DAY, category="footwear")
    _add(shop, 2, BEN_ID, FIXTURE_NOW - 9 * DAY, category="kitchen")
    with session_scope(shop) as session:
        session.add(Event(customer_id=BEN_ID, product_id=1, event_type="purchase",
                          occurred_at=FIXTURE_NOW - 2 * DAY, quantity=1))
        session.add(Event(customer_id=BEN_ID, product_id=2, event_type="view",
                          occurred_at=FIXTURE_NOW - 2 * DAY))
        session.add(Event(customer_id=BEN_ID, product_id=2, event_type="purchase",
                          occurred_at=FIXTURE_NOW - 10 * DAY, quantity=1))
    assert _reconcile(shop) == 1
    assert _statuses(shop)[1][0] == "purchased_later"
    assert _statuses(shop)[2][0] == "unmet"


def test_cli_reconcile_and_list(shop, db_url, capsys):
    _add(shop, 1, ALICE_ID, FIXTURE_NOW - 2 * DAY, category="footwear")
    _add(shop, 2, BEN_ID, FIXTURE_NOW - 2 * DAY, category="toys")
    _add(shop, 3, BEN_ID, FIXTURE_NOW - 20 * DAY, category="toys")
    _add(shop, 4, BEN_ID, FIXTURE_NOW - 2 * DAY, category="toys", matched=[1], status="matched")
    capsys.readouterr()

    assert main(["needs", "reconcile", "--database-url", db_url]) == 0  # the clock is real now
    assert capsys.readouterr().out == "needs marked purchased_later: 1\n"
    assert main(["needs", "reconcile", "--database-url", db_url]) == 0
    assert capsys.readouterr().out == "needs marked purchased_later: 0\n"

    since = (FIXTURE_NOW - 5 * DAY).date().isoformat()
    args = ["needs", "list", "--database-url", db_url, "--since", since, "--status", "unmet"]
    assert main(args + ["--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["conversation_id"], r["status"], r["matched_product_ids"]) for r in rows] == [
        ("c2", "unmet", [])]
    assert main(args + ["--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["conversation_id"], r["category"]) for r in rows] == [("c2", "toys")]
    assert main(["needs", "list", "--database-url", db_url, "--status", "purchased_later",
                 "--format", "json"]) == 0
    assert [r["conversation_id"] for r in json.loads(capsys.readouterr().out)] == ["c1"]
