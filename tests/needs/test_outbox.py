"""The needs outbox as the attacks and accidents it must survive.

- one garbage line must not break product search for everyone (it used to: every capture
  flushed the outbox and raised ValueError on the line);
- a drain that crashes between taking a segment and deleting it loses nothing and duplicates
  nothing when the next drain finishes it;
- with the database down a chat turn does not wait for it (the breaker) nor retry the backlog;
  it appends its record and moves on; the drain imports everything once the database is back;
- appends racing a drain are never lost (the rename protocol).
"""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from sqlalchemy import event, func, select

from bot import audit
from bot.demo.fixtures import FIXTURE_NOW
from bot.needs.outbox import BadRecord, Outbox
from bot.needs.service import capture, drain_outbox
from bot.store.breaker import CircuitBreaker
from bot.store.db import make_engine, session_scope
from bot.store.models import Need
from bot.support import product_search
from bot.support.product_search import SearchRequest, drain_needs_outbox


@pytest.fixture
def outbox(tmp_path):
    return Outbox(tmp_path / "outbox.jsonl")


@pytest.fixture
def down(tmp_path):
    """An engine whose database cannot be opened (a folder where the file should be)."""
    path = tmp_path / "down.db"
    path.mkdir()
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def need_rows(engine):
    with session_scope(engine) as s:
        return sorted((n.conversation_id, n.need_seq, n.product)
                      for n in s.execute(select(Need)).scalars())


def queue(engine, outbox, extractor, conversation, text, turn=1):
    result = capture(conversation, None, turn, text, engine=engine, extractor=extractor,
                     outbox=outbox, now=FIXTURE_NOW)
    assert result.queued
    return result


def test_a_garbage_line_is_quarantined_and_product_search_keeps_working(services, tmp_path):
    outbox = services.outbox
    outbox.path.write_text('{"conversation_id": "half a line\nnot json at all\n[1, 2]\n')
    for n in range(3):  # every shopper's search still works (it used to raise ValueError)
        outcome = product_search.search(services, SearchRequest(
            f"shopper-{n}", None, 1, "looking for a waterproof parka size L", None))
        assert outcome.kind == product_search.MATCHED_NEED
    assert len(need_rows(services.engine)) == 3
    result = drain_needs_outbox(services)
    assert (result.imported, result.quarantined) == (0, 3)
    quarantined = [json.loads(line) for line in
                   outbox.quarantine_path.read_text().splitlines()]
    assert [q["line"] for q in quarantined] == ['{"conversation_id": "half a line',
                                                "not json at all", "[1, 2]"]
    assert outbox.status() == {"pending": 0, "segments": 0, "quarantined": 3, "unreported": 0}
    with services.unit_of_work() as session:
        record, = audit.recent(session, action="outbox_quarantine")
    assert record.detail["lines"] == 3
    drain_needs_outbox(services)  # reported once, not on every drain
    with services.unit_of_work() as session:
        assert len(audit.recent(session, action="outbox_quarantine")) == 1


def test_a_bad_line_among_good_ones_blocks_nothing(shop, down, outbox, extractor):
    queue(down, outbox, extractor, "a", "need hiking boots size 9")
    with outbox.path.open("a") as handle:
        handle.write("garbage\n")
        handle.write(json.dumps({"conversation_id": "x", "need_seq": "not a number"}) + "\n")
    queue(down, outbox, extractor, "b", "do you have a black parka size M")
    result = drain_outbox(shop, outbox)
    assert (result.imported, result.quarantined) == (2, 2)
    assert [r[0] for r in need_rows(shop)] == ["a", "b"]


def test_a_crash_between_taking_a_segment_and_deleting_it_loses_and_doubles_nothing(
        shop, down, outbox, extractor, monkeypatch):
    for n, text in enumerate(["need hiking boots size 9", "a black parka size M",
                              "a red wool scarf"]):
        queue(down, outbox, extractor, f"c{n}", text)

    def crash(self, segment):
        raise SystemExit("killed after the commits, before the segment was deleted")

    with monkeypatch.context() as patch:
        patch.setattr(Outbox, "_remove", crash)
        with pytest.raises(SystemExit):
            drain_outbox(shop, outbox)
    assert len(need_rows(shop)) == 3 and len(outbox.segments()) == 1
    queue(down, outbox, extractor, "c3", "any leather gloves?")  # appends go on meanwhile
    result = drain_outbox(shop, outbox)
    assert result.imported == 1  # the crashed segment's lines were already counted as done
    assert [r[0] for r in need_rows(shop)] == ["c0", "c1", "c2", "c3"]
    assert outbox.segments() == [] and outbox.pending() == []


def test_a_crash_after_a_commit_before_it_was_counted_imports_it_again_harmlessly(
        shop, down, outbox, extractor, monkeypatch):
    for n, text in enumerate(["need hiking boots size 9", "a black parka size M",
                              "a red wool scarf"]):
        queue(down, outbox, extractor, f"c{n}", text)
    saves = []
    original = Outbox._save_progress

    def crash_on_second(self, segment, handled):
        saves.append(handled)
        if len(saves) == 2:
            raise SystemExit("killed between the second commit and its progress mark")
        original(self, segment, handled)

    with monkeypatch.context() as patch:
        patch.setattr(Outbox, "_save_progress", crash_on_second)
        with pytest.raises(SystemExit):
            drain_outbox(shop, outbox)
    assert len(need_rows(shop)) == 2
    result = drain_outbox(shop, outbox)
    assert result.imported == 2  # the second again (a no-op in the database) and the third
    assert [r[0] for r in need_rows(shop)] == ["c0", "c1", "c2"]
    assert outbox.segments() == []


