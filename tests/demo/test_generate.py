import random
import re
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.demo.behaviour import black_friday
from bot.demo.customers import generate_customers
from bot.demo.generate import anchor_now, generate_shop
from bot.store.models import ORDER_STATUSES
from bot.taxonomy import load_taxonomy

ANCHOR = date(2026, 6, 15)
NOW = anchor_now(ANCHOR)
DAY = timedelta(days=1)
POSTCODE = re.compile(r"^[A-Z]{1,2}\d{1,2} \d[ABD-HJLNP-UW-Z]{2}$")


@pytest.fixture(scope="module")
def shop():
    """The default-size demo shop (about 5 s to generate), shared by this module."""
    return generate_shop(random.Random(7), ANCHOR)


@pytest.fixture(scope="module")
def by_order(shop):
    index = defaultdict(lambda: defaultdict(list))
    for table in ("order_lines", "payments", "invoices", "shipments", "returns", "refunds"):
        for row in shop[table]:
            index[row["order_id"]][table].append(row)
    return index


def test_same_seed_same_shop_other_seed_other_shop():
    a = generate_shop(random.Random(3), ANCHOR, customers=40)
    b = generate_shop(random.Random(3), ANCHOR, customers=40)
    c = generate_shop(random.Random(4), ANCHOR, customers=40)
    assert a == b
    assert a["orders"] != c["orders"]


def test_anchor_moves_the_history():
    a = generate_shop(random.Random(3), ANCHOR, customers=20)
    b = generate_shop(random.Random(3), ANCHOR + 10 * DAY, customers=20)
    assert max(o["placed_at"] for o in b["orders"]) > max(o["placed_at"] for o in a["orders"])
    assert max(e["occurred_at"] for e in b["events"]) < anchor_now(ANCHOR + 10 * DAY)


def test_too_few_customers_is_refused():
    with pytest.raises(ValueError):
        generate_shop(random.Random(1), ANCHOR, customers=2)


def test_sizes(shop):
    assert len(shop["products"]) >= 300
    assert len(shop["customers"]) == 1500
    assert 100_000 <= len(shop["events"]) <= 300_000
    assert len(shop["orders"]) >= 3000


def test_catalogue_follows_the_taxonomy(shop):
    tax = load_taxonomy()
    cats = {c["id"]: tax.category(c["slug"]) for c in shop["categories"]}
    assert {c.slug for c in cats.values()} == {c.slug for c in tax.categories}
    assert {p["category_id"] for p in shop["products"]} == set(cats)
    for field in ("name", "slug", "sku"):
        assert len({p[field] for p in shop["products"]}) == len(shop["products"])
    attrs = defaultdict(list)
    for a in shop["product_attributes"]:
        attrs[a["product_id"]].append((a["name"], a["value"]))
    for p in shop["products"]:
        cat = cats[p["category_id"]]
        assert p["brand"] in cat.brands and p["product_type"] in cat.types
        assert p["name"].startswith(p["brand"])
        assert Decimal(str(cat.price[0])) <= p["price"] <= Decimal(str(cat.price[1]))
        assert str(p["price"]).split(".")[1] in {"99", "00", "50", "95", "49"}
        assert p["currency"] == "GBP" and p["stock"] >= 0
        sizes = {v for sys in cat.sizes for v in tax.size_systems[sys]}
        for name, value in attrs[p["id"]]:
            if name == "colour":
                assert value in tax.colours
            elif name == "size":
                assert value.removeprefix("EU ") in sizes
            elif name == "material":
                assert value in tax.materials
            else:
                assert name == "feature" and value in cat.features
    assert sum(p["stock"] == 0 for p in shop["products"]) >= 10
    names = Counter(name for a in attrs.values() for name, _ in a)
    assert all(names[n] >= 100 for n in ("colour", "size", "material", "feature"))


def test_colour_variants_share_a_model(shop):
    models = Counter(p["name"].rsplit(", ", 1)[0] for p in shop["products"] if ", " in p["name"])
    assert max(models.values()) >= 2


