"""Every insights view against the hand-built log of tests/insights/needlog.py (known answers)."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from bot import insights
from bot.insights import InsightsError
from tests.insights.needlog import hand_built, log, need_row

JUNE = {"since": "2026-06-01", "until": "2026-06-15"}


@pytest.fixture
def logged(services):
    ids = log(services.engine, hand_built())
    return dict(zip(range(1, 9), ids))


def test_volume_by_week_counts_pending_but_not_as_unmet(services, logged):
    report = insights.volume(services, bucket="week", **JUNE)
    assert [(p.start, p.needs, p.unmet, p.pending) for p in report.totals] == [
        (date(2026, 6, 1), 7, 5, 1), (date(2026, 6, 8), 0, 0, 0), (date(2026, 6, 15), 0, 0, 0)]
    assert report.totals[0].share_unmet == round(5 / 7, 4)
    by_cat = {(p.start, p.category): (p.needs, p.unmet) for p in report.by_category}
    assert by_cat == {(date(2026, 6, 1), "outerwear"): (4, 4),
                      (date(2026, 6, 1), "footwear"): (2, 0),
                      (date(2026, 6, 1), "kitchen"): (1, 1)}


def test_volume_by_day_and_month(services, logged):
    days = insights.volume(services, bucket="day", since="2026-06-01", until="2026-06-03")
    assert [(p.start.day, p.needs) for p in days.totals] == [(1, 1), (2, 1), (3, 1)]
    months = insights.volume(services, bucket="month", since="2026-05-01", until="2026-06-15")
    assert [(p.start, p.needs, p.unmet) for p in months.totals] == [
        (date(2026, 5, 1), 1, 1), (date(2026, 6, 1), 7, 5)]


def test_top_values_per_field(services, logged):
    attrs = insights.top(services, "attribute", **JUNE)
    assert [(r.value, r.needs, r.unmet) for r in attrs.rows] == [("waterproof", 4, 3),
                                                                ("lightweight", 2, 2)]
    assert attrs.total_needs == 7
    colours = insights.top(services, "colour", **JUNE)
    assert sorted((r.value, r.needs) for r in colours.rows) == [("blue", 1), ("brown", 1),
                                                                 ("red", 1)]
    bands = insights.top(services, "price_band", **JUNE)
    assert [(r.value, r.needs) for r in bands.rows] == [("100-250", 2), ("50-100", 2)]
    products = insights.top(services, "product", **JUNE)
    assert [(r.value, r.needs, r.unmet) for r in products.rows] == [
        ("rain jacket", 4, 4), ("hiking boot", 2, 0), ("casserole dish", 1, 1)]
    for field, want in (("size", {"m", "9", "12"}), ("brand", {"fellrunner", "copperfield"}),
                        ("recipient", {"husband"}), ("occasion", {"birthday"}),
                        ("category", {"outerwear", "footwear", "kitchen"})):
        assert {r.value for r in insights.top(services, field, **JUNE).rows} == want


def test_date_and_category_filters(services, logged):
    may = insights.top(services, "product", since="2026-05-01", until="2026-05-31")
    assert [(r.value, r.needs) for r in may.rows] == [("teapot", 1)]
    outer = insights.top(services, "product", category="outerwear", **JUNE)
    assert [(r.value, r.needs) for r in outer.rows] == [("rain jacket", 4)]
    assert outer.total_needs == 4
    edge = insights.top(services, "product", since="2026-06-02", until="2026-06-04")
    assert [(r.value, r.needs) for r in edge.rows] == [("rain jacket", 3)]
    limited = insights.top(services, "product", limit=1, **JUNE)
    assert len(limited.rows) == 1


def test_unmet_by_product_with_reasons_and_expected_value(services, logged):
    report = insights.unmet(services, by="product", **JUNE)
    # default propensity: mean of the June scores 0.5, 0.4, 0.2, 0.3
    assert report.default_propensity == pytest.approx(0.35)
    assert report.default_propensity_source == "mean of 4 scored needs"
    assert report.currency == "GBP"
    jacket, dish = report.rows
    assert jacket.value == "rain jacket" and jacket.unmet == 4 and jacket.needs == 4
    assert dict(jacket.reasons) == {"not_stocked": 1, "out_of_stock": 1, "over_budget": 1,
                                    "size_or_colour": 1, "other": 0}
    # anonymous 0.35 x 100 + anonymous 0.35 x 149 (median) + Alice once: max(0.5 x 120, 0.4 x 149)
    assert jacket.expected_value == pytest.approx(35 + 52.15 + 60)
    assert jacket.shoppers == 3
    assert jacket.examples[0] == "rain jacket in XXL"  # newest first
    assert len(jacket.examples) == 3
    assert dish.value == "casserole dish" and dish.reasons["other"] == 1
    assert dish.expected_value == pytest.approx(0.3 * 60)
    # the matched and the pending hiking boots are not unmet demand
    assert "hiking boot" not in [r.value for r in report.rows]


def test_unmet_by_attribute_and_category_and_order_by_value(services, logged):
    attrs = insights.unmet(services, by="attribute", **JUNE)
    assert [(r.value, r.unmet, r.expected_value) for r in attrs.rows] == [
        ("waterproof", 3, pytest.approx(35 + 52.15 + 60)), ("lightweight", 2, pytest.approx(95))]
    cats = insights.unmet(services, by="category", **JUNE)
    assert [(r.value, r.unmet) for r in cats.rows] == [("outerwear", 4), ("kitchen", 1)]
    log(services.engine, [need_row(
        "2026-06-10", category="kitchen", product="stand mixer", price_max=900,
        status="unmet:not_stocked", propensity=0.35)])
    by_value = insights.unmet(services, by="product", order="value", **JUNE)
    assert [r.value for r in by_value.rows][:2] == ["stand mixer", "rain jacket"]
    by_volume = insights.unmet(services, by="product", order="volume", **JUNE)
    assert by_volume.rows[0].value == "rain jacket"


def test_default_propensity_falls_back_when_nobody_is_scored(services, logged):
    report = insights.unmet(services, by="product", since="2026-05-01", until="2026-05-31")
    assert report.default_propensity_source == "fallback"
    assert report.rows[0].expected_value == pytest.approx(30 * report.default_propensity)


def test_themes_group_a_product_with_its_attribute_set(services, logged):
    report = insights.themes(services, **JUNE)
    counts = {r.label: r.needs for r in report.rows}
    assert counts["lightweight + waterproof + rain jacket"] == 2
    assert counts["waterproof + rain jacket"] == 1
    assert counts["rain jacket"] == 1
    assert counts["waterproof + hiking boot"] == 1
    assert report.rows[0].label == "lightweight + waterproof + rain jacket"
    assert report.rows[0].examples == ("lightweight waterproof rain jacket under 120",
                                       "a waterproof lightweight rain jacket")
    with_attrs = insights.themes(services, with_attributes=True, **JUNE)
    assert all(" + " in r.label for r in with_attrs.rows)


def test_drilldown_pages_through_the_needs_behind_a_number(services, logged):
    page = insights.drilldown(services, field="attribute", value="Waterproof", status="unmet",
                              per_page=2, **JUNE)
    assert page.total == 3 and page.pages == 2
    assert [i.id for i in page.items] == [logged[3], logged[2]]
    second = insights.drilldown(services, field="attribute", value="waterproof",
                                status="unmet", per_page=2, page=2, **JUNE)
    assert [i.id for i in second.items] == [logged[1]]
    everything = insights.drilldown(services, **JUNE)
    assert everything.total == 7
    pending = insights.drilldown(services, status="pending", **JUNE)
    assert [i.id for i in pending.items] == [logged[6]]
    reason = insights.drilldown(services, status="unmet:over_budget", category="outerwear",
                                **JUNE)
    item, = reason.items
    assert item.signed_in and item.propensity == 0.5 and item.attributes == ("lightweight",
                                                                             "waterproof")
    assert "customer_id" not in item.as_dict()


@pytest.mark.parametrize("kwargs, message", [
    ({"since": "2026-06-20"}, "in the future"),
    ({"until": "2026-07-01"}, "in the future"),
    ({"since": "2026-06-10", "until": "2026-06-01"}, "the period is empty"),
    ({"since": "June"}, "must be a date"),
    ({"category": "spaceships"}, "unknown category"),
])
def test_bad_filters_are_refused_with_a_clear_message(services, logged, kwargs, message):
    for view in (lambda: insights.top(services, "product", **kwargs),
                 lambda: insights.unmet(services, **kwargs),
                 lambda: insights.volume(services, **kwargs),
                 lambda: insights.drilldown(services, **kwargs)):
        with pytest.raises(InsightsError, match=message):
            view()


def test_unknown_field_status_bucket_and_limits_are_refused(services):
    with pytest.raises(InsightsError, match="unknown field"):
        insights.top(services, "shoe_size")
    with pytest.raises(InsightsError, match="unknown status"):
        insights.drilldown(services, status="lost")
    with pytest.raises(InsightsError, match="unknown bucket"):
        insights.volume(services, bucket="year")
    with pytest.raises(InsightsError, match="limit"):
        insights.top(services, "product", limit=0)
    with pytest.raises(InsightsError, match="a value needs a field"):
        insights.drilldown(services, value="boots")
    with pytest.raises(InsightsError, match="in the future"):
        insights.emerging(services, as_of="2027-01-01")
    assert issubclass(InsightsError, ValueError)


def test_csv_exports_are_formula_safe(services):
    log(services.engine, [need_row("2026-06-10", category="kitchen", product="=cmd|' /C calc'!A0",
                                   attributes=["+evil"], status="unmet:not_stocked",
                                   text='=HYPERLINK("http://evil.example","x")')])
    rows = list(csv.DictReader(io.StringIO(insights.to_csv(
        insights.unmet(services, **JUNE)))))
    assert rows[0]["value"] == "'=cmd|' /c calc'!a0"
    assert rows[0]["examples"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    drill = list(csv.DictReader(io.StringIO(insights.to_csv(
        insights.drilldown(services, **JUNE)))))
    assert drill[0]["text"].startswith("'=HYPERLINK")
    assert drill[0]["attributes"] == "'+evil"
    top = list(csv.DictReader(io.StringIO(insights.to_csv(
        insights.top(services, "attribute", **JUNE)))))
    assert top == [{"value": "'+evil", "needs": "1", "unmet": "1", "share_unmet": "1.0"}]


def test_every_view_exports_json_and_csv(services, logged):
    import json

    views = [insights.volume(services, **JUNE), insights.top(services, "colour", **JUNE),
             insights.unmet(services, **JUNE), insights.themes(services, **JUNE),
             insights.emerging(services, as_of="2026-06-14"),
             insights.drilldown(services, **JUNE)]
    for view in views:
        json.dumps(insights.to_json(view))
        header = insights.to_csv(view).splitlines()[0]
        assert header.split(",") == list(view.csv_columns)


def test_categories_for_filters(services, logged):
    assert {"footwear", "kitchen", "outerwear"} <= set(insights.categories(services))


def _reference_expected_values(rows, since: date, until: date) -> dict[str, float]:
    """The expected value of every unmet product, straight from the definition."""
    medians = {"footwear": 89.99, "kitchen": 64.00, "outerwear": 149.00}
    inside = [r for r in rows if since <= r.created_at.date() <= until]
    scores = [r.propensity_probability for r in inside if r.propensity_probability is not None]
    default = sum(scores) / len(scores)
    best: dict[tuple, float] = {}
    total: dict[str, float] = {}
    for r in inside:
        if not r.status.startswith("unmet"):
            continue
        stated = r.price_max if r.price_max is not None else r.price_min
        price = float(stated) if stated is not None else medians.get(r.category, 0.0)
        p = r.propensity_probability if r.propensity_probability is not None else default
        if r.customer_id is None:
            total[r.product] = total.get(r.product, 0.0) + p * price
        else:
            key = (r.product, r.customer_id)
            best[key] = max(best.get(key, 0.0), p * price)
    for (product, _), value in best.items():
        total[product] = total.get(product, 0.0) + value
    return total


def test_ranking_by_expected_value_matches_the_definition(services, monkeypatch):
    import random

    from bot.insights import service

    settled: list[int] = []
    exact = service._signed_values

    def counting(session, field, values, *args):
        settled.append(len(values))
        return exact(session, field, values, *args)

    monkeypatch.setattr(service, "_signed_values", counting)

    rng = random.Random(5)
    rows = []
    for i in range(600):
        signed = rng.random() < 0.6
        price = rng.choice([None, None, 20, 75, 300, 1200])
        rows.append(need_row(
            f"2026-06-{rng.randint(1, 15):02d}", customer=rng.choice([1, 2]) if signed else None,
            category=rng.choice(["footwear", "kitchen", "outerwear", "garden"]),
            product=f"thing {int(rng.paretovariate(0.3)) % 400}",  # many values
            price_max=price, status=rng.choice(["matched", "pending", "unmet:not_stocked",
                                                "unmet:out_of_stock", "unmet"]),
            propensity=round(rng.random(), 3) if signed and rng.random() < 0.7 else None))
    log(services.engine, rows)
    want = _reference_expected_values(rows, date(2026, 6, 1), date(2026, 6, 15))
    ranked = sorted(want.items(), key=lambda kv: -kv[1])
    for limit in (1, 3, 10, 200):
        settled.clear()
        report = insights.unmet(services, by="product", order="value", limit=limit, **JUNE)
        if limit == 1:  # the upper bounds spared most values the exact per-shopper query
            assert 0 < sum(settled) < len(want) / 2
        # the k largest expected values, each row's figure its own (ties may come in any order)
        assert [r.expected_value for r in report.rows] == [
            pytest.approx(worth, abs=0.01) for _, worth in ranked[:limit]]
        assert all(r.expected_value == pytest.approx(want[r.value], abs=0.01)
                   for r in report.rows)
    by_volume = insights.unmet(services, by="product", order="volume", limit=200, **JUNE)
    assert {r.value: r.expected_value for r in by_volume.rows} == {
        v: pytest.approx(w, abs=0.01) for v, w in want.items()}


@pytest.mark.parametrize("since, until, want", [
    ("2026-04-20", "2026-06-02", [("rain jacket", 2), ("teapot", 1)]),  # days, May, days
    ("2026-05-01", "2026-06-01", [("rain jacket", 1), ("teapot", 1)]),  # May, a day
    ("2026-04-01", "2026-05-31", [("teapot", 1)]),  # whole months only
    ("2026-05-10", "2026-05-10", [("teapot", 1)]),  # one day
    ("2026-05-11", "2026-05-31", []),
])
def test_periods_across_whole_and_partial_months(services, logged, since, until, want):
    assert [(r.value, r.needs) for r in
            insights.top(services, "product", since=since, until=until).rows] == want
    page = insights.drilldown(services, since=since, until=until)
    assert page.total == len(page.items) == sum(n for _, n in want)
    unmet = insights.unmet(services, since=since, until=until)
    assert sum(r.unmet for r in unmet.rows) == sum(n for _, n in want)  # all of these unmet


def test_a_theme_label_does_not_repeat_what_the_product_says():
    from bot.insights.facets import theme_label

    assert theme_label("vegan leather handbag", ["vegan leather", "Small"]) \
        == "small + vegan leather handbag"
    assert theme_label("hiking jacket", ["waterproof", "lightweight"]) \
        == "lightweight + waterproof + hiking jacket"
    assert theme_label("leather", ["leather"]) == "leather"
    assert theme_label(None, ["waterproof"]) is None