def test_a_drain_while_the_database_is_down_keeps_everything_then_imports_it(
        shop, down, outbox, extractor):
    queue(down, outbox, extractor, "a", "need hiking boots size 9")
    queue(down, outbox, extractor, "b", "do you have a black parka size M")
    result = drain_outbox(down, outbox)
    assert result.stopped and result.imported == 0
    assert len(outbox.pending()) == 2 and outbox.quarantined() == 0
    assert drain_outbox(shop, outbox).imported == 2
    assert [r[0] for r in need_rows(shop)] == ["a", "b"]
    assert outbox.pending() == [] and outbox.segments() == []


@pytest.fixture
def silent_postgres():
    """A PostgreSQL address that accepts TCP connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    engine = make_engine(f"postgresql://shop@127.0.0.1:{server.getsockname()[1]}/shop")
    yield engine
    engine.dispose()
    server.close()


def test_with_the_database_down_a_turn_appends_and_moves_on(silent_postgres, outbox,
                                                             extractor):
    for n in range(200):  # a backlog from earlier turns: the turn must not touch it
        outbox.append({"conversation_id": f"old-{n}", "need_seq": 100, "turn": 1})
    breaker = CircuitBreaker(30)
    breaker.failure()  # an earlier turn found the database gone
    extractor.extract("warm")
    started = time.monotonic()
    result = capture("now", None, 1, "need hiking boots size 9 and a red wool scarf",
                     engine=silent_postgres, extractor=extractor, outbox=outbox,
                     now=FIXTURE_NOW, breaker=breaker)
    assert time.monotonic() - started < 1.0  # loosely: no connect timeout, no backlog retry
    assert result.queued and result.kind == "queued"
    pending = outbox.pending()
    assert len(pending) == 202 and {r["conversation_id"] for r in pending[-2:]} == {"now"}


def test_a_turn_tries_the_database_once(down, outbox, extractor):
    attempts = []
    event.listen(down, "do_connect", lambda *a: attempts.append(1))
    result = capture("c", None, 1, "need hiking boots size 9 and a red wool scarf", engine=down,
                     extractor=extractor, outbox=outbox, now=FIXTURE_NOW,
                     breaker=CircuitBreaker(5))
    assert result.queued and len(outbox.pending()) == 2
    assert len(attempts) == 1


def test_appends_racing_drains_are_never_lost(outbox):
    written: list[int] = []
    stop = threading.Event()

    def drainer():
        while not stop.is_set():
            outbox.drain(lambda record: written.append(record["n"]))

    def appender(start):
        for n in range(start, start + 100):
            outbox.append({"n": n})

    threads = [threading.Thread(target=drainer)] + [
        threading.Thread(target=appender, args=(k * 100,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads[1:]:
        t.join()
    stop.set()
    threads[0].join()
    outbox.drain(lambda record: written.append(record["n"]))
    assert sorted(written) == list(range(400))  # each once: none lost, none doubled


def test_one_drainer_at_a_time(outbox):
    outbox.append({"n": 1})
    inner = []

    def write(record):
        inner.append(outbox.drain(lambda r: None))  # a second drainer meanwhile

    result = outbox.drain(write)
    assert result.imported == 1 and inner[0].busy


def test_a_record_refused_by_the_write_is_quarantined_with_its_reason(outbox):
    outbox.append({"n": 1})
    outbox.append({"n": 2})

    def write(record):
        if record["n"] == 1:
            raise BadRecord("no such product")

    result = outbox.drain(write)
    assert (result.imported, result.quarantined) == (1, 1)
    entry = json.loads(outbox.quarantine_path.read_text())
    assert entry["reason"] == "BadRecord: no such product" and json.loads(entry["line"]) == {
        "n": 1}


def test_the_outbox_commands(shop, db_url, down, tmp_path, extractor, monkeypatch, capsys):
    from bot.cli import main

    path = tmp_path / "cli-outbox.jsonl"
    monkeypatch.setenv("SHOP_NEEDS_OUTBOX", str(path))
    outbox = Outbox(path)
    queue(down, outbox, extractor, "a", "need hiking boots size 9")
    with path.open("a") as handle:
        handle.write("garbage\n")
    assert main(["needs", "outbox", "status", "--database-url", db_url, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["pending"], status["quarantined"]) == (2, 0)
    assert main(["needs", "outbox", "drain", "--database-url", db_url]) == 0
    assert "imported: 1, quarantined: 1, still pending: 0" in capsys.readouterr().out
    assert main(["needs", "outbox", "status", "--database-url", db_url]) == 0
    assert "pending: 0" in capsys.readouterr().out
    with session_scope(shop) as s:
        assert s.execute(select(func.count()).select_from(Need)).scalar() == 1
