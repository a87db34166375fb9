"""The needs follower: needs stated in any turn, read from a tracker-store-shaped SQLite file."""
import calendar
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, insert, select

from bot.demo.fixtures import ALICE_ID, FIXTURE_NOW
from bot.identity import VERIFIED_KEY, sign
from bot.needs import follow
from bot.needs.follow import (EVENTS, NeedFollower, TrackerUnavailable, source_name,
                              tracker_engine, tracker_url_from_endpoints)
from bot.needs.outbox import Outbox
from bot.needs.service import capture, drain_outbox
from bot.store.db import session_scope
from bot.store.models import Need, NeedFollowCheckpoint

SECRET = "follow-test-secret"
T0 = calendar.timegm(FIXTURE_NOW.utctimetuple())  # the shop fixture's "now" as a Unix time


class TrackerFile:
    """Writes events the way Rasa 3.6's SQLTrackerStore.save does (one row per event)."""

    def __init__(self, path):
        self.path = path
        self.engine = create_engine(f"sqlite:///{path}", future=True)
        follow._tracker_metadata.create_all(self.engine)
        self.clock = T0

    def add(self, sender, type_name, *, data=None, intent=None, action=None, ts=None) -> int:
        self.clock += 1
        ts = self.clock if ts is None else ts
        payload = data if data is not None else {"event": type_name, "timestamp": ts}
        with self.engine.begin() as conn:  # raw SQL: SQLite keeps whatever a bad row holds
            result = conn.exec_driver_sql(
                "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name,"
                " data) VALUES (?, ?, ?, ?, ?, ?)",
                (sender, type_name, ts, intent, action,
                 payload if isinstance(payload, str) else json.dumps(payload)))
            return result.lastrowid

    def session_start(self, sender):
        self.add(sender, "action", action="action_session_start",
                 data={"event": "action", "name": "action_session_start"})
        self.add(sender, "session_started")
        self.add(sender, "action", action="action_listen",
                 data={"event": "action", "name": "action_listen"})

    def turn(self, sender, text, *, intent="chitchat", actions=("utter_chitchat",),
             metadata=None, listen=True) -> int:
        """A user message and the actions Rasa ran for it, ending with action_listen."""
        self.clock += 1
        user = self.add(sender, "user", intent=intent, data={
            "event": "user", "timestamp": self.clock, "text": text,
            "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "entities": []},
            "input_channel": "rest", "message_id": f"m{self.clock}", "metadata": metadata})
        for name in actions:
            self.add(sender, "action", action=name, data={"event": "action", "name": name})
            if name.startswith("utter_"):
                self.add(sender, "bot", data={"event": "bot", "text": "..."})
        if listen:
            self.add(sender, "action", action="action_listen",
                     data={"event": "action", "name": "action_listen"})
        return user


@pytest.fixture
def tracker(tmp_path):
    store = TrackerFile(tmp_path / "tracker.db")
    yield store
    store.engine.dispose()


@pytest.fixture
def outbox(tmp_path):
    return Outbox(tmp_path / "outbox.jsonl")


def _follower(tracker, shop, extractor, outbox, **kwargs):
    url = f"sqlite:///{tracker.path}"
    kwargs.setdefault("clock", lambda: tracker.clock + 1000)
    return NeedFollower(tracker_engine(url), shop, source=source_name(url), extractor=extractor,
                        outbox=outbox, **kwargs)


def _drain(follower):
    while follower.poll_once():
        pass


def _rows(engine):
    with session_scope(engine) as session:
        return [{"conversation": n.conversation_id, "seq": n.need_seq, "turn": n.turn,
                 "product": n.product, "size": json.loads(n.size), "text": n.text,
                 "customer_id": n.customer_id, "status": n.status}
                for n in session.execute(select(Need).order_by(Need.id)).scalars()]


def _checkpoint(engine):
    with session_scope(engine) as session:
        rows = session.execute(select(NeedFollowCheckpoint)).scalars().all()
        return [r.last_event_id for r in rows]


