"""The demo's year of logged needs (bot.demo.needs): written from the catalogue, run through our
extractor and the import path, in every status, seasonal, with conversions, two themes growing
in the last six weeks, marked as demo, and the same for the same seed."""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.build import build_demo_data
from bot.demo.generate import anchor_now
from bot.demo.needs import demo_messages, load_facts, plural, with_article
from bot.store.db import make_engine, session_scope
from bot.store.models import NEED_STATUSES, Need

ANCHOR = date(2026, 6, 15)
NOW = anchor_now(ANCHOR)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, extractor):
    """A small demo shop with 2,000 demo messages' needs (built once for the module)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo-needs') / 'shop.db'}"
    result = build_demo_data(url, seed=5, anchor=ANCHOR, customers=60, need_history=True,
                             need_messages=2000, extractor=extractor)
    engine = make_engine(url)
    with session_scope(engine) as session:
        rows = [(n.created_at, n.status, n.product, n.category, tuple(n.attributes and
                 sorted(eval_list(n.attributes))), n.customer_id, n.converted_order_id,
                 n.is_demo, n.conversation_id, n.text)
                for n in session.execute(select(Need).order_by(Need.id)).scalars()]
        facts = load_facts(session)
    engine.dispose()
    return result, rows, facts


def eval_list(raw):
    import json

    return json.loads(raw or "[]")


def test_every_status_and_conversions_all_marked_demo(demo):
    result, rows, _ = demo
    assert result.needs is not None and result.needs.needs == len(rows) >= 1800
    assert result.counts["needs"] == len(rows)
    statuses = Counter(r[1] for r in rows)
    assert set(statuses) == set(NEED_STATUSES) - {"pending"}  # nobody waits for an answer
    assert all(statuses[s] >= 20 for s in statuses)
    assert statuses["matched"] > len(rows) / 3
    assert all(r[7] for r in rows) and all(r[8].startswith("import:demo-") for r in rows)
    converted = [r for r in rows if r[6] is not None]
    assert result.needs.converted == len(converted) >= 20
    assert all(r[5] is not None for r in converted)
    anonymous = sum(r[5] is None for r in rows)
    assert 0.2 < anonymous / len(rows) < 0.5
    assert "logged needs from" in result.summary()


def test_a_year_with_seasons(demo):
    _, rows, _ = demo
    assert min(r[0] for r in rows) >= NOW - timedelta(days=366)
    assert max(r[0] for r in rows) < NOW

    def month_share(category, months):  # the growing themes left out (they follow no season)
        inside = [r for r in rows if r[0].month in months
                  and r[2] not in ("hiking jacket", "vegan leather handbag")]
        return sum(r[3] == category for r in inside) / len(inside)

    summer, winter = (6, 7, 8), (11, 12, 1)
    assert month_share("outdoor", summer) > 1.5 * month_share("outdoor", winter)
    assert month_share("outerwear", winter) > 1.5 * month_share("outerwear", summer)
    swim = [r for r in rows if r[2] in ("swimsuit", "bikini", "paddling pool")]
    assert swim and all(r[0].month in (5, 6, 7, 8) for r in swim)
    assert all(r[1] == "unmet:not_stocked" for r in swim)
    advent = [r for r in rows if r[2] == "advent calendar"]
    assert advent and all(r[0].month in (10, 11, 12) for r in advent)


def test_two_themes_grow_in_the_last_six_weeks(demo):
    _, rows, _ = demo
    split = NOW - timedelta(weeks=6)

    def weekly(match):
        recent = sum(1 for r in rows if match(r) and r[0] >= split) / 6
        before = sum(1 for r in rows if match(r) and r[0] < split) / (52 - 6)
        return recent, before

    jacket = weekly(lambda r: r[2] == "hiking jacket"
                    and set(r[4]) == {"waterproof", "lightweight"})
    handbag = weekly(lambda r: r[2] == "vegan leather handbag" and "vegan leather" in r[4])
    for recent, before in (jacket, handbag):
        assert before > 0 and recent > 4 * before


def test_same_seed_same_messages_other_seed_others(demo):
    _, _, facts = demo
    a = demo_messages(random.Random("needs-5"), facts, NOW, 500)
    assert a == demo_messages(random.Random("needs-5"), facts, NOW, 500)
    assert a != demo_messages(random.Random("needs-6"), facts, NOW, 500)
    assert all(datetime.fromisoformat(m["created_at"]) < NOW for m in a)
    assert [m["id"] for m in a] == [f"demo-{i:06d}" for i in range(1, len(a) + 1)]


def test_same_seed_same_rows_and_an_older_shop_gets_its_history(tmp_path, extractor):
    def build(name, **kw):
        url = f"sqlite:///{tmp_path / name}"
        return url, build_demo_data(url, seed=9, anchor=ANCHOR, customers=20,
                                    need_messages=300, extractor=extractor, **kw)

    def rows(url):
        engine = make_engine(url)
        with session_scope(engine) as session:
            found = [(n.conversation_id, n.need_seq, n.created_at, n.status, n.product,
                      n.customer_id, n.converted_order_id)
                     for n in session.execute(select(Need).order_by(Need.id)).scalars()]
        engine.dispose()
        return found

    fresh, _ = build("fresh.db", need_history=True)
    assert len(rows(fresh)) > 250
    # A shop built before the history: --if-missing adds it once, ending where its orders end
    # (the same anchor, so the same rows as a shop built with it: same seed, same needs).
    older, plain = build("older.db")
    assert rows(older) == [] and plain.needs is None
    added = build_demo_data(older, seed=9, customers=20, if_missing=True, need_history=True,
                            need_messages=300, extractor=extractor)
    assert added.skipped and "logged needs" in added.summary()
    assert rows(older) == rows(fresh)
    again = build_demo_data(older, seed=9, customers=20, if_missing=True, need_history=True,
                            need_messages=300, extractor=extractor)
    assert again.needs is None and "nothing to do" in again.summary()


def test_words():
    assert [plural(t) for t in ("dress", "watch", "body", "jeans", "building blocks", "mug")] == [
        "dresses", "watches", "bodies", "jeans", "building blocks", "mugs"]
    assert with_article("umbrella", "umbrella") == "an umbrella"
    assert with_article("black jeans", "jeans") == "some black jeans"
    assert with_article("shampoo", "shampoo") == "some shampoo"
