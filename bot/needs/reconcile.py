"""Mark logged needs that a later purchase fulfilled: ``converted_order_id`` and ``converted_at``.

The status stays what it was when the shopper asked (``bot.store.fit``): conversion is kept
apart from it, so a model trained on statuses never reads the future. A need converts when it
has a ``customer_id`` and that customer placed an order, after the need's ``created_at``, within
:data:`CONVERSION_DAYS` of it and no later than ``now``, that is paid, shipped or delivered
(not placed-and-unpaid, cancelled or returned) and holds a product that fits the need: one of
the products shown for it, or a product of its kind (:func:`bot.store.fit.is_kind`: its
category, its product type or head word, its brand; price, size and colour are not required,
shoppers settle). A need naming neither a product nor a category converts only through the
products shown. The earliest such order wins; ``converted_at`` is when it was placed.
Idempotent: a converted need is never looked at again.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.needs.vocab import load_vocab
from bot.store import fit
from bot.store.models import Category, Need, Order, OrderLine, Product

PURCHASED_ORDER_STATUSES = ("paid", "shipped", "delivered")
CONVERSION_DAYS = 30  # an order this long after the need still counts (the propensity horizon)
BATCH = 500


class _Bought(NamedTuple):
    order_id: int
    placed_at: datetime
    product: fit.Candidate


def _product_ids(raw: str | None) -> set[int]:
    try:
        ids = json.loads(raw or "[]")
    except (TypeError, ValueError):
        return set()
    return {i for i in ids if isinstance(i, int)} if isinstance(ids, list) else set()


def _purchases(session: Session, customer_ids: list[int], after: datetime, until: datetime
               ) -> dict[int, list[_Bought]]:
    """Customer id -> the products of their purchased orders in (after, until], oldest first."""
    bought: dict[int, list[_Bought]] = defaultdict(list)
    for start in range(0, len(customer_ids), BATCH):
        rows = session.execute(
            select(Order.customer_id, Order.id, Order.placed_at, Product.id, Category.slug,
                   Product.product_type, Product.name, Product.brand, Product.price,
                   Product.stock)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
            .join(Category, Category.id == Product.category_id)
            .where(Order.customer_id.in_(customer_ids[start:start + BATCH]),
                   Order.status.in_(PURCHASED_ORDER_STATUSES),
                   Order.placed_at > after, Order.placed_at <= until)
            .order_by(Order.placed_at, Order.id, OrderLine.id)).all()
        for cid, oid, placed, pid, slug, ptype, name, brand, price, stock in rows:
            bought[cid].append(_Bought(oid, placed, fit.Candidate.of(
                id=pid, category=slug, product_type=ptype, name=name, brand=brand, price=price,
                stock=stock)))
    return bought


def _fits(kind: fit.Kind | None, shown: set[int], product: fit.Candidate) -> bool:
    return product.id in shown or (kind is not None and fit.is_kind(product, kind))


def mark_converted(session: Session, now: datetime, *, since: datetime | None = None,
                   days: int = CONVERSION_DAYS) -> int:
    """Set ``converted_order_id``/``converted_at`` on the needs a later purchase fulfilled
    (module docstring); only needs created at or after ``since`` when given. Returns how many.
    The caller owns the transaction (e.g. :func:`bot.store.db.session_scope`)."""
    query = select(Need).where(Need.customer_id.isnot(None), Need.converted_at.is_(None),
                               Need.created_at < now)
    if since is not None:
        query = query.where(Need.created_at >= since)
    needs = session.execute(query).scalars().all()
    if not needs:
        return 0
    window = timedelta(days=days)
    bought = _purchases(session, sorted({n.customer_id for n in needs}),
                        min(n.created_at for n in needs), now)
    types = load_vocab().product_types
    converted = 0
    for need in needs:
        purchases = bought.get(need.customer_id)
        if not purchases:
            continue
        kind = (fit.kind_of({"product": need.product, "category": need.category,
                             "brand": need.brand}, types)
                if need.product or need.category else None)
        shown = _product_ids(need.matched_product_ids)
        until = min(now, need.created_at + window)
        order = next((b for b in purchases if need.created_at < b.placed_at <= until
                      and _fits(kind, shown, b.product)), None)
        if order is None:
            continue
        converted += session.execute(
            update(Need).where(Need.id == need.id, Need.converted_at.is_(None))
            .values(converted_order_id=order.order_id, converted_at=order.placed_at)
            .execution_options(synchronize_session=False)).rowcount or 0
    return converted