def test_customers_are_plausible():
    rows = generate_customers(random.Random(5), 1500, NOW)
    customers, addresses = rows["customers"], rows["addresses"]
    assert [(c["id"], c["email"]) for c in customers[:3]] == [
        (1, "alice@example.com"), (2, "ben@example.com"), (3, "chloe@example.com")]
    emails = [c["email"] for c in customers]
    assert len(set(emails)) == len(emails)
    assert all(e.rsplit("@", 1)[1] in {"example.com", "example.org", "example.net"}
               for e in emails)
    assert all(POSTCODE.match(a["postcode"]) for a in addresses), [
        a["postcode"] for a in addresses if not POSTCODE.match(a["postcode"])][:5]
    assert {a["customer_id"] for a in addresses} == {c["id"] for c in customers}
    assert len({c["last_name"] for c in customers}) > 50
    assert all(c["created_at"] <= NOW for c in customers)


def test_delivery_options(shop):
    opts = {d["code"]: d for d in shop["delivery_options"]}
    assert set(opts) == {"standard", "express", "next_day", "click_collect"}
    assert opts["standard"]["free_over"] == Decimal("50.00")


def test_every_status_and_payment_method_present(shop):
    assert set(Counter(o["status"] for o in shop["orders"])) == set(ORDER_STATUSES)
    assert {p["method"] for p in shop["payments"]} == {
        "card", "paypal", "apple_pay", "klarna", "gift_card"}
    assert any(p["status"] == "failed" for p in shop["payments"])
    assert {r["status"] for r in shop["refunds"]} >= {"processing", "completed"}
    assert {s["carrier"] for s in shop["shipments"]} == {"Royal Mail", "DPD", "Evri", "UPS"}


def test_demo_shoppers_have_every_status(shop):
    for cid in (1, 2, 3):
        statuses = {o["status"] for o in shop["orders"] if o["customer_id"] == cid}
        assert statuses == set(ORDER_STATUSES), cid


def test_orders_are_consistent(shop, by_order):
    customers = {c["id"]: c for c in shop["customers"]}
    numbers = [o["number"] for o in shop["orders"]]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"SH-\d{6}", n) for n in numbers)
    for o in shop["orders"]:
        rel = by_order[o["id"]]
        assert rel["order_lines"]
        assert o["subtotal"] == sum(li["unit_price"] * li["quantity"] for li in rel["order_lines"])
        assert o["total"] == o["subtotal"] + o["shipping_cost"]
        assert o["email"] == customers[o["customer_id"]]["email"]
        assert o["placed_at"] < NOW and o["placed_at"] >= NOW - 366 * DAY
        assert o["placed_at"] <= o["updated_at"] <= NOW
        ok = [p for p in rel["payments"] if p["status"] != "failed"]
        assert len(ok) == 1 and ok[0]["amount"] == o["total"]
        status = o["status"]
        captured = ok[0]["status"] == "captured"
        assert captured == (status in ("paid", "shipped", "delivered", "returned"))
        assert bool(rel["invoices"]) == captured
        if rel["invoices"]:
            assert rel["invoices"][0]["amount"] == o["total"]
            assert rel["invoices"][0]["number"] == "INV-" + o["number"][3:]
        if status == "placed":
            assert ok[0]["status"] == "authorised" and NOW - o["placed_at"] < 2 * DAY
        if status == "paid":
            assert not rel["shipments"] and NOW - o["placed_at"] < 4 * DAY
        if status in ("placed", "paid", "cancelled"):
            assert not rel["shipments"]
        else:
            (ship,) = rel["shipments"]
            assert ship["tracking_number"] and ship["eta"] and ship["shipped_at"] < NOW
        if status == "shipped":
            assert ship["delivered_at"] is None and NOW - ship["shipped_at"] < 10 * DAY
        if status in ("delivered", "returned"):
            assert ship["status"] == "delivered"
            assert ship["shipped_at"] < ship["delivered_at"] < NOW
        if status == "cancelled":
            assert o["cancelled_at"] and o["placed_at"] < o["cancelled_at"] <= NOW
            assert ok[0]["status"] == "refunded"
        else:
            assert o["cancelled_at"] is None
        assert bool(rel["returns"]) == (status == "returned")
        for ret in rel["returns"]:
            assert ship["delivered_at"] < ret["created_at"] <= ret["updated_at"] <= NOW
        for refund in rel["refunds"]:
            assert refund["return_id"] == rel["returns"][0]["id"]
            assert 0 < refund["amount"] <= o["total"]
            assert (refund["completed_at"] is not None) == (refund["status"] == "completed")


