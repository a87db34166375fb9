"""Order services: status, cancellation, changes, returns, refunds and invoices.

Every function re-checks that the requester may see the order (signed-in owner, or order number
plus the order's email) in its own short session; writing functions re-check eligibility too, so a
confirmation given later cannot act on a stale answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.services import Services
from bot.store import queries
from bot.store.errors import InvalidInput, NotAllowed
from bot.store.models import Order
from bot.support.access import Requester
from bot.support.text import clean_text

CHANGEABLE_STATUSES = ("placed", "paid")
OPEN_RETURN_STATUSES = ("requested", "received")
LIVE_REFUND_STATUSES = ("pending", "processing", "completed")
MIN_ADDRESS_LENGTH = 8
MAX_ADDRESS_LENGTH = 300


@dataclass(frozen=True)
class ShipmentView:
    carrier: str
    tracking_number: str
    status: str
    eta: date | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class OrderView:
    number: str
    status: str
    placed_at: datetime
    total: Decimal
    currency: str
    items: tuple[str, ...]
    delivery_option: str
    shipping_address: str
    shipment: ShipmentView | None
    delivered_at: datetime | None

    @property
    def changeable(self) -> bool:
        return self.status in CHANGEABLE_STATUSES


@dataclass(frozen=True)
class OrderBrief:
    number: str
    status: str
    placed_at: datetime
    total: Decimal
    currency: str


@dataclass(frozen=True)
class CancelResult:
    number: str
    fee: Decimal
    refund_amount: Decimal
    currency: str


@dataclass(frozen=True)
class ReturnQuote:
    number: str
    delivered_on: date
    last_day: date
    days_left: int


@dataclass(frozen=True)
class ReturnResult:
    number: str
    reference: str
    last_day: date


@dataclass(frozen=True)
class RefundQuote:
    number: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class RefundView:
    number: str
    reference: str
    amount: Decimal
    currency: str
    status: str
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class InvoiceView:
    order_number: str
    invoice_number: str
    issued_at: datetime
    amount: Decimal
    currency: str


# --- helpers (inside a session) -------------------------------------------------------------

def _owned(session, number: str, requester: Requester, for_update: bool = False) -> Order:
    return queries.get_owned_order(
        session, number, customer_id=requester.customer_id,
        email=None if requester.verified else requester.email, for_update=for_update,
    )


def _latest_shipment(order: Order):
    return order.shipments[-1] if order.shipments else None


def _delivered_at(order: Order) -> datetime | None:
    times = [s.delivered_at for s in order.shipments if s.delivered_at is not None]
    if times:
        return max(times)
    return order.updated_at if order.status == "delivered" else None


def _view(order: Order) -> OrderView:
    shipment = _latest_shipment(order)
    return OrderView(
        number=order.number,
        status=order.status,
        placed_at=order.placed_at,
        total=order.total,
        currency=order.currency,
        items=tuple(f"{line.quantity} x {line.product.name}" for line in order.lines),
        delivery_option=order.delivery_option.name if order.delivery_option else "",
        shipping_address=order.shipping_address,
        shipment=None if shipment is None else ShipmentView(
            carrier=shipment.carrier, tracking_number=shipment.tracking_number,
            status=shipment.status, eta=shipment.eta, delivered_at=shipment.delivered_at,
        ),
        delivered_at=_delivered_at(order),
    )


def _captured(order: Order) -> Decimal:
    return sum((p.amount for p in order.payments if p.status == "captured"), Decimal("0"))


def _refuse_if_not_changeable(order: Order) -> None:
    if order.status in CHANGEABLE_STATUSES:
        return
    if order.status in ("shipped", "delivered"):
        raise NotAllowed("already_shipped", status=order.status)
    raise NotAllowed(f"already_{order.status}", status=order.status)


def _return_quote(order: Order, today: date, window_days: int) -> ReturnQuote:
    if order.status in CHANGEABLE_STATUSES:
        raise NotAllowed("not_shipped", status=order.status)
    if order.status == "shipped":
        raise NotAllowed("not_delivered", status=order.status)
    if order.status != "delivered":
        raise NotAllowed(f"already_{order.status}", status=order.status)
    if any(r.status in OPEN_RETURN_STATUSES for r in order.returns):
        raise NotAllowed("return_exists", status=order.status)
    delivered = _delivered_at(order)
    delivered_on = (delivered or order.updated_at).date()
    last_day = delivered_on + timedelta(days=window_days)
    if today > last_day:
        raise NotAllowed("return_window_expired", delivered_on=delivered_on, last_day=last_day,
                         window_days=window_days)
    return ReturnQuote(order.number, delivered_on, last_day, (last_day - today).days)


def _refund_quote(order: Order, today: date, window_days: int) -> RefundQuote:
    live = [r for r in order.refunds if r.status in LIVE_REFUND_STATUSES]
    if live:
        raise NotAllowed("refund_exists", status=live[-1].status, amount=live[-1].amount,
                         currency=order.currency)
    if order.status in CHANGEABLE_STATUSES:
        raise NotAllowed("cancel_first", status=order.status)
    if order.status == "shipped":
        raise NotAllowed("not_delivered", status=order.status)
    if order.status == "delivered":
        try:
            _return_quote(order, today, window_days)
        except NotAllowed as err:
            if err.reason == "return_window_expired":
                raise
            raise NotAllowed("return_in_progress", status=order.status) from err
        raise NotAllowed("return_first", status=order.status)
    if any(p.status == "refunded" for p in order.payments):
        raise NotAllowed("payment_refunded", status=order.status)
    amount = _captured(order) - (order.cancellation_fee or Decimal("0"))
    if amount <= 0:
        raise NotAllowed("nothing_paid", status=order.status)
    return RefundQuote(order.number, amount, order.currency)


# --- services -------------------------------------------------------------------------------

def order_status(services: Services, number: str, requester: Requester) -> OrderView:
    """The order as its owner may see it (raises OrderNotFound for anyone else)."""
    with services.unit_of_work() as session:
        return _view(_owned(session, number, requester))


def recent_orders(services: Services, customer_id: int, limit: int = 5) -> list[OrderBrief]:
    with services.unit_of_work() as session:
        return [
            OrderBrief(o.number, o.status, o.placed_at, o.total, o.currency)
            for o in queries.recent_orders(session, customer_id, limit)
        ]


def check_cancellable(services: Services, number: str, requester: Requester) -> CancelResult:
    """What cancelling would cost and refund (raises NotAllowed once shipped)."""
    with services.unit_of_work() as session:
        order = _owned(session, number, requester)
        _refuse_if_not_changeable(order)
        fee = order.cancellation_fee or Decimal("0")
        return CancelResult(order.number, fee, max(_captured(order) - fee, Decimal("0")),
                            order.currency)


def cancel_order(services: Services, number: str, requester: Requester) -> CancelResult:
    """Cancel the order; a refund of what was captured (less any fee) is queued."""
    now = services.now()
    with services.unit_of_work() as session:
        order = _owned(session, number, requester, for_update=True)
        _refuse_if_not_changeable(order)
        fee = order.cancellation_fee or Decimal("0")
        refund_amount = max(_captured(order) - fee, Decimal("0"))
        order.status = "cancelled"
        order.cancelled_at = now
        order.updated_at = now
        if refund_amount > 0:
            queries.add_refund(session, order, amount=refund_amount, now=now)
        return CancelResult(order.number, fee, refund_amount, order.currency)


def check_changeable(services: Services, number: str, requester: Requester) -> OrderView:
    """The order if it can still be changed (raises NotAllowed once shipped)."""
    with services.unit_of_work() as session:
        order = _owned(session, number, requester)
        _refuse_if_not_changeable(order)
        return _view(order)


def validate_address(text: object) -> str:
    """A one-line address from the shopper's text, or InvalidInput."""
    address = clean_text(text, limit=MAX_ADDRESS_LENGTH + 1)
    if len(address) < MIN_ADDRESS_LENGTH or len(address) > MAX_ADDRESS_LENGTH:
        raise InvalidInput("new_address")
    if not any(ch.isdigit() for ch in address) or not any(ch.isalpha() for ch in address):
        # UK addresses have a house number or a postcode; "somewhere nice" is not an address.
        raise InvalidInput("new_address")
    return address


