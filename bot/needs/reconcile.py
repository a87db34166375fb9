"""Mark logged needs whose shopper later bought what they asked for as ``purchased_later``.

A need qualifies when it has a ``customer_id``, its status is ``matched`` or ``unmet``, and that
customer bought, after the need's ``created_at`` and no later than ``now``, one of the need's
matched products or any product in the need's catalogue category. A purchase is a ``purchase``
event or a line of an order whose status is paid, shipped or delivered. Idempotent: a need
already ``purchased_later`` is never looked at again.
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from bot.store.models import Category, Event, Need, Order, OrderLine, Product

PURCHASED_LATER = "purchased_later"  # as in bot.store.models.NEED_STATUSES
OPEN_STATUSES = ("matched", "unmet")
PURCHASED_ORDER_STATUSES = ("paid", "shipped", "delivered")


def _product_ids(raw: str | None) -> list[int]:
    try:
        ids = json.loads(raw or "[]")
    except (TypeError, ValueError):
        return []
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


def _bought(session: Session, customer_id: int, after: datetime, until: datetime,
            product_ids: list[int], category: str | None) -> bool:
    products = []
    if product_ids:
        products.append(Product.id.in_(product_ids))
    if category:
        products.append(Product.category_id.in_(
            select(Category.id).where(Category.slug == category)))
    if not products:
        return False
    wanted = select(Product.id).where(or_(*products))
    event = exists().where(Event.customer_id == customer_id, Event.event_type == "purchase",
                           Event.product_id.in_(wanted), Event.occurred_at > after,
                           Event.occurred_at <= until)
    line = exists().where(OrderLine.order_id == Order.id, Order.customer_id == customer_id,
                          Order.status.in_(PURCHASED_ORDER_STATUSES),
                          OrderLine.product_id.in_(wanted), Order.placed_at > after,
                          Order.placed_at <= until)
    return bool(session.execute(select(or_(event, line))).scalar())


def mark_purchased_later(session: Session, now: datetime) -> int:
    """Set qualifying needs to ``purchased_later`` (``updated_at = now``); returns how many.

    The caller owns the transaction (e.g. :func:`bot.store.db.session_scope`)."""
    needs = session.execute(select(Need).where(
        Need.customer_id.isnot(None), Need.status.in_(OPEN_STATUSES))).scalars().all()
    updated = 0
    for need in needs:
        if _bought(session, need.customer_id, need.created_at, now,
                   _product_ids(need.matched_product_ids), need.category):
            need.status = PURCHASED_LATER
            need.updated_at = now
            updated += 1
    session.flush()
    return updated
