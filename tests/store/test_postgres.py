"""The migration and the demo build on PostgreSQL.

Skipped unless SHOP_TEST_POSTGRES_URL points at an empty, throwaway database (the tests create
and drop every table in it).
"""
import os
import random
from datetime import date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text

from bot.demo import writer
from bot.demo.build import build_demo_data
from bot.demo.generate import generate_shop
from bot.store.db import make_engine, session_scope
from bot.store.models import Base, Customer, Event
from bot.store.schema import current_revision, head_revision, upgrade

URL = os.environ.get("SHOP_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="SHOP_TEST_POSTGRES_URL not set")


@pytest.fixture
def pg_url():
    engine = make_engine(URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return URL


def test_upgrade_twice_and_schema_matches_models(pg_url):
    upgrade(pg_url)
    upgrade(pg_url)
    assert current_revision(pg_url) == head_revision()
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        engine.dispose()


def test_build_with_copy_matches_the_generator(pg_url, monkeypatch):
    monkeypatch.setattr(writer, "COPY_THRESHOLD", 100)  # exercise COPY on a small shop
    anchor = date(2026, 6, 15)
    result = build_demo_data(pg_url, seed=2, anchor=anchor, customers=20)
    rows = generate_shop(random.Random(2), anchor, customers=20)
    engine = make_engine(pg_url)
    try:
        with session_scope(engine) as s:
            assert result.counts["events"] == len(rows["events"])
            stored = s.execute(select(Event).order_by(Event.id)).scalars().all()
            for got, want in zip(stored, rows["events"]):
                assert (got.event_type, got.occurred_at, got.session_id, got.quantity,
                        got.amount) == (want["event_type"], want["occurred_at"],
                                        want["session_id"], want["quantity"], want["amount"])
            # Sequences were moved past the explicit ids.
            s.add(Customer(email="late@example.com", first_name="Late", last_name="Comer",
                           created_at=datetime(2026, 6, 15)))
            s.flush()
            assert s.execute(select(func.max(Customer.id))).scalar() == 21
    finally:
        engine.dispose()