def test_delivered_orders_both_returnable_and_old(shop, by_order):
    delivered = [by_order[o["id"]]["shipments"][0]["delivered_at"]
                 for o in shop["orders"] if o["status"] == "delivered"]
    assert sum(NOW - d <= 30 * DAY for d in delivered) >= 50
    assert sum(NOW - d > 60 * DAY for d in delivered) >= 1000


def test_purchase_events_mirror_order_lines(shop):
    orders = {o["id"]: o for o in shop["orders"]}
    expected = Counter()
    for li in shop["order_lines"]:
        o = orders[li["order_id"]]
        expected[(o["customer_id"], o["placed_at"], li["product_id"],
                  li["unit_price"] * li["quantity"])] += 1
    got = Counter((e["customer_id"], e["occurred_at"], e["product_id"], e["amount"])
                  for e in shop["events"] if e["event_type"] == "purchase")
    assert got == expected


def test_events_are_before_now_and_ids_follow_time(shop):
    events = shop["events"]
    assert all(NOW - 366 * DAY <= e["occurred_at"] < NOW for e in events)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(a["occurred_at"] <= b["occurred_at"] for a, b in zip(events, events[1:]))
    assert {e["event_type"] for e in events} == {"view", "cart", "purchase"}


def test_weekly_and_daily_rhythm(shop):
    by_weekday = Counter(e["occurred_at"].weekday() for e in shop["events"])
    weekend = (by_weekday[5] + by_weekday[6]) / 2
    weekday = sum(by_weekday[d] for d in range(5)) / 5
    assert weekend > 1.15 * weekday
    by_hour = Counter(e["occurred_at"].hour for e in shop["events"])
    assert sum(by_hour[h] for h in (19, 20, 21)) > 3 * sum(by_hour[h] for h in (2, 3, 4))


def test_seasonal_peaks(shop):
    daily = Counter(e["occurred_at"].date() for e in shop["events"])

    def mean(days):
        return sum(daily[d] for d in days) / len(days)

    bf = black_friday(2025)
    bf_week = [bf + i * DAY for i in range(-3, 4)]
    run_up = [date(2025, 12, d) for d in range(1, 21)]
    february = [date(2026, 2, d) for d in range(1, 29)]
    october = [date(2025, 10, d) for d in range(1, 32)]
    assert mean(bf_week) > 1.6 * mean(october)
    assert mean(run_up) > 1.3 * mean(february)


def test_outdoor_sells_in_summer(shop):
    outdoor_cats = {c["id"] for c in shop["categories"] if c["slug"] in ("outdoor", "garden")}
    outdoor = {p["id"] for p in shop["products"] if p["category_id"] in outdoor_cats}

    def share(months):
        evs = [e for e in shop["events"] if e["occurred_at"].month in months]
        return sum(e["product_id"] in outdoor for e in evs) / len(evs)

    assert share({6, 7, 8}) > 1.8 * share({12, 1, 2})


def test_shoppers_stick_to_their_categories(shop):
    """Most of a regular shopper's views fall in a few categories (interests persist)."""
    cat_of = {p["id"]: p["category_id"] for p in shop["products"]}
    views = defaultdict(Counter)
    for e in shop["events"]:
        if e["event_type"] == "view":
            views[e["customer_id"]][cat_of[e["product_id"]]] += 1
    regulars = [c for c in views.values() if sum(c.values()) >= 40]
    assert len(regulars) >= 100
    top3 = [sum(n for _, n in c.most_common(3)) / sum(c.values()) for c in regulars]
    assert sum(top3) / len(top3) > 0.6


def test_activity_levels_vary(shop):
    per_customer = Counter(e["customer_id"] for e in shop["events"])
    counts = sorted(per_customer.get(c["id"], 0) for c in shop["customers"])
    assert counts[len(counts) // 10] * 5 < counts[len(counts) * 9 // 10]
    # Some shoppers lapse: active early in the year, silent in the last quarter.
    early = {e["customer_id"] for e in shop["events"] if e["occurred_at"] < NOW - 200 * DAY}
    late = {e["customer_id"] for e in shop["events"] if e["occurred_at"] >= NOW - 90 * DAY}
    assert len(early - late) >= 100