def test_the_capturing_action_name_matches_the_domain():
    from actions import names

    assert follow.CAPTURING_ACTIONS == {names.ACTION_PRODUCT_SEARCH}


def test_a_need_inside_another_intent_is_logged_with_turn_and_redaction(
        tracker, shop, extractor, outbox):
    tracker.session_start("s1")
    tracker.turn("s1", "hi", intent="greet", actions=("utter_greet",))
    tracker.turn("s1", "where's my parcel? also do you have a waterproof parka in size L? "
                 "mail me at jo@example.com", intent="order_status", actions=("order_form",))
    follower = _follower(tracker, shop, extractor, outbox)
    _drain(follower)
    rows = _rows(shop)
    assert [(r["product"], r["size"], r["turn"], r["seq"]) for r in rows] == \
        [("parka", ["L"], 2, 250)]
    assert "jo@example.com" not in rows[0]["text"] and rows[0]["customer_id"] is None
    assert rows[0]["status"] == "matched"
    assert follower.stats.captured == 1 and follower.stats.events == 2


def test_turns_the_product_search_action_captured_are_not_logged_again(
        tracker, shop, extractor, outbox):
    tracker.turn("s2", "looking for hiking boots size 9", intent="product_search",
                 actions=("action_product_search",))
    tracker.turn("s2", "size 9 please", intent="inform", actions=("action_product_search",))
    follower = _follower(tracker, shop, extractor, outbox)
    _drain(follower)
    assert _rows(shop) == [] and follower.stats.handled_in_chat == 2


def test_a_detail_with_a_need_cue_refines_the_open_need(tracker, shop, extractor, outbox):
    capture("s3", None, 1, "do you have the northvale parka?", engine=shop, extractor=extractor,
            outbox=outbox, now=FIXTURE_NOW - timedelta(minutes=5))
    tracker.turn("s3", "do you have the northvale parka?", intent="product_search",
                 actions=("action_product_search",))
    tracker.turn("s3", "shame you don't have it in size 14", intent="chitchat")
    tracker.turn("s3", "medium", intent="inform", actions=("utter_default",))  # no cue: ignored
    _drain(_follower(tracker, shop, extractor, outbox))
    rows = _rows(shop)
    assert [(r["product"], r["size"], r["seq"]) for r in rows] == [("parka", ["14"], 100)]
    assert rows[0]["status"] == "unmet:size_or_colour" and rows[0]["turn"] == 2


def test_the_channel_verified_id_gives_the_customer_and_nothing_else_does(
        tracker, shop, extractor, outbox):
    tracker.turn("s4", "wish you had a waterproof parka", metadata={VERIFIED_KEY: ALICE_ID})
    # a token is the channel's to verify: one in stored metadata (even a valid one) is ignored
    good = sign(ALICE_ID, SECRET, ttl_seconds=600, now=tracker.clock, session="s5")
    tracker.turn("s5", "wish you had a waterproof parka", metadata={"customer_token": good})
    tracker.turn("s6", "wish you had a waterproof parka", metadata={VERIFIED_KEY: "1"})
    tracker.turn("s7", "wish you had a waterproof parka", metadata="not a dict")
    _drain(_follower(tracker, shop, extractor, outbox))
    by_conversation = {r["conversation"]: r["customer_id"] for r in _rows(shop)}
    assert by_conversation == {"s4": ALICE_ID, "s5": None, "s6": None, "s7": None}


def test_no_need_turns_button_payloads_and_bad_input_log_nothing(
        tracker, shop, extractor, outbox):
    for text in ("where is my parcel?", "thanks!", "/product_search", "", "😀😀😀",
                 "x" * 100_000, "\x00\x01 binary \x7f", "Bonjour, je cherche des chaussures"):
        tracker.turn("s8", text)
    follower = _follower(tracker, shop, extractor, outbox)
    _drain(follower)
    assert _rows(shop) == [] and follower.stats.events == 8
    assert _checkpoint(shop) == [follower.checkpoint]


