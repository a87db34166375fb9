"""``python -m bot needs import``: lines of a message log into logged needs (bot.needs.importer),
with the production extractor and the chat's catalogue rules; bad lines reported by number and
skipped; idempotent on the line id; nothing half-written."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.demo.fixtures import FIXTURE_NOW
from bot.needs.importer import BadLine, Line, import_lines, parse_line
from bot.store.db import session_scope
from bot.store.models import Need

NOW = datetime(2026, 6, 15, 12, 0)


def line(id, text, created_at="2026-05-01T14:03:00Z", **extra) -> str:
    return json.dumps({"id": id, "created_at": created_at, "text": text, **extra})


def rows(engine):
    with session_scope(engine) as session:
        return [{"conversation_id": n.conversation_id, "need_seq": n.need_seq,
                 "source_id": n.source_id, "product": n.product, "status": n.status,
                 "customer_id": n.customer_id, "created_at": n.created_at,
                 "updated_at": n.updated_at, "text": n.text, "is_demo": n.is_demo,
                 "needed_by": n.needed_by, "matched": json.loads(n.matched_product_ids),
                 "size": json.loads(n.size)}
                for n in session.execute(select(Need).order_by(Need.id)).scalars()]


def test_bad_lines_are_reported_by_number_and_the_rest_is_imported(shop, db_url, tmp_path,
                                                                    capsys):
    path = tmp_path / "log.jsonl"
    lines = [
        line("m1", "hiking boots size 9 please, mail me at jo@example.com", customer_id=1),
        "{not json",
        "[1, 2]",
        json.dumps({"created_at": "2026-05-01T10:00:00Z", "text": "a parka"}),
        json.dumps({"id": "m5", "text": "a parka"}),
        json.dumps({"id": "m6", "created_at": "2026-05-01T10:00:00Z"}),
        line("m7", "a parka", created_at="yesterday"),
        line("m8", "a parka", created_at="2099-01-01T00:00:00Z"),
        line("m9", "looking for a parka " + "x" * 100_000),
        line("m10", "a parka size M", customer_id=999),
        line(True, "a parka"),
        "",
        line("m13", "where is my order SH-100002?", customer_id="2"),
        line("m1", "hiking boots size 9 please"),  # the same id again
        line("m15", "any cast iron casserole dish?", created_at="2026-05-02T09:30:00+02:00"),
    ]
    path.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe not utf-8\n")
    assert main(["needs", "import", "--input", str(path), "--database-url", db_url]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert {k: summary[k] for k in ("lines", "imported", "needs", "without_need",
                                    "already_imported", "skipped")} == {
        "lines": 15, "imported": 2, "needs": 2, "without_need": 1, "already_imported": 1,
        "skipped": 11}
    assert summary["statuses"] == {"matched": 1, "unmet:out_of_stock": 1}
    reported = [r[len(f"{path}: "):] for r in err.splitlines() if r.startswith(f"{path}: ")]
    assert reported == [
        "line 2: not JSON (Expecting property name enclosed in double quotes)",
        "line 3: not a JSON object",
        "line 4: missing field: id",
        "line 5: missing field: created_at",
        "line 6: missing field: text",
        "line 7: created_at is not an ISO-8601 date and time: 'yesterday'",
        "line 8: created_at is in the future: '2099-01-01T00:00:00Z'",
        "line 9: text is longer than 10000 characters (100020)",
        "line 11: id must be a string or a whole number",
        "line 16: not UTF-8 text",
        "line 10: unknown customer 999",
    ]
    boots, dish = rows(shop)
    assert boots == {
        "conversation_id": "import:m1", "need_seq": 100, "source_id": "m1:0",
        "product": "hiking boot", "status": "matched", "customer_id": 1,
        "created_at": datetime(2026, 5, 1, 14, 3), "updated_at": datetime(2026, 5, 1, 14, 3),
        "text": boots["text"], "is_demo": False, "needed_by": None, "matched": [1],
        "size": ["9"]}
    assert "jo@example.com" not in boots["text"] and "hiking boots" in boots["text"]
    assert (dish["created_at"], dish["status"], dish["customer_id"]) == (
        datetime(2026, 5, 2, 7, 30), "unmet:out_of_stock", None)  # +02:00 is stored as UTC

    # Again: idempotent on the id, nothing written twice.
    assert main(["needs", "import", "--input", str(path), "--database-url", db_url]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["imported"], again["already_imported"], again["skipped"]) == (0, 3, 11)
    assert len(rows(shop)) == 2


def test_several_needs_dates_from_the_message_day_and_the_demo_flag(shop, extractor):
    lines = [line("a", "a tent and two sleeping bags please"),
             line("b", "I need hiking boots by friday", created_at="2026-05-06T09:00:00")]
    stats = import_lines(shop, extractor, lines, now=NOW, is_demo=True)
    assert (stats.imported, stats.needs) == (2, 3)
    found = rows(shop)
    assert [(r["conversation_id"], r["need_seq"], r["source_id"], r["product"]) for r in found] \
        == [("import:a", 100, "a:0", "tent"), ("import:a", 101, "a:1", "sleeping bag"),
            ("import:b", 100, "b:0", "hiking boot")]
    assert all(r["is_demo"] for r in found)
    assert found[2]["needed_by"] == date(2026, 5, 8)  # the Friday after 6 May 2026 (a Wednesday)
    assert found[2]["status"] == "matched"  # no question asked: never pending
    # The insights' facets and rollup were written in the same transaction.
    from bot.insights import facets
    from bot.store.db import session_scope
    with session_scope(shop) as session:
        assert facets.stale_need_ids(session) == []


def test_a_line_is_written_whole_or_not_at_all(shop, extractor):
    # Another import wrote the second need of line "x" meanwhile: the batch is refused, then
    # written line by line; "x" is left out entirely (not half of it), the others go in.
    with session_scope(shop) as session:
        session.add(Need(conversation_id="elsewhere", need_seq=1, turn=1, text="",
                         last_message_key="k", matched_product_ids="[]", status="matched",
                         extractor_version="test", created_at=NOW, updated_at=NOW,
                         source_id="x:1"))
    lines = [line("w", "hiking boots please"), line("x", "a tent and two sleeping bags please"),
             line("y", "a black parka size M")]
    stats = import_lines(shop, extractor, lines, now=NOW)
    assert (stats.imported, stats.needs, stats.already_imported) == (2, 2, 1)
    assert sorted(r["source_id"] for r in rows(shop)) == ["w:0", "x:1", "y:0"]
    assert not any(r["conversation_id"] == "import:x" for r in rows(shop))


@pytest.mark.parametrize("raw, expected", [
    (line(7, "a parka", created_at="2026-05-01"), Line(1, "7", datetime(2026, 5, 1), "a parka",
                                                       None)),
    (line(" m ", "hi", created_at="2026-05-01T10:00:00.250+01:00", customer_id=3),
     Line(1, "m", datetime(2026, 5, 1, 9, 0, 0, 250000), "hi", 3)),
    (line("", "hi"), BadLine(1, "id is empty")),
    (line("x" * 101, "hi"), BadLine(1, "id is longer than 100 characters")),
    (line("m", 5), BadLine(1, "text must be a string")),
    (line("m", "hi", customer_id=1.5), BadLine(1, "customer_id must be a whole number: '1.5'")),
    (line("m", "hi", created_at=20260501), BadLine(
        1, "created_at is not an ISO-8601 date and time: '20260501'")),
    ("   ", None),
])
def test_parse_line(raw, expected):
    assert parse_line(1, raw, NOW) == expected


def test_missing_input_is_one_line(db_url, capsys, tmp_path):
    assert main(["needs", "import", "--input", str(tmp_path / "nope.jsonl"),
                 "--database-url", db_url]) == 2
    assert capsys.readouterr().err.strip() == \
        f"needs import: no such file: {tmp_path / 'nope.jsonl'}"


def test_fixture_now_is_the_tests_clock():
    assert FIXTURE_NOW == NOW  # the lines above are dated before it
