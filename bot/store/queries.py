"""Query functions over the shop database. Each takes the session first.

They return ORM objects to the caller inside the same session (the support services turn them
into plain data before the session closes) and raise :mod:`bot.store.errors` instead of
returning ``None``.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Sequence

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from bot.store.errors import OrderNotFound
from bot.store.models import (
    AccountRequest,
    Customer,
    DeliveryOption,
    Escalation,
    Feedback,
    NewsletterSubscription,
    Order,
    Refund,
    Return,
)

OPEN_ESCALATION_STATUSES = ("open", "claimed")


def get_order(session: Session, number: str, *, for_update: bool = False) -> Order:
    """The order with this number (``SH-123456``), or :class:`OrderNotFound`.

    Only the order row is read: its lines, shipments, payments... load when the caller first
    touches them inside the same session, so a chat turn reads just what its answer needs and a
    wrong guess costs one query (this is on every order turn's path).
    """
    stmt = select(Order).where(Order.number == number)
    if for_update:
        stmt = stmt.with_for_update()
    order = session.execute(stmt).scalars().first()
    if order is None:
        raise OrderNotFound(number)
    return order


def get_owned_order(
    session: Session,
    number: str,
    *,
    customer_id: int | None = None,
    email: str | None = None,
    for_update: bool = False,
) -> Order:
    """The order if it belongs to ``customer_id`` or its contact email equals ``email``.

    Unknown numbers, other people's orders and wrong emails all raise :class:`OrderNotFound`.
    """
    if customer_id is None and not email:
        raise OrderNotFound(number)
    order = get_order(session, number, for_update=for_update)
    if customer_id is not None:
        if order.customer_id != customer_id:
            raise OrderNotFound(number)
    elif order.email.strip().lower() != email.strip().lower():
        raise OrderNotFound(number)
    return order


def update_order_if(
    session: Session,
    order: Order,
    *,
    statuses: Sequence[str],
    values: dict,
    no_refund_in: Sequence[str] = (),
    no_return_in: Sequence[str] = (),
) -> bool:
    """Set ``values`` on ``order`` only if it is still in one of ``statuses`` (and, when given,
    has no refund / return in those statuses); True when this call changed it.

    One conditional ``UPDATE ... WHERE id = :id AND status IN (...)``: of several requests that
    all read the order as open, only the first to write gets a row count of 1, whatever the
    isolation level. The in-session ``order`` is refreshed with what was written.
    """
    stmt = (update(Order).where(Order.id == order.id, Order.status.in_(tuple(statuses)))
            .values(**values).execution_options(synchronize_session=False))
    if no_refund_in:
        stmt = stmt.where(~exists().where(Refund.order_id == Order.id,
                                          Refund.status.in_(tuple(no_refund_in))))
    if no_return_in:
        stmt = stmt.where(~exists().where(Return.order_id == Order.id,
                                          Return.status.in_(tuple(no_return_in))))
    changed = session.execute(stmt).rowcount == 1
    session.expire(order)
    return changed


def recent_orders(session: Session, customer_id: int, limit: int = 5) -> Sequence[Order]:
    stmt = (
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(limit)
    )
    return session.execute(stmt).scalars().all()


def get_customer(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)


def delivery_options(session: Session) -> Sequence[DeliveryOption]:
    stmt = select(DeliveryOption).order_by(DeliveryOption.price, DeliveryOption.min_days)
    return session.execute(stmt).scalars().all()


def open_escalation(session: Session, conversation_id: str) -> Escalation | None:
    stmt = (
        select(Escalation)
        .where(Escalation.conversation_id == conversation_id)
        .where(Escalation.status.in_(OPEN_ESCALATION_STATUSES))
        .order_by(Escalation.id.desc())
    )
    return session.execute(stmt).scalars().first()


def add_escalation(
    session: Session,
    *,
    conversation_id: str,
    customer_id: int | None,
    reason: str,
    summary: str,
    now: datetime,
) -> Escalation:
    row = Escalation(
        conversation_id=conversation_id, customer_id=customer_id, reason=reason, status="open",
        summary=summary, created_at=now, updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def add_feedback(
    session: Session,
    *,
    conversation_id: str,
    customer_id: int | None,
    kind: str,
    text: str,
    rating: int | None,
    now: datetime,
) -> Feedback:
    row = Feedback(
        conversation_id=conversation_id, customer_id=customer_id, kind=kind, text=text,
        rating=rating, created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_subscription(session: Session, email: str) -> NewsletterSubscription | None:
    stmt = select(NewsletterSubscription).where(
        func.lower(NewsletterSubscription.email) == email.lower()
    )
    return session.execute(stmt).scalars().first()


def open_account_request(session: Session, customer_id: int, kind: str) -> AccountRequest | None:
    stmt = (
        select(AccountRequest)
        .where(AccountRequest.customer_id == customer_id)
        .where(AccountRequest.kind == kind)
        .where(AccountRequest.status == "open")
    )
    return session.execute(stmt).scalars().first()


def add_return(session: Session, order: Order, *, reason: str, now: datetime) -> Return:
    row = Return(order_id=order.id, status="requested", reason=reason, created_at=now,
                 updated_at=now)
    session.add(row)
    session.flush()
    return row


def add_refund(
    session: Session, order: Order, *, amount: Decimal, now: datetime, return_id: int | None = None
) -> Refund:
    row = Refund(order_id=order.id, return_id=return_id, amount=amount, status="pending",
                 created_at=now)
    session.add(row)
    session.flush()
    return row