def test_malformed_rows_are_skipped_and_the_next_message_still_captured(
        tracker, shop, extractor, outbox):
    tracker.add("s9", "user", data="{not json")
    tracker.add("s9", "user", data=json.dumps(["a", "list"]))
    tracker.add("s9", "user", data={"event": "user", "text": 42})
    tracker.add("", "user", data={"event": "user", "text": "need a parka", "timestamp": 1})
    tracker.add("s9", "user", data={"event": "user", "text": "need a parka"}, ts="yesterday")
    tracker.turn("s9", "wish you had a waterproof parka in L")
    follower = _follower(tracker, shop, extractor, outbox)
    _drain(follower)
    assert follower.stats.malformed == 5
    assert [r["product"] for r in _rows(shop)] == ["parka"]


def test_restart_reads_on_from_the_checkpoint_without_relogging(
        tracker, shop, extractor, outbox):
    tracker.turn("s10", "wish you had a waterproof parka in L")
    first = _follower(tracker, shop, extractor, outbox)
    _drain(first)
    assert len(_rows(shop)) == 1
    second = _follower(tracker, shop, extractor, outbox)
    _drain(second)
    assert second.stats.events == 0 and len(_rows(shop)) == 1
    tracker.turn("s10", "oh and got any hiking boots in size 9?")
    _drain(second)
    assert [r["product"] for r in _rows(shop)] == ["parka", "hiking boot"]
    # the same events read again (a checkpoint that could not be saved) change nothing
    with session_scope(shop) as session:
        session.get(NeedFollowCheckpoint, second.source).last_event_id = 0
    third = _follower(tracker, shop, extractor, outbox)
    _drain(third)
    assert third.stats.events == 2 and len(_rows(shop)) == 2


def test_a_down_shop_database_queues_needs_and_nothing_is_lost_or_doubled(
        tracker, shop, extractor, outbox, tmp_path):
    tracker.turn("s11", "wish you had a waterproof parka in L")
    down = create_engine(f"sqlite:///{tmp_path}/missing-dir/shop.db", future=True)
    follower = _follower(tracker, shop, extractor, outbox)
    follower.checkpoint = 0  # it was running when the database went away
    follower.shop = down
    assert follower.poll_once() == 1
    assert len(outbox.pending()) == 1 and _rows(shop) == []
    # the process stops before the database is back: the checkpoint was never saved
    restarted = _follower(tracker, shop, extractor, outbox)
    _drain(restarted)
    # The queued record is imported by the outbox drainer (the action server's background
    # task), not by the follower: the message read again and its queued copy make one row.
    assert drain_outbox(shop, outbox).imported == 1
    assert outbox.pending() == []
    assert [r["product"] for r in _rows(shop)] == ["parka"]


def test_a_down_tracker_store_is_waited_for(tmp_path, shop, extractor, outbox):
    url = f"sqlite:///{tmp_path}/not-yet/tracker.db"
    follower = NeedFollower(tracker_engine(url), shop, source=source_name(url),
                            extractor=extractor, outbox=outbox)
    with pytest.raises(TrackerUnavailable):
        follower.poll_once()
    stop = threading.Event()
    polls = []

    def poll_then_stop(stop_event=None):
        polls.append(1)
        if len(polls) == 3:
            stop.set()
        raise TrackerUnavailable("OperationalError")

    follower.poll_once = poll_then_stop
    follower.run(stop, interval=0.001, max_backoff=0.002)  # survives, retries, then stops
    assert len(polls) == 3


def test_a_turn_without_its_actions_waits_until_settled(tracker, shop, extractor, outbox):
    tracker.turn("s12", "wish you had a waterproof parka in L", listen=False)
    young = _follower(tracker, shop, extractor, outbox, clock=lambda: tracker.clock + 1)
    assert young.poll_once() == 0 and _rows(shop) == []
    settled = _follower(tracker, shop, extractor, outbox, clock=lambda: tracker.clock + 60)
    assert settled.poll_once() == 1 and len(_rows(shop)) == 1


