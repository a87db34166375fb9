import numpy as np
import pandas as pd
import pytest

from propensity.features import (
    FEATURE_INDEX,
    FEATURE_NAMES,
    EventArrays,
    ProductStats,
    build_features,
    build_snapshots,
    compute_features,
)

CUT = pd.Timestamp("2024-06-01")


def ev(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount", "event_type"])
    df["timestamp"] = pd.to_datetime(df["timestamp"], format="mixed")
    df["quantity"] = np.nan
    df["product_id"] = None
    df["category"] = None
    return df


def test_events_after_the_cutoff_never_change_features(events):
    before = build_features(events, CUT + pd.Timedelta(days=100))
    future = events[events["timestamp"] < CUT + pd.Timedelta(days=100)].copy()
    # A burst of future purchases, views and carts, including exactly at the cutoff.
    extra = future.sample(200, random_state=0).copy()
    extra["timestamp"] = CUT + pd.Timedelta(days=100) + pd.to_timedelta(
        np.arange(200) % 5, unit="D")
    extra.loc[extra.index[::3], "event_type"] = "cart"
    after = build_features(pd.concat([future, extra]), CUT + pd.Timedelta(days=100))
    pd.testing.assert_frame_equal(before.sort_index(), after.sort_index())


def test_label_window_edges():
    h = 30
    rows = [
        ("a", "2024-05-01", 10, "purchase"),  # history for everyone
        ("b", "2024-05-01", 10, "purchase"),
        ("c", "2024-05-01", 10, "purchase"),
        ("d", "2024-05-01", 10, "purchase"),
        ("a", CUT, 5, "purchase"),  # exactly at the cutoff: inside the window
        ("b", CUT + pd.Timedelta(days=h), 5, "purchase"),  # at cutoff + horizon: outside
        ("c", CUT - pd.Timedelta(seconds=1), 5, "purchase"),  # just before: a feature, not label
        ("d", CUT + pd.Timedelta(days=h) - pd.Timedelta(seconds=1), 5, "purchase"),
        ("d", CUT + pd.Timedelta(days=2), 0, "view"),  # a view is not a purchase
    ]
    snap = build_snapshots(ev(rows), [CUT], horizon_days=h)
    assert snap["label"].to_dict() == {"a": 1, "b": 0, "c": 0, "d": 1}
    assert snap.loc["c", "days_since_last_purchase"] == pytest.approx(1 / 86400)
    assert snap.loc["a", "orders_total"] == 1


def test_rfm_windows_gaps_and_occasions():
    rows = [
        ("a", "2024-05-21 10:00", 10, "purchase"),  # two lines of one occasion
        ("a", "2024-05-21 10:00", 5, "purchase"),
        ("a", "2024-04-21", 20, "purchase"),
        ("a", "2024-01-22", 30, "purchase"),
        ("a", "2024-05-30", 0, "cart"),  # abandoned: nothing bought after it
        ("a", "2024-05-31", 0, "view"),
    ]
    f = build_features(ev(rows), CUT).loc["a"]
    assert f["orders_total"] == 3 and f["orders_30d"] == 1 and f["orders_60d"] == 2
    assert f["spend_total"] == 65 and f["spend_30d"] == 15
    assert f["avg_order_value"] == pytest.approx(65 / 3)
    assert f["max_order_value"] == 30
    assert f["avg_basket_lines"] == pytest.approx(4 / 3)
    assert f["mean_gap_days"] == pytest.approx((90 + 30 + 10 / 24) / 2)
    assert f["carts_30d"] == 1 and f["abandoned_carts_30d"] == 1 and f["views_7d"] == 1
    assert f["active_months_12"] == 3


def test_cart_followed_by_a_purchase_is_not_abandoned():
    rows = [("a", "2024-05-30 09:00", 0, "cart"), ("a", "2024-05-30 10:00", 9, "purchase")]
    assert build_features(ev(rows), CUT).loc["a", "abandoned_carts_30d"] == 0


def test_too_little_history_is_not_in_the_population():
    rows = [("a", "2024-05-30", 0, "view"), ("b", "2024-05-01", 9, "purchase")]
    assert build_features(ev(rows), CUT).index.tolist() == ["b"]


def test_need_features_are_zero_without_a_needs_log_and_counted_with_one():
    rows = [("a", "2024-05-01", 9, "purchase")]
    assert (build_features(ev(rows), CUT)[["needs_30d", "unmet_needs_30d"]] == 0).all().all()
    needs = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a"],
        "created_at": pd.to_datetime(["2024-05-20", "2024-05-25", "2024-03-01", "2024-06-02"]),
        "status": ["unmet", "matched", "unmet", "unmet"],
        "category": ["shoes", "unicorns", "shoes", "shoes"],
    })
    f = build_features(ev(rows), CUT, needs=needs, catalogue={"shoes"}).loc["a"]
    assert (f["needs_30d"], f["unmet_needs_30d"], f["catalogue_needs_30d"]) == (2, 1, 1)


def test_one_customer_alone_gets_the_same_features_as_in_the_batch(events):
    batch = build_features(events, CUT)
    # Serving sees one customer's events plus the shop-wide product buyers (from the DB).
    shop = ProductStats.from_events(EventArrays.from_frame(events), int(CUT.value))
    for cid in batch.index[:20]:
        alone = events[events["customer_id"] == cid]
        arr = EventArrays.from_frame(alone)
        X, ok = compute_features(arr, int(CUT.value), products=shop)
        assert ok[0]
        np.testing.assert_allclose(X[0], batch.loc[cid, list(FEATURE_NAMES)].to_numpy(float))


