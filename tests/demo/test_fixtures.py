from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from bot.demo.fixtures import FIXTURE_NOW, fixture_rows
from bot.store.db import session_scope
from bot.store.models import (
    Customer,
    DeliveryOption,
    Invoice,
    Order,
    Payment,
    Product,
    ProductAttribute,
    Refund,
    Return,
    Shipment,
)

NOW = FIXTURE_NOW
DAY = timedelta(days=1)


def _order(session, number) -> Order:
    return session.execute(select(Order).where(Order.number == number)).scalar_one()


def test_delivery_options(shop):
    with session_scope(shop) as s:
        opts = {o.code: o for o in s.execute(select(DeliveryOption)).scalars()}
    assert set(opts) == {"standard", "express", "next_day", "click_collect"}
    assert (opts["standard"].price, opts["standard"].free_over) == (Decimal("3.95"), Decimal("50"))
    assert (opts["standard"].min_days, opts["standard"].max_days) == (3, 5)
    assert (opts["express"].price, opts["express"].max_days) == (Decimal("6.95"), 2)
    assert (opts["next_day"].price, opts["next_day"].max_days) == (Decimal("9.95"), 1)
    assert "8pm" in opts["next_day"].description
    assert opts["click_collect"].price == 0


def test_products_and_attributes(shop):
    with session_scope(shop) as s:
        products = {p.id: p for p in s.execute(select(Product)).scalars()}
        attrs = {}
        for a in s.execute(select(ProductAttribute)).scalars():
            attrs.setdefault(a.product_id, set()).add((a.name, a.value))
        cats = {p.id: p.category.slug for p in products.values()}
    assert products[1].name == "Fellrunner Waterproof Hiking Boot"
    assert (products[1].price, products[1].stock, cats[1]) == (Decimal("89.99"), 12, "footwear")
    assert products[1].product_type == "hiking boot" and products[1].brand == "Fellrunner"
    assert attrs[1] == {("colour", "brown"), ("size", "8"), ("size", "9"), ("size", "10"),
                        ("material", "leather"), ("feature", "waterproof")}
    assert products[2].name == "Copperfield Cast Iron Casserole Dish"
    assert (products[2].price, products[2].stock, cats[2]) == (Decimal("64.00"), 0, "kitchen")
    assert attrs[2] == {("colour", "blue"), ("material", "cast iron")}
    assert products[3].name == "Northvale Insulated Parka"
    assert (products[3].price, products[3].stock, cats[3]) == (Decimal("149.00"), 5, "outerwear")
    assert attrs[3] == {("colour", "black"), ("size", "S"), ("size", "M"), ("size", "L"),
                        ("feature", "waterproof"), ("feature", "insulated")}


def test_customers(shop):
    with session_scope(shop) as s:
        customers = {c.id: (c.first_name, c.last_name, c.email)
                     for c in s.execute(select(Customer)).scalars()}
    assert customers == {1: ("Alice", "Carter", "alice@example.com"),
                         2: ("Ben", "Okafor", "ben@example.com")}


def test_orders_statuses_and_totals(shop):
    expected = {
        "SH-100001": (1, "placed"), "SH-100002": (1, "paid"), "SH-100003": (1, "shipped"),
        "SH-100004": (1, "delivered"), "SH-100005": (1, "delivered"),
        "SH-100006": (1, "cancelled"), "SH-100007": (1, "returned"),
        "SH-200001": (2, "delivered"),
    }
    with session_scope(shop) as s:
        orders = s.execute(select(Order)).scalars().all()
        assert {o.number: (o.customer_id, o.status) for o in orders} == expected
        for o in orders:
            assert 1 <= len(o.lines) <= 2
            assert o.subtotal == sum(line.unit_price * line.quantity for line in o.lines)
            assert o.total == o.subtotal + o.shipping_cost
            assert o.email == o.customer.email
            assert o.shipping_address and "\n" not in o.shipping_address
            assert o.placed_at <= NOW


def test_order_details(shop):
    with session_scope(shop) as s:
        o1 = _order(s, "SH-100001")
        assert o1.placed_at == NOW - timedelta(hours=1)
        assert [p.status for p in o1.payments] == ["authorised"]
        assert o1.invoice is None and not o1.shipments

        o2 = _order(s, "SH-100002")
        assert o2.placed_at == NOW - DAY
        assert [p.status for p in o2.payments] == ["captured"]
        assert o2.invoice.number == "INV-100002" and o2.invoice.amount == o2.total

        o3 = _order(s, "SH-100003")
        assert o3.placed_at == NOW - 3 * DAY
        (ship,) = o3.shipments
        assert (ship.carrier, ship.tracking_number, ship.status) == (
            "DPD", "DPD123456789GB", "in_transit")
        assert ship.eta == (NOW + 2 * DAY).date() and ship.delivered_at is None
        assert o3.invoice is not None

        o4 = _order(s, "SH-100004")
        assert o4.placed_at == NOW - 12 * DAY
        assert o4.shipments[0].delivered_at == NOW - 9 * DAY and o4.invoice is not None

        o5 = _order(s, "SH-100005")
        assert o5.placed_at == NOW - 70 * DAY
        assert o5.shipments[0].delivered_at == NOW - 66 * DAY and o5.invoice is not None

        o6 = _order(s, "SH-100006")
        assert o6.placed_at == NOW - 5 * DAY and o6.cancelled_at == NOW - 4 * DAY
        assert [p.status for p in o6.payments] == ["refunded"] and not o6.shipments

        o7 = _order(s, "SH-100007")
        assert o7.shipments[0].delivered_at == NOW - 20 * DAY
        (ret,) = o7.returns
        assert ret.status == "received" and ret.updated_at == NOW - 10 * DAY
        (refund,) = o7.refunds
        assert (refund.status, refund.amount, refund.return_id) == ("processing", o7.total, ret.id)
        assert refund.created_at == NOW - 8 * DAY

        b1 = _order(s, "SH-200001")
        assert b1.shipments[0].delivered_at == NOW - 5 * DAY
        assert b1.invoice.number == "INV-200001"


def test_row_counts(shop):
    with session_scope(shop) as s:
        counts = {m.__tablename__: s.execute(select(func.count()).select_from(m)).scalar()
                  for m in (Order, Payment, Invoice, Shipment, Return, Refund)}
    assert counts == {"orders": 8, "payments": 8, "invoices": 6, "shipments": 5,
                      "returns": 1, "refunds": 1}


def test_fixture_is_relative_to_now():
    later = NOW + 100 * DAY
    a, b = fixture_rows(NOW), fixture_rows(later)
    for x, y in zip(a["orders"], b["orders"]):
        assert y["placed_at"] - x["placed_at"] == 100 * DAY