def change_address(services: Services, number: str, requester: Requester,
                   new_address: str) -> OrderView:
    address = validate_address(new_address)
    now = services.now()
    with services.unit_of_work() as session:
        order = _owned(session, number, requester, for_update=True)
        _refuse_if_not_changeable(order)
        order.shipping_address = address
        order.updated_at = now
        return _view(order)


def check_return(services: Services, number: str, requester: Requester) -> ReturnQuote:
    settings = services.settings
    with services.unit_of_work() as session:
        order = _owned(session, number, requester)
        return _return_quote(order, services.now().date(), settings.shop.return_window_days)


def create_return(services: Services, number: str, requester: Requester,
                  reason: str = "") -> ReturnResult:
    settings = services.settings
    now = services.now()
    with services.unit_of_work() as session:
        order = _owned(session, number, requester, for_update=True)
        quote = _return_quote(order, now.date(), settings.shop.return_window_days)
        row = queries.add_return(session, order, reason=clean_text(reason, 500), now=now)
        return ReturnResult(order.number, f"RT-{row.id:06d}", quote.last_day)


def check_refund(services: Services, number: str, requester: Requester) -> RefundQuote:
    settings = services.settings
    with services.unit_of_work() as session:
        order = _owned(session, number, requester)
        return _refund_quote(order, services.now().date(), settings.shop.return_window_days)


def request_refund(services: Services, number: str, requester: Requester) -> RefundView:
    settings = services.settings
    now = services.now()
    with services.unit_of_work() as session:
        order = _owned(session, number, requester, for_update=True)
        quote = _refund_quote(order, now.date(), settings.shop.return_window_days)
        received = [r for r in order.returns if r.status == "received"]
        row = queries.add_refund(session, order, amount=quote.amount, now=now,
                                 return_id=received[-1].id if received else None)
        return RefundView(order.number, f"RF-{row.id:06d}", row.amount, order.currency,
                          row.status, row.created_at, None)


def refund_status(services: Services, number: str, requester: Requester) -> RefundView:
    """The latest refund on the order (NotAllowed("no_refund") when there is none)."""
    with services.unit_of_work() as session:
        order = _owned(session, number, requester)
        if not order.refunds:
            if any(p.status == "refunded" for p in order.payments):
                raise NotAllowed("payment_refunded", status=order.status)
            raise NotAllowed("no_refund", status=order.status)
        refund = order.refunds[-1]
        return RefundView(order.number, f"RF-{refund.id:06d}", refund.amount, order.currency,
                          refund.status, refund.created_at, refund.completed_at)


def get_invoice(services: Services, number: str, requester: Requester) -> InvoiceView:
    """The order's invoice (NotAllowed("no_invoice") before payment is taken)."""
    with services.unit_of_work() as session:
        order = _owned(session, number, requester)
        if order.invoice is None:
            raise NotAllowed("no_invoice", status=order.status)
        inv = order.invoice
        return InvoiceView(order.number, inv.number, inv.issued_at, inv.amount, inv.currency)
