"""A customer's data as one JSON document ("export my data", a subject access request).

Everything the shop holds about the customer: the customer record and saved addresses, orders
(lines, shipments, payments, invoice, returns, refunds), the text of their conversations with
the assistant (Rasa's tracker store), the product needs captured from them (with the purchase
propensity scored at the time), feedback, escalations, newsletter subscriptions and browsing
events. Each export leaves a ``data_exported`` audit record.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from bot import audit
from bot.privacy.erasure import CustomerNotFound, conversations_in_shop
from bot.privacy.trackerstore import TrackerStore
from bot.services import Services
from bot.store.models import (
    Address,
    Customer,
    Escalation,
    Event,
    Feedback,
    Need,
    NewsletterSubscription,
    Order,
)

FORMAT_VERSION = 1


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(obj, *columns: str) -> dict:
    return {c: _plain(getattr(obj, c)) for c in columns}


def _json_list(text: str | None) -> list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _orders(session, customer_id: int) -> list[dict]:
    orders = session.execute(
        select(Order).where(Order.customer_id == customer_id).order_by(Order.placed_at)
        .options(selectinload(Order.lines), selectinload(Order.shipments),
                 selectinload(Order.payments), selectinload(Order.invoice),
                 selectinload(Order.returns), selectinload(Order.refunds),
                 selectinload(Order.delivery_option))).scalars()
    out = []
    for o in orders:
        item = _row(o, "number", "status", "placed_at", "updated_at", "currency", "subtotal",
                    "shipping_cost", "total", "email", "shipping_address", "cancelled_at",
                    "cancellation_fee")
        item["delivery"] = o.delivery_option.name if o.delivery_option else None
        item["lines"] = [{"product": line.product.name if line.product else None,
                          "sku": line.product.sku if line.product else None,
                          "quantity": line.quantity, "unit_price": _plain(line.unit_price)}
                         for line in o.lines]
        item["shipments"] = [_row(s, "carrier", "tracking_number", "status", "shipped_at", "eta",
                                  "delivered_at") for s in o.shipments]
        item["payments"] = [_row(p, "method", "amount", "status", "card_last4", "created_at")
                            for p in o.payments]
        item["invoice"] = _row(o.invoice, "number", "issued_at", "amount", "currency") \
            if o.invoice else None
        item["returns"] = [_row(r, "status", "reason", "created_at", "updated_at")
                           for r in o.returns]
        item["refunds"] = [_row(r, "amount", "status", "created_at", "completed_at")
                           for r in o.refunds]
        out.append(item)
    return out


def export_customer(services: Services, customer_id: int, *, actor: str,
                    tracker: TrackerStore | None = None) -> dict:
    """The customer's data as a JSON-ready dict; records a ``data_exported`` audit record."""
    found = set()
    if tracker is not None:
        found = tracker.conversations_of_customer(customer_id, services.settings.identity_secret)
    now = services.now()
    with services.unit_of_work() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise CustomerNotFound(f"customer {customer_id}")
        conversations = sorted(found | conversations_in_shop(session, customer_id))
        data: dict = {
            "format": "shop-customer-export", "version": FORMAT_VERSION,
            "exported_at": now.isoformat(),
            "customer": _row(customer, "id", "email", "first_name", "last_name", "phone",
                             "created_at", "marketing_opt_in", "erased_at"),
            "addresses": [_row(a, "line1", "line2", "city", "postcode", "country", "is_default")
                          for a in session.execute(select(Address).where(
                              Address.customer_id == customer_id).order_by(Address.id)).scalars()],
            "orders": _orders(session, customer_id),
            "needs": [],
            "feedback": [_row(f, "conversation_id", "kind", "text", "rating", "created_at")
                         for f in session.execute(select(Feedback).where(
                             Feedback.customer_id == customer_id).order_by(Feedback.id)).scalars()],
            "escalations": [_row(e, "conversation_id", "reason", "status", "summary",
                                 "created_at", "updated_at")
                            for e in session.execute(select(Escalation).where(
                                Escalation.customer_id == customer_id)
                                .order_by(Escalation.id)).scalars()],
            "newsletter_subscriptions": [
                _row(s, "email", "status", "created_at", "confirmation_sent_at", "confirmed_at")
                for s in session.execute(select(NewsletterSubscription).where(or_(
                    NewsletterSubscription.customer_id == customer_id,
                    NewsletterSubscription.email == customer.email.lower()))
                    .order_by(NewsletterSubscription.id)).scalars()],
            "browsing_events": [_row(e, "event_type", "product_id", "occurred_at", "quantity",
                                     "amount")
                                for e in session.execute(select(Event).where(
                                    Event.customer_id == customer_id)
                                    .order_by(Event.occurred_at, Event.id)).scalars()],
        }
        order_numbers = dict(session.execute(select(Order.id, Order.number).where(
            Order.customer_id == customer_id)).all())
        for n in session.execute(select(Need).where(Need.customer_id == customer_id)
                                 .order_by(Need.created_at, Need.id)).scalars():
            need = _row(n, "conversation_id", "text", "product", "category", "brand",
                        "price_min", "price_max", "currency", "quantity", "recipient",
                        "occasion", "needed_by", "status", "created_at",
                        "propensity_probability", "propensity_band",
                        "back_in_stock_requested_at", "back_in_stock_notified_at",
                        "converted_at")
            for key in ("attributes", "colour", "size"):
                need[key] = _json_list(getattr(n, key))
            # The shopper's own order that fulfilled it, by the number they know it by.
            need["converted_order"] = order_numbers.get(n.converted_order_id)
            data["needs"].append(need)
        audit.record(session, now=now, actor=actor, action="data_exported",
                     subject=f"customer:{customer_id}",
                     detail={"conversations": len(conversations), "orders": len(data["orders"])})
    messages = tracker.messages(conversations) if tracker is not None else []
    data["conversations"] = [
        {"id": cid, "messages": [{"at": _timestamp(m.timestamp), "from": m.sender,
                                  "text": m.text} for m in messages if m.conversation_id == cid]}
        for cid in conversations]
    return data


def _timestamp(value: float | None) -> str | None:
    return datetime.utcfromtimestamp(value).isoformat() + "Z" if value is not None else None


def to_json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