def test_a_recreated_tracker_store_is_followed_from_its_start(tracker, shop, extractor, outbox):
    tracker.turn("s13", "hello")
    follower = _follower(tracker, shop, extractor, outbox)
    follower.checkpoint = 10_000  # a checkpoint from a tracker store since deleted
    follower.poll_once()
    assert follower.checkpoint == 0
    _drain(follower)
    assert follower.stats.events == 1


def test_tracker_url_comes_from_endpoints_yml(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: var/t.db\n")
    assert tracker_url_from_endpoints(endpoints, root=tmp_path) == \
        f"sqlite:///{tmp_path / 'var' / 't.db'}"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: postgresql\n  host: db\n"
                         "  port: 5433\n  db: rasa\n  username: bot\n  password: pw\n")
    url = tracker_url_from_endpoints(endpoints, root=tmp_path)
    assert url == "postgresql://bot:pw@db:5433/rasa"
    assert "pw" not in source_name(url)
    endpoints.write_text("tracker_store:\n  type: redis\n")
    with pytest.raises(ValueError):
        tracker_url_from_endpoints(endpoints, root=tmp_path)


def test_the_project_tracker_store_is_sql():
    assert tracker_url_from_endpoints().startswith("sqlite:///")


def test_the_follower_never_writes_the_tracker_store(tracker):
    engine = tracker_engine(f"sqlite:///{tracker.path}")
    with pytest.raises(Exception, match="readonly"):
        with engine.begin() as conn:
            conn.execute(insert(EVENTS).values(sender_id="x", type_name="user", data="{}"))
    engine.dispose()


def test_reads_what_rasas_own_sql_tracker_store_writes(tmp_path, shop, extractor, outbox):
    """The real Rasa 3.6 SQLTrackerStore writes the events table; the follower reads it."""
    import asyncio

    tracker_store = pytest.importorskip("rasa.core.tracker_store")
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = tracker_store.SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "rasa.db"))
    events = [ActionExecuted("action_session_start", timestamp=T0), SessionStarted(timestamp=T0),
              ActionExecuted("action_listen", timestamp=T0),
              UserUttered("shame you don't have a waterproof parka in size 14",
                          {"name": "chitchat", "confidence": 0.8}, timestamp=T0 + 1,
                          metadata={VERIFIED_KEY: ALICE_ID}),
              ActionExecuted("utter_chitchat", timestamp=T0 + 2),
              BotUttered("sorry!", timestamp=T0 + 2),
              ActionExecuted("action_listen", timestamp=T0 + 2)]
    asyncio.run(store.save(DialogueStateTracker.from_events("rasa-1", events)))
    store.engine.dispose()
    url = f"sqlite:///{tmp_path / 'rasa.db'}"
    follower = NeedFollower(tracker_engine(url), shop, source=source_name(url),
                            extractor=extractor, outbox=outbox, clock=lambda: T0 + 60)
    _drain(follower)
    rows = _rows(shop)
    assert [(r["conversation"], r["product"], r["size"], r["customer_id"], r["turn"])
            for r in rows] == [("rasa-1", "parka", ["14"], ALICE_ID, 1)]


def test_the_follow_command_once(tracker, shop, db_url, tmp_path, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("SHOP_NEEDS_OUTBOX", str(tmp_path / "cli-outbox.jsonl"))
    tracker.turn("s20", "wish you had a waterproof parka in L")
    tracker.turn("s20", "thanks, bye")
    assert main(["needs", "follow", "--once", "--tracker-url", f"sqlite:///{tracker.path}",
                 "--database-url", db_url]) == 0
    assert "events: 2, with needs: 1" in capsys.readouterr().out
    assert [r["product"] for r in _rows(shop)] == ["parka"]
