from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from bot.demo.build import DatabaseNotEmpty, build_demo_data
from bot.store.db import make_engine, session_scope
from bot.store.models import Base, Customer, Event, Order, Product


def _count(engine, model):
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar()


def test_build_writes_every_generated_row(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = build_demo_data(url, seed=1, anchor=date(2026, 6, 15), customers=30)
    assert not result.skipped
    engine = make_engine(url)
    try:
        for table, n in result.counts.items():
            with session_scope(engine) as s:
                assert s.execute(
                    select(func.count()).select_from(Base.metadata.tables[table])
                ).scalar() == n, table
        assert result.counts["customers"] == _count(engine, Customer) == 30
        assert _count(engine, Product) >= 300
        assert _count(engine, Order) > 0 and _count(engine, Event) > 0
        # Ids written explicitly must leave the tables usable for ordinary inserts.
        with session_scope(engine) as s:
            s.add(Customer(email="new@example.com", first_name="New", last_name="Shopper",
                           created_at=datetime(2026, 6, 15)))
        assert _count(engine, Customer) == 31
    finally:
        engine.dispose()
    assert "30 customers" in result.summary()


def test_if_missing_skips_a_filled_database(shop, db_url):
    result = build_demo_data(db_url, customers=10, if_missing=True)
    assert result.skipped
    assert _count(shop, Customer) == 2  # the fixture's customers, untouched


def test_refuses_to_build_into_a_filled_database(shop, db_url):
    with pytest.raises(DatabaseNotEmpty):
        build_demo_data(db_url, customers=10)
