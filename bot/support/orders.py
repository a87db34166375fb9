"""Order services: status, cancellation, changes, returns, refunds and invoices.

Every function re-checks that the requester may see the order (signed-in owner, or order number
plus the order's email) in its own short session; writing functions re-check eligibility too, so a
confirmation given later cannot act on a stale answer.

Guessing is limited: an anonymous proof (number + email) that fails counts against the order
number and against the email (``Settings.ownership_attempts`` per
``ownership_window_seconds``). Once either is used up, the order answers exactly as an unknown
order does (:class:`OrderNotFound`), even to the right email, until the window passes; the lock
is written once to the staff-visible audit log. Signed-in owners are never limited.

Money operations (cancel, refund, return, address) run as write units of work and change the
order with a conditional update, so of many concurrent requests exactly one acts; the others get
the answer the order's new state gives ("already cancelled", "refund exists").
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Iterator

from bot import audit
from bot.limits import Rule, hashed
from bot.services import Services
from bot.store import queries
from bot.store.breaker import OPEN, CircuitOpen
from bot.store.errors import InvalidInput, NotAllowed, OrderNotFound, StoreUnavailable
from bot.store.models import Order
from bot.support.access import Requester
from bot.support.text import ASCII_DIGITS, clean_text

log = logging.getLogger(__name__)

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


# --- limits on ownership proofs --------------------------------------------------------------

def ownership_rules(services: Services) -> tuple[Rule, Rule]:
    """Failed proofs allowed per order number and per email (from the settings)."""
    settings = services.settings
    return (Rule("ownership_order", settings.ownership_attempts,
                 settings.ownership_window_seconds),
            Rule("ownership_email", settings.ownership_attempts,
                 settings.ownership_window_seconds))


def _proof_keys(services: Services, number: str, requester: Requester) -> list[tuple[Rule, str]]:
    """The limit keys an anonymous proof counts against (none for a signed-in owner, or for a
    request that offers no proof at all)."""
    if requester.verified or not requester.email:
        return []
    by_order, by_email = ownership_rules(services)
    return [(by_order, number.strip().upper()), (by_email, requester.email.strip().lower())]


def _limits_call(services: Services, call, *args):
    """A limit-store call; a failure fails the request (closed: no unlimited guessing while
    the counters are unreachable)."""
    if services.breaker.state == OPEN:
        raise CircuitOpen("shop database unavailable (circuit open)")
    try:
        return call(*args)
    except Exception as err:  # noqa: BLE001 - database or Redis errors alike
        log.warning("ownership limits unavailable (%s)", err.__class__.__name__)
        raise StoreUnavailable("limits") from err


def _lock_audit(services: Services, rule: Rule, key: str, number: str) -> None:
    """One staff-visible record when a key has just become locked."""
    subject = number if rule.name == "ownership_order" else f"email:{hashed(rule, key)[:16]}"
    try:
        with services.unit_of_work() as session:
            audit.record(session, now=services.now(), actor="bot", action="ownership_locked",
                         subject=subject,
                         detail={"by": rule.name.removeprefix("ownership_"),
                                 "failed_proofs": rule.limit,
                                 "window_seconds": rule.window_seconds})
    except StoreUnavailable:
        log.warning("ownership lock on %s not audited (database unavailable)", rule.name)


@contextmanager
def _proof(services: Services, number: str, requester: Requester) -> Iterator[None]:
    """Around one request's unit of work: refuse a locked order or email as unknown; count a
    failed proof (after the unit of work has ended: counters are their own transaction)."""
    keys = _proof_keys(services, number, requester)
    for rule, key in keys:
        if _limits_call(services, services.limits.exceeded, rule, key):
            raise OrderNotFound(number)
    try:
        yield
    except OrderNotFound:
        for rule, key in keys:
            _limits_call(services, services.limits.hit, rule, key)
            if _limits_call(services, services.limits.exceeded, rule, key):
                # Not locked before this request (checked above), locked now: this failure
                # locked it. (Two failures at the same instant may both see it: two records.)
                log.warning("ownership proofs locked by %s for a while", rule.name)
                _lock_audit(services, rule, key, number)
        raise


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
    with _proof(services, number, requester), services.unit_of_work() as session:
        return _view(_owned(session, number, requester))


def recent_orders(services: Services, customer_id: int, limit: int = 5) -> list[OrderBrief]:
    with services.unit_of_work() as session:
        return [
            OrderBrief(o.number, o.status, o.placed_at, o.total, o.currency)
            for o in queries.recent_orders(session, customer_id, limit)
        ]


def check_cancellable(services: Services, number: str, requester: Requester) -> CancelResult:
    """What cancelling would cost and refund (raises NotAllowed once shipped)."""
    with _proof(services, number, requester), services.unit_of_work() as session:
        order = _owned(session, number, requester)
        _refuse_if_not_changeable(order)
        fee = order.cancellation_fee or Decimal("0")
        return CancelResult(order.number, fee, max(_captured(order) - fee, Decimal("0")),
                            order.currency)


def _lost_race(session, order: Order, check) -> NotAllowed:
    """The conditional update found the order changed since it was read: the refusal its
    state now gives (``check`` raises it), else a generic one."""
    session.refresh(order)
    try:
        check(order)
    except NotAllowed as err:
        return err
    return NotAllowed("changed_meanwhile", status=order.status)


def cancel_order(services: Services, number: str, requester: Requester) -> CancelResult:
    """Cancel the order; a refund of what was captured (less any fee) is queued."""
    now = services.now()
    with _proof(services, number, requester), services.unit_of_work(write=True) as session:
        order = _owned(session, number, requester, for_update=True)
        _refuse_if_not_changeable(order)
        fee = order.cancellation_fee or Decimal("0")
        refund_amount = max(_captured(order) - fee, Decimal("0"))
        if not queries.update_order_if(
                session, order, statuses=CHANGEABLE_STATUSES,
                values={"status": "cancelled", "cancelled_at": now, "updated_at": now}):
            raise _lost_race(session, order, _refuse_if_not_changeable)
        if refund_amount > 0:
            queries.add_refund(session, order, amount=refund_amount, now=now)
        return CancelResult(order.number, fee, refund_amount, order.currency)


def check_changeable(services: Services, number: str, requester: Requester) -> OrderView:
    """The order if it can still be changed (raises NotAllowed once shipped)."""
    with _proof(services, number, requester), services.unit_of_work() as session:
        order = _owned(session, number, requester)
        _refuse_if_not_changeable(order)
        return _view(order)


def validate_address(text: object) -> str:
    """A one-line address from the shopper's text, or InvalidInput."""
    address = clean_text(text, limit=MAX_ADDRESS_LENGTH + 1)
    if len(address) < MIN_ADDRESS_LENGTH or len(address) > MAX_ADDRESS_LENGTH:
        raise InvalidInput("new_address")
    if not any(ch in ASCII_DIGITS for ch in address) or not any(ch.isalpha() for ch in address):
        # UK addresses have a house number or a postcode; "somewhere nice" is not an address.
        raise InvalidInput("new_address")
    return address


