"""Retention and erasure with the shop database and Rasa's tracker store on PostgreSQL.

Skipped unless SHOP_TEST_POSTGRES_URL points at a throwaway database (scripts/with_postgres.sh;
`make test` runs the unit tests under it). The tracker store gets a database of its own on the
same server (Rasa's ``events`` table and the shop's behaviour ``events`` would clash).
"""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.demo.fixtures import BEN_ID, FIXTURE_NOW, seed_fixture
from bot.privacy.erasure import complete_pending, erase_customer
from bot.privacy.retention import run_retention
from bot.privacy.trackerstore import TrackerStore
from bot.store.db import make_engine, session_scope
from bot.store.schema import upgrade
from rasa_store import save_conversation, unix
from service_helpers import make_services
from test_erasure import NEEDLES, seed, text_hits

URL = os.environ.get("SHOP_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="SHOP_TEST_POSTGRES_URL not set")
TRACKER_DB = "privacy_tracker_test"


@pytest.fixture
def pg(tmp_path, lazy_extractor):
    engine = make_engine(URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TRACKER_DB}"))
        conn.execute(text(f"CREATE DATABASE {TRACKER_DB}"))
    engine.dispose()
    upgrade(URL)
    engine = make_engine(URL)
    with session_scope(engine) as session:
        seed_fixture(session, FIXTURE_NOW)
    tracker_url = make_url(URL).set(database=TRACKER_DB).render_as_string(hide_password=False)
    yield make_services(URL, engine, tmp_path, lazy_extractor), tracker_url
    engine.dispose()


def test_erasure_leaves_no_trace_on_postgresql(pg):
    services, tracker_url = pg
    seed(services, None, url=tracker_url)
    assert text_hits(tracker_url, NEEDLES) and text_hits(URL, NEEDLES)
    with TrackerStore(tracker_url) as tracker:
        result = erase_customer(services, BEN_ID, actor="staff:test", tracker=tracker)
        assert set(result.conversations) == {"ben-web", "ben-token", "ben-anon"}
        assert len(complete_pending(services, tracker)) == 1
    assert text_hits(tracker_url, NEEDLES) == []
    assert text_hits(URL, NEEDLES) == []


def test_retention_on_postgresql(pg):
    services, tracker_url = pg
    save_conversation(None, "old", [("an old message", "ok")],
                      start=unix(FIXTURE_NOW - timedelta(days=200)), url=tracker_url)
    save_conversation(None, "new", [("a new message", "ok")],
                      start=unix(FIXTURE_NOW - timedelta(days=2)), url=tracker_url)
    with TrackerStore(tracker_url) as tracker:
        result = run_retention(services, tracker)
    assert (result.events, result.conversations) == (7, 1)
    assert text_hits(tracker_url, ("an old message",)) == []
    assert text_hits(tracker_url, ("a new message",)) != []
