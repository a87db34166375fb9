from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.store.errors import InvalidInput, NotAllowed, OrderNotFound
from bot.store.models import Order, Refund, Return
from bot.store.db import session_scope
from bot.support import orders
from bot.support.access import Requester

ALICE = Requester(customer_id=1)
BEN = Requester(customer_id=2)
ALICE_BY_EMAIL = Requester(email="alice@example.com")


def test_owner_sees_order_with_shipment(services):
    view = orders.order_status(services, "SH-100003", ALICE)
    assert (view.status, view.shipment.carrier, view.shipment.tracking_number) == (
        "shipped", "DPD", "DPD123456789GB")
    assert view.shipment.eta == date(2026, 6, 17)
    assert view.items == ("1 x Copperfield Cast Iron Casserole Dish",)
    assert orders.order_status(services, "SH-100003", ALICE_BY_EMAIL).number == "SH-100003"
    assert orders.order_status(services, "SH-100003", Requester(email="ALICE@example.com ")).number


@pytest.mark.parametrize("number,requester", [
    ("SH-999999", ALICE),                           # unknown
    ("SH-200001", ALICE),                           # someone else's
    ("SH-100003", Requester(email="ben@example.com")),  # wrong email
    ("SH-999999", ALICE_BY_EMAIL),
    ("SH-100003", Requester()),                     # no proof at all
])
def test_unknown_other_and_wrong_email_are_indistinguishable(services, number, requester):
    with pytest.raises(OrderNotFound):
        orders.order_status(services, number, requester)


def test_recent_orders_newest_first(services):
    recent = orders.recent_orders(services, 1, limit=3)
    assert [o.number for o in recent] == ["SH-100001", "SH-100002", "SH-100003"]
    assert orders.recent_orders(services, 2)[0].number == "SH-200001"


def test_cancel_paid_order_refunds_and_writes(services):
    quote = orders.check_cancellable(services, "SH-100002", ALICE)
    assert (quote.fee, quote.refund_amount) == (Decimal("0.00"), Decimal("89.99"))
    orders.cancel_order(services, "SH-100002", ALICE)
    with session_scope(services.engine) as s:
        order = s.execute(select(Order).where(Order.number == "SH-100002")).scalar_one()
        assert order.status == "cancelled" and order.cancelled_at is not None
        refund = s.execute(select(Refund).where(Refund.order_id == order.id)).scalar_one()
        assert (refund.amount, refund.status) == (Decimal("89.99"), "pending")


def test_cancel_placed_order_without_capture_refunds_nothing(services):
    result = orders.cancel_order(services, "SH-100001", ALICE)
    assert result.refund_amount == 0


@pytest.mark.parametrize("number,reason", [("SH-100003", "already_shipped"),
                                           ("SH-100004", "already_shipped"),
                                           ("SH-100006", "already_cancelled"),
                                           ("SH-100007", "already_returned")])
def test_cannot_cancel_after_shipping(services, number, reason):
    with pytest.raises(NotAllowed) as err:
        orders.cancel_order(services, number, ALICE)
    assert err.value.reason == reason
    assert orders.order_status(services, number, ALICE).status != "cancelled" or number == "SH-100006"


def test_change_address(services):
    view = orders.change_address(services, "SH-100002", ALICE_BY_EMAIL, "  5 Mill Lane,\nYork YO1 7HH ")
    assert view.shipping_address == "5 Mill Lane, York YO1 7HH"
    with pytest.raises(InvalidInput):
        orders.change_address(services, "SH-100002", ALICE, "somewhere nice")
    with pytest.raises(NotAllowed):
        orders.change_address(services, "SH-100003", ALICE, "5 Mill Lane, York YO1 7HH")
    with pytest.raises(OrderNotFound):
        orders.change_address(services, "SH-200001", ALICE, "5 Mill Lane, York YO1 7HH")


def test_return_eligibility_and_creation(services):
    quote = orders.check_return(services, "SH-100004", ALICE)
    assert (quote.delivered_on, quote.last_day, quote.days_left) == (
        date(2026, 6, 6), date(2026, 7, 6), 21)
    result = orders.create_return(services, "SH-100004", ALICE)
    assert result.reference.startswith("RT-")
    with session_scope(services.engine) as s:
        assert s.execute(select(Return).where(Return.status == "requested")).scalars().all()
    with pytest.raises(NotAllowed) as err:
        orders.create_return(services, "SH-100004", ALICE)
    assert err.value.reason == "return_exists"


@pytest.mark.parametrize("number,reason", [("SH-100005", "return_window_expired"),
                                           ("SH-100003", "not_delivered"),
                                           ("SH-100002", "not_shipped"),
                                           ("SH-100007", "already_returned")])
def test_return_refusals(services, number, reason):
    with pytest.raises(NotAllowed) as err:
        orders.check_return(services, number, ALICE)
    assert err.value.reason == reason


def test_return_window_comes_from_settings(services):
    from dataclasses import replace

    from bot.services import Services

    settings = replace(services.settings, shop=replace(services.settings.shop,
                                                       return_window_days=7))
    week = Services(settings, engine=services.engine, clock=services.clock)
    with pytest.raises(NotAllowed) as err:
        orders.check_return(week, "SH-100004", ALICE)
    assert err.value.reason == "return_window_expired"


@pytest.mark.parametrize("number,reason", [("SH-100007", "refund_exists"),
                                           ("SH-100004", "return_first"),
                                           ("SH-100005", "return_window_expired"),
                                           ("SH-100002", "cancel_first"),
                                           ("SH-100003", "not_delivered"),
                                           ("SH-100006", "payment_refunded")])
def test_refund_refusals(services, number, reason):
    with pytest.raises(NotAllowed) as err:
        orders.request_refund(services, number, ALICE)
    assert err.value.reason == reason


def test_refund_after_cancellation(services):
    orders.cancel_order(services, "SH-100002", ALICE)  # queues a refund itself
    with pytest.raises(NotAllowed) as err:
        orders.request_refund(services, "SH-100002", ALICE)
    assert err.value.reason == "refund_exists"


def test_refund_status_and_invoice(services):
    refund = orders.refund_status(services, "SH-100007", ALICE)
    assert (refund.status, refund.reference) == ("processing", "RF-000001")
    with pytest.raises(NotAllowed):
        orders.refund_status(services, "SH-100004", ALICE)
    inv = orders.get_invoice(services, "SH-100002", ALICE_BY_EMAIL)
    assert inv.invoice_number == "INV-100002" and inv.amount == Decimal("89.99")
    with pytest.raises(NotAllowed) as err:
        orders.get_invoice(services, "SH-100001", ALICE)
    assert err.value.reason == "no_invoice"
    with pytest.raises(OrderNotFound):
        orders.get_invoice(services, "SH-200001", ALICE)
