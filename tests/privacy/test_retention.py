"""Retention: conversation events older than the period go, recent ones stay (Rasa's own
SQLTrackerStore writes them); unconfirmed newsletter addresses expire; an audit record."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import create_engine, select, text

from bot import audit
from bot.cli import main
from bot.demo.fixtures import FIXTURE_NOW
from bot.privacy.retention import run_retention
from bot.privacy.trackerstore import TrackerStore
from bot.store.db import session_scope
from bot.store.models import NewsletterSubscription
from rasa_store import save_conversation, unix

DAY = timedelta(days=1)


def _senders(db):
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text(
                "SELECT sender_id, count(*) FROM events GROUP BY sender_id")).all())
    finally:
        engine.dispose()


def _texts(db):
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return [json.loads(d).get("text") for (d,) in conn.execute(text(
                "SELECT data FROM events WHERE type_name = 'user'"))]
    finally:
        engine.dispose()


def _seed(db):
    save_conversation(db, "old", [("my old question about a kettle", "sure")],
                      start=unix(FIXTURE_NOW - 120 * DAY))
    save_conversation(db, "recent", [("where is my parcel", "on its way")],
                      start=unix(FIXTURE_NOW - 10 * DAY))
    # A conversation that started long ago and is still going on right now: its old events
    # stay until it has been quiet (Rasa would write them back).
    save_conversation(db, "live", [("hello from months ago", "hi")],
                      start=unix(FIXTURE_NOW - 100 * DAY))
    save_conversation(db, "live", [("and hello again now", "hi again")],
                      start=unix(FIXTURE_NOW) - 30)
    # Spans the cut-off: its old session goes, its recent one stays.
    save_conversation(db, "both", [("an ancient message", "ok")],
                      start=unix(FIXTURE_NOW - 95 * DAY))
    save_conversation(db, "both", [("a fresh message", "ok")],
                      start=unix(FIXTURE_NOW - 2 * DAY))


def test_old_events_are_deleted_and_recent_ones_kept(services, tmp_path):
    db = tmp_path / "tracker.db"
    _seed(db)
    before = _senders(db)
    with TrackerStore(f"sqlite:///{db}") as tracker:
        dry = run_retention(services, tracker, dry_run=True)
        assert _senders(db) == before  # a dry run deletes nothing
        result = run_retention(services, tracker)
    assert (dry.events, dry.conversations) == (result.events, result.conversations)
    assert result.days == 90 and result.cutoff == FIXTURE_NOW - 90 * DAY
    after = _senders(db)
    assert "old" not in after
    assert after["recent"] == before["recent"] and after["live"] == before["live"]
    assert 0 < after["both"] < before["both"]
    texts = _texts(db)
    assert "my old question about a kettle" not in texts and "an ancient message" not in texts
    assert {"where is my parcel", "hello from months ago", "a fresh message"} <= set(texts)
    assert result.conversations == 2
    assert result.events == before["old"] + before["both"] - after["both"]
    with session_scope(services.engine) as session:
        records = audit.recent(session, action="retention_purge")
    assert len(records) == 1 and records[0].actor == "job"
    assert records[0].detail["events"] == result.events and records[0].detail["days"] == 90


def test_days_option_and_no_tracker_store_yet(services, tmp_path):
    db = tmp_path / "tracker.db"
    _seed(db)
    with TrackerStore(f"sqlite:///{db}") as tracker:
        assert run_retention(services, tracker, days=5).conversations == 3  # old, both, recent
    assert set(_senders(db)) == {"live", "both"}
    with TrackerStore(f"sqlite:///{tmp_path / 'not-yet.db'}") as tracker:
        assert run_retention(services, tracker).events == 0
    assert not (tmp_path / "not-yet.db").exists()  # never creates Rasa's file


def test_unconfirmed_newsletter_addresses_expire(services, tmp_path):
    with session_scope(services.engine) as session:
        for email, status, sent in (("stale@example.com", "pending", FIXTURE_NOW - 3 * DAY),
                                    ("fresh@example.com", "pending", FIXTURE_NOW - DAY / 2),
                                    ("kept@example.com", "subscribed", FIXTURE_NOW - 300 * DAY)):
            session.add(NewsletterSubscription(email=email, status=status, created_at=sent,
                                               updated_at=sent, confirmation_sent_at=sent))
    with TrackerStore(f"sqlite:///{tmp_path / 'none.db'}") as tracker:
        assert run_retention(services, tracker).unconfirmed_subscriptions == 1
    with session_scope(services.engine) as session:
        left = set(session.execute(select(NewsletterSubscription.email)).scalars())
    assert left == {"fresh@example.com", "kept@example.com"}


def test_the_retention_command(shop, db_url, tmp_path, capsys):
    db = tmp_path / "tracker.db"
    save_conversation(db, "ancient", [("a message from long ago", "ok")], start=1_000_000)
    save_conversation(db, "today", [("a message from now", "ok")], start=unix(FIXTURE_NOW) + 10**9)
    args = ["privacy", "retention", "--database-url", db_url, "--tracker-url", f"sqlite:///{db}"]
    capsys.readouterr()
    assert main(args + ["--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 7  # 3 at the start + 4 a turn
    assert main(args + ["--days", "30"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["events"], out["conversations"], out["days"], out["dry_run"]) == (7, 1, 30, False)
    assert set(_senders(db)) == {"today"}
    assert main(args + ["--days", "0"]) == 2