def test_feature_building_is_vectorised_enough(events):
    # 50x the customers must not take 50x a per-customer loop: build on a stacked copy.
    big = pd.concat([events.assign(customer_id=events["customer_id"] + f"-{k}") for k in range(50)])
    f = build_features(big, CUT)
    assert len(f) == 50 * len(build_features(events, CUT))
    assert set(FEATURE_INDEX) == set(f.columns)


def test_purchase_day_rhythm_and_short_window_features():
    # Customer a bought 40, 30, 20 (twice, an hour apart) and 3 days before the cutoff:
    # purchase days every 10 days then a 17-day gap; b bought once, 100 days ago.
    d = lambda days: CUT - pd.Timedelta(days=days)  # noqa: E731
    rows = [
        ("a", d(40), 10, "purchase"), ("a", d(30), 10, "purchase"),
        ("a", d(20), 5, "purchase"), ("a", d(20) - pd.Timedelta(hours=1), 5, "purchase"),
        ("a", d(3), 8, "purchase"),
        ("b", d(100), 50, "purchase"),
        ("a", CUT + pd.Timedelta(days=1), 99, "purchase"),  # after the cutoff: ignored
    ]
    f = build_features(ev(rows), CUT)
    a, b = f.loc["a"], f.loc["b"]
    assert a["orders_7d"] == 1 and a["orders_14d"] == 1
    assert a["active_days_30d"] == 2 and a["active_days_90d"] == 4 and a["active_days_total"] == 4
    assert a["active_weeks_12"] == 4  # weeks 0, 2, 4, 5 before the cutoff
    # Gaps between purchase days: 10, 10, 17 (mean 12.33); 3 days since the last one.
    assert a["days_until_due"] == pytest.approx(37 / 3 - 3)
    assert a["gap_share_longer_than_now"] == 1.0
    assert a["gap_hazard_30d"] == pytest.approx(3.5 / 4)
    assert a["decayed_orders_7d"] == pytest.approx(
        sum(2 ** (-x / 7) for x in (40, 30, 20, 20 + 1 / 24, 3)))
    assert a["decayed_spend_30d"] == pytest.approx(
        10 * 2 ** (-40 / 30) + 10 * 2 ** (-30 / 30) + 5 * 2 ** (-20 / 30)
        + 5 * 2 ** (-(20 + 1 / 24) / 30) + 8 * 2 ** (-3 / 30))
    assert a["purchase_days_per_month"] == pytest.approx(4 * 30 / 40)
    # One purchase day: no pace known, due "a year ago"; no gaps, hazard smoothed to 0.5.
    assert b["days_until_due"] == pytest.approx(-100 - 365)
    assert b["gap_hazard_30d"] == 0.5 and b["orders_14d"] == 0 and b["active_days_365d"] == 1


def test_last_order_repeat_products_and_when_regular_products_are_due():
    d = lambda days: CUT - pd.Timedelta(days=days)  # noqa: E731
    rows = [  # (customer, when, amount, product, quantity)
        ("a", d(50), 10, "p1", 2), ("a", d(50), 5, "p2", 1),
        ("a", d(30), 10, "p1", 2),
        ("a", d(10), 10, "p1", 2), ("a", d(10), 30, "p3", 10),
    ]
    df = ev([(c, t, amt, "purchase") for c, t, amt, _, _ in rows])
    df["product_id"] = [r[3] for r in rows]
    df["quantity"] = [float(r[4]) for r in rows]
    a = build_features(df, CUT).loc["a"]
    assert a["last_order_value"] == 40 and a["last_order_lines"] == 2
    assert a["last_order_items"] == 12
    assert a["last_vs_avg_order_value"] == pytest.approx(np.log1p(40) - np.log1p(65 / 3))
    assert a["avg_item_price"] == pytest.approx(65 / 17) and a["items_per_line"] == 17 / 5
    # p1 on 3 days, p2 and p3 once; in the last order p1 is a repeat, p3 is not.
    assert a["repeat_product_share"] == pytest.approx(1 / 3)
    assert a["purchase_days_per_product"] == pytest.approx(5 / 3)
    assert a["last_order_repeat_share"] == 0.5
    # p1 every 20 days, last bought 10 days ago: due in 10 days.
    assert a["regular_products"] == 1 and a["min_product_due_days"] == 10
    assert a["mean_product_due_days"] == 10 and a["products_due_30d"] == 1
    assert a["share_products_due_30d"] == 1.0


def test_product_signals_count_other_shoppers_only_and_point_in_time():
    d = lambda days: CUT - pd.Timedelta(days=days)  # noqa: E731
    rows = [("a", d(5), "p1"), ("a", d(60), "p2"),  # a's own purchases
            ("b", d(10), "p1"), ("c", d(20), "p1"), ("b", d(50), "p2"),  # others
            ("c", CUT + pd.Timedelta(days=1), "p2")]  # after the cutoff: never counted
    df = ev([(c, t, 5, "purchase") for c, t, _ in rows])
    df["product_id"] = [r[2] for r in rows]
    f = build_features(df, CUT)
    a = f.loc["a"]
    # p1: 2 other buyers in the last 30 days; p2: none lately, 1 other in the 90 days before.
    assert a["product_buyers_30d"] == pytest.approx((np.log1p(2) + 0) / 2)
    assert a["share_products_bought_by_others_30d"] == 0.5
    assert a["product_buyer_trend"] == pytest.approx(
        (np.log1p(2) - 0 + 0 - np.log1p(1 / 3)) / 2)
    # Alone, without the shop-wide counts, a sees nobody else.
    alone = EventArrays.from_frame(df[df["customer_id"] == "a"])
    X, _ = compute_features(alone, int(CUT.value))
    assert X[0, FEATURE_INDEX["product_buyers_30d"]] == 0
