"""The insights queries and the rollup upserts on PostgreSQL, with the SQLite answers.

Skipped unless SHOP_TEST_POSTGRES_URL points at an empty, throwaway database
(scripts/with_postgres.sh; the test drops and recreates its schema).
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import select, text

from bot import insights
from bot.demo.fixtures import FIXTURE_NOW, seed_fixture
from bot.insights import facets
from bot.store.db import make_engine, session_scope
from bot.store.models import NeedDaily, NeedFacet
from bot.store.schema import upgrade
from service_helpers import make_services
from tests.insights.needlog import hand_built, log

URL = os.environ.get("SHOP_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="SHOP_TEST_POSTGRES_URL not set")
JUNE = {"since": "2026-06-01", "until": "2026-06-15"}


@pytest.fixture
def pg_services(tmp_path, lazy_extractor):
    engine = make_engine(URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(URL)
    with session_scope(engine) as session:
        seed_fixture(session, FIXTURE_NOW)
    yield make_services(URL, engine, tmp_path, lazy_extractor)
    engine.dispose()


def _tables(engine) -> tuple[set, set]:
    with session_scope(engine) as session:
        return ({tuple(r) for r in session.execute(select(NeedFacet.__table__))},
                {tuple(r) for r in session.execute(select(NeedDaily.__table__))})


def test_main_queries_on_postgresql(pg_services):
    ids = log(pg_services.engine, hand_built())
    volume = insights.volume(pg_services, bucket="week", **JUNE)
    assert [(p.needs, p.unmet, p.pending) for p in volume.totals] == [(7, 5, 1), (0, 0, 0),
                                                                      (0, 0, 0)]
    attrs = insights.top(pg_services, "attribute", **JUNE)
    assert [(r.value, r.needs, r.unmet) for r in attrs.rows] == [("waterproof", 4, 3),
                                                                ("lightweight", 2, 2)]
    unmet = insights.unmet(pg_services, by="product", order="value", **JUNE)
    assert unmet.default_propensity == pytest.approx(0.35)
    assert [(r.value, r.unmet, r.shoppers) for r in unmet.rows] == [("rain jacket", 4, 3),
                                                                    ("casserole dish", 1, 1)]
    assert unmet.rows[0].expected_value == pytest.approx(147.15)
    assert unmet.rows[0].reasons["out_of_stock"] == 1
    themes = insights.themes(pg_services, **JUNE)
    assert themes.rows[0].label == "lightweight + waterproof + rain jacket"
    page = insights.drilldown(pg_services, field="attribute", value="waterproof",
                              status="unmet", per_page=2, **JUNE)
    assert page.total == 3 and [i.id for i in page.items] == [ids[2], ids[1]]
    emerging = insights.emerging(pg_services, as_of="2026-06-14")
    assert emerging.recent_needs == 7
    with pytest.raises(insights.InsightsError, match="unknown category"):
        insights.top(pg_services, "product", category="spaceships")
    with session_scope(pg_services.engine) as session:  # an update, then a forget, by delta
        facets.forget(session, [ids[0]])
        session.execute(text("DELETE FROM needs WHERE id = :i"), {"i": ids[0]})
    kept = _tables(pg_services.engine)
    with session_scope(pg_services.engine) as session:
        facets.rebuild(session)
    assert _tables(pg_services.engine) == kept