def change_address(services: Services, number: str, requester: Requester,
                   new_address: str) -> OrderView:
    address = validate_address(new_address)
    now = services.now()
    with _proof(services, number, requester), services.unit_of_work(write=True) as session:
        order = _owned(session, number, requester, for_update=True)
        _refuse_if_not_changeable(order)
        if not queries.update_order_if(session, order, statuses=CHANGEABLE_STATUSES,
                                       values={"shipping_address": address, "updated_at": now}):
            raise _lost_race(session, order, _refuse_if_not_changeable)
        return _view(order)


def check_return(services: Services, number: str, requester: Requester) -> ReturnQuote:
    settings = services.settings
    with _proof(services, number, requester), services.unit_of_work() as session:
        order = _owned(session, number, requester)
        return _return_quote(order, services.now().date(), settings.shop.return_window_days)


def create_return(services: Services, number: str, requester: Requester,
                  reason: str = "") -> ReturnResult:
    settings = services.settings
    now = services.now()
    window = settings.shop.return_window_days
    with _proof(services, number, requester), services.unit_of_work(write=True) as session:
        order = _owned(session, number, requester, for_update=True)
        quote = _return_quote(order, now.date(), window)
        # Claim the order: still delivered and still without an open return.
        if not queries.update_order_if(session, order, statuses=("delivered",),
                                       values={"updated_at": now},
                                       no_return_in=OPEN_RETURN_STATUSES):
            raise _lost_race(session, order, lambda o: _return_quote(o, now.date(), window))
        row = queries.add_return(session, order, reason=clean_text(reason, 500), now=now)
        return ReturnResult(order.number, f"RT-{row.id:06d}", quote.last_day)


def check_refund(services: Services, number: str, requester: Requester) -> RefundQuote:
    settings = services.settings
    with _proof(services, number, requester), services.unit_of_work() as session:
        order = _owned(session, number, requester)
        return _refund_quote(order, services.now().date(), settings.shop.return_window_days)


def request_refund(services: Services, number: str, requester: Requester) -> RefundView:
    settings = services.settings
    now = services.now()
    window = settings.shop.return_window_days
    with _proof(services, number, requester), services.unit_of_work(write=True) as session:
        order = _owned(session, number, requester, for_update=True)
        quote = _refund_quote(order, now.date(), window)
        # Claim the order: same status as read, and still no live refund.
        if not queries.update_order_if(session, order, statuses=(order.status,),
                                       values={"updated_at": now},
                                       no_refund_in=LIVE_REFUND_STATUSES):
            raise _lost_race(session, order, lambda o: _refund_quote(o, now.date(), window))
        received = [r for r in order.returns if r.status == "received"]
        row = queries.add_refund(session, order, amount=quote.amount, now=now,
                                 return_id=received[-1].id if received else None)
        return RefundView(order.number, f"RF-{row.id:06d}", row.amount, order.currency,
                          row.status, row.created_at, None)


def refund_status(services: Services, number: str, requester: Requester) -> RefundView:
    """The latest refund on the order (NotAllowed("no_refund") when there is none)."""
    with _proof(services, number, requester), services.unit_of_work() as session:
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
    with _proof(services, number, requester), services.unit_of_work() as session:
        order = _owned(session, number, requester)
        if order.invoice is None:
            raise NotAllowed("no_invoice", status=order.status)
        inv = order.invoice
        return InvoiceView(order.number, inv.number, inv.issued_at, inv.amount, inv.currency)
