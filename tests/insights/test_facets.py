"""The facets and the daily rollup stay current: through the need write path (insert, update,
propensity score), by rebuild, and on erasure; what sync keeps by delta equals a rebuild."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select

from bot import insights
from bot.insights import facets
from bot.needs.service import _record, log_need
from bot.privacy.erasure import erase_customer
from bot.store.db import session_scope
from bot.store.models import Need, NeedDaily, NeedFacet
from bot.support.product_search import ShopperScore, store_score
from tests.insights.needlog import hand_built, log, need_row

JUNE = {"since": "2026-06-01", "until": "2026-06-15"}


def _snapshot(engine) -> tuple[set, set]:
    with session_scope(engine) as session:
        facet_rows = {tuple(r) for r in session.execute(select(NeedFacet.__table__))}
        daily = {tuple(r) for r in session.execute(select(NeedDaily.__table__))}
    return facet_rows, daily


def _rebuilt(engine) -> tuple[set, set]:
    with session_scope(engine) as session:
        facets.rebuild(session)
    return _snapshot(engine)


def _need(**fields) -> dict:
    need = {"product": "rain jacket", "category": "outerwear", "attributes": ["waterproof"],
            "colour": None, "size": None, "brand": None, "price_min": None, "price_max": 90.0,
            "currency": "GBP", "quantity": None, "recipient": None, "occasion": None,
            "needed_by": None, "confidence": 0.9}
    return {**need, **fields}


def test_facets_of_one_need():
    row = need_row("2026-06-03", customer=1, category="outerwear", product="Rain  Jacket",
                   attributes=["Waterproof", "waterproof", "lightweight"], colour=["Red"],
                   size=["M", "L"], brand="Northvale", price_min=40, price_max=120.5,
                   status="unmet:over_budget", propensity=0.25, recipient="Wife",
                   occasion="anniversary")
    row.id = 7
    got = facets.facets_of({c.name: getattr(row, c.name) for c in Need.__table__.columns})
    pairs = {(f["field"], f["value"]) for f in got}
    assert pairs == {("all", "*"), ("product", "rain jacket"), ("category", "outerwear"),
                     ("attribute", "waterproof"), ("attribute", "lightweight"),
                     ("colour", "red"), ("size", "m"), ("size", "l"), ("brand", "northvale"),
                     ("price_band", "100-250"), ("recipient", "wife"),
                     ("occasion", "anniversary"),
                     ("theme", "lightweight + waterproof + rain jacket")}
    first = got[0]
    assert (first["unmet"], first["price_cents"], first["propensity_micros"],
            first["customer_id"], first["category"]) == (True, 12050, 250_000, 1, "outerwear")
    assert facets.is_unmet("unmet") and facets.is_unmet("unmet:not_stocked")
    assert not facets.is_unmet("pending") and not facets.is_unmet("matched")
    assert facets.unmet_reason("unmet") == "other"
    assert facets.price_band(Decimal("25")) == "25-50"
    assert facets.price_band(Decimal("24.99")) == "under 25"


def test_the_need_write_path_keeps_facets_current_on_insert_and_update(services):
    now = datetime(2026, 6, 10, 9, 0)
    first = _record("conv-a", None, 1, "waterproof rain jacket under 90", _need(), 100, "k1",
                    "unmet:not_stocked", [], "test", now, new=True)
    log_need(services.engine, first)
    top = insights.top(services, "attribute", **JUNE)
    assert [(r.value, r.needs, r.unmet) for r in top.rows] == [("waterproof", 1, 1)]
    # the next turn refines the same need: now lightweight too, and it matched
    second = _record("conv-a", None, 2, "lightweight please", _need(
        attributes=["waterproof", "lightweight"]), 100, "k2", "matched", [3], "test", now)
    log_need(services.engine, second)
    top = insights.top(services, "attribute", **JUNE)
    assert [(r.value, r.needs, r.unmet) for r in top.rows] == [("lightweight", 1, 0),
                                                                ("waterproof", 1, 0)]
    assert insights.unmet(services, **JUNE).rows == ()
    log_need(services.engine, second)  # a retried message changes nothing
    assert _snapshot(services.engine) == _rebuilt(services.engine)


def test_a_propensity_score_stored_later_reaches_the_expected_value(services):
    now = datetime(2026, 6, 10, 9, 0)
    log_need(services.engine, _record("conv-b", 1, 1, "rain jacket", _need(), 100, "k1",
                                      "unmet:not_stocked", [], "test", now, new=True))
    before = insights.unmet(services, **JUNE)
    assert before.default_propensity_source == "fallback"
    assert store_score(services, "conv-b", 100, ShopperScore("high", 0.8, "v1"))
    after = insights.unmet(services, **JUNE)
    assert after.default_propensity_source == "mean of 1 scored needs"
    assert after.rows[0].expected_value == 72.0  # 0.8 x 90
    assert _snapshot(services.engine) == _rebuilt(services.engine)


def test_sync_by_delta_equals_a_rebuild_after_inserts_updates_and_forgets(services):
    ids = log(services.engine, hand_built())
    with session_scope(services.engine) as session:
        session.get(Need, ids[0]).status = "matched"
        session.get(Need, ids[1]).attributes = '["breathable"]'
        session.get(Need, ids[2]).propensity_probability = None
        facets.sync(session, ids[:3])
        facets.forget(session, [ids[4]])
        session.delete(session.get(Need, ids[4]))
    kept = _snapshot(services.engine)
    assert kept == _rebuilt(services.engine)
    assert {r[0] for r in kept[1]} >= {"all", "product", "attribute", "theme"}


def test_rebuild_fills_facets_for_rows_written_without_them(services):
    rows = hand_built()
    columns = [c.name for c in Need.__table__.columns if c.name not in ("id", "is_demo")]
    with session_scope(services.engine) as session:
        session.execute(insert(Need.__table__), [{c: getattr(r, c) for c in columns}
                                                 for r in rows])  # as a bulk load would
    assert insights.top(services, "product", **JUNE).rows == ()
    with session_scope(services.engine) as session:
        counts = facets.rebuild(session)
    assert counts["needs"] == 8 and counts["facets"] > 8
    products = insights.top(services, "product", **JUNE)
    assert [(r.value, r.needs) for r in products.rows][0] == ("rain jacket", 4)


def test_erasure_removes_the_facets_of_erased_needs(services):
    ids = log(services.engine, hand_built())
    jacket = insights.unmet(services, **JUNE).rows[0]
    assert (jacket.value, jacket.unmet) == ("rain jacket", 4)
    erase_customer(services, 1, actor="staff:test")  # Alice stated needs 3 and 4
    with session_scope(services.engine) as session:
        left = set(session.execute(select(NeedFacet.need_id).distinct()).scalars())
    assert ids[2] not in left and ids[3] not in left and ids[0] in left
    jacket = insights.unmet(services, **JUNE).rows[0]
    assert (jacket.value, jacket.unmet, jacket.shoppers) == ("rain jacket", 2, 2)
    assert _snapshot(services.engine) == _rebuilt(services.engine)
