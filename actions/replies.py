"""Wording of the dynamic replies (built from service results, never from raw user text)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from bot.support.orders import OrderView
from bot.support.shop_info import DeliveryOptionView, ProductView

_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
STATUS_WORDS = {
    "placed": "has been placed and is waiting for payment to clear",
    "paid": "is paid and being packed in our warehouse",
    "shipped": "is on its way",
    "delivered": "was delivered",
    "cancelled": "was cancelled",
    "returned": "was returned to us",
}
SHIPMENT_WORDS = {
    "label_created": "the carrier has the label but hasn't collected it yet",
    "in_transit": "in transit",
    "out_for_delivery": "out for delivery today",
    "delivered": "delivered",
    "exception": "held up by the carrier",
}
REFUND_WORDS = {
    "pending": "has been requested and is waiting to be processed",
    "processing": "is being processed",
    "completed": "has been paid back",
    "rejected": "was declined",
}


def money(amount: Decimal, currency: str = "GBP") -> str:
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


def day(value: date | datetime) -> str:
    return f"{value:%A} {value.day} {value:%B}"


def days(min_days: int, max_days: int) -> str:
    if min_days == max_days:
        return f"{min_days} working day" + ("s" if min_days != 1 else "")
    return f"{min_days}-{max_days} working days"


def order_status(view: OrderView) -> str:
    text = f"Order {view.number} {STATUS_WORDS.get(view.status, 'is ' + view.status)}"
    if view.status == "delivered" and view.delivered_at:
        text += f" on {day(view.delivered_at)}"
    text += "."
    if view.status == "shipped" and view.shipment:
        s = view.shipment
        text += (f" It's with {s.carrier} ({SHIPMENT_WORDS.get(s.status, s.status)}), "
                 f"tracking number {s.tracking_number}")
        text += f", expected {day(s.eta)}." if s.eta else "."
    elif view.status in ("placed", "paid"):
        text += f" It'll go out by {view.delivery_option or 'your chosen delivery option'}."
    if view.items:
        text += " Items: " + ", ".join(view.items) + "."
    return text


def delivery_options(options: list[DeliveryOptionView], about_time: bool) -> str:
    if not options:
        return "I can't see any delivery options right now - please check the delivery page."
    lines = []
    for o in options:
        price = "free" if o.price == 0 else money(o.price)
        if o.free_over is not None and o.price > 0:
            price += f" (free on orders over {money(o.free_over)})"
        if about_time:
            lines.append(f"- {o.name}: {days(o.min_days, o.max_days)}, {price}")
        else:
            lines.append(f"- {o.name}: {price}, {days(o.min_days, o.max_days)}")
    head = ("Here's how long delivery takes:" if about_time
            else "These are our delivery options and costs:")
    return head + "\n" + "\n".join(lines)


def products(found: list[ProductView]) -> str:
    lines = []
    for p in found:
        stock = "in stock" if p.in_stock else "out of stock at the moment"
        lines.append(f"- {p.name}: {money(p.price, p.currency)}, {stock}")
    return "Here's what I found:\n" + "\n".join(lines)
