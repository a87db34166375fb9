"""Orders and everything that follows them, consistent with the clock.

An order's life is drawn up front as a :class:`Plan` (payment delay, dispatch, transit, maybe a
cancellation or a return); its status and rows are whatever of that life has happened by ``now``.
So a "placed" order is minutes to hours old, "shipped" ones left within the last week or so, and
delivered ones carry a ``delivered_at`` before now.
"""
from __future__ import annotations

from types import MappingProxyType

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot.demo.reference import CARRIERS, CURRENCY, DELIVERY_OPTIONS, shipping_cost

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
DELIVERY_WEIGHTS = (60, 15, 10, 15)  # standard, express, next day, click & collect
PAYMENT_WEIGHTS = MappingProxyType({"card": 55, "paypal": 20, "apple_pay": 12, "klarna": 8, "gift_card": 5})
RETURN_REASONS = (
    "Too small", "Too big", "Not as described", "Changed my mind", "Arrived damaged",
    "Colour not as pictured", "Ordered two sizes", "Faulty", "Better price elsewhere",
    "Arrived too late",
)


@dataclass
class Plan:
    """When each step of an order's life happens (offsets from the order's placed_at)."""

    delivery_code: str
    method: str
    pay_after: timedelta
    ship_after: timedelta  # after payment
    transit: timedelta  # after dispatch
    delayed: bool = False
    failed_first: bool = False  # a declined attempt before the payment that went through
    cancel_after: timedelta | None = None  # after placing; only if before dispatch
    return_after: timedelta | None = None  # after delivery
    partial_return: bool = False


def draw_plan(rng: random.Random, line_count: int) -> Plan:
    code = rng.choices([d["code"] for d in DELIVERY_OPTIONS], DELIVERY_WEIGHTS)[0]
    option = next(d for d in DELIVERY_OPTIONS if d["code"] == code)
    method = rng.choices(list(PAYMENT_WEIGHTS), list(PAYMENT_WEIGHTS.values()))[0]
    # Most payments capture within minutes; some wait for checks (Klarna, fraud review).
    if rng.random() < 0.2:
        pay_after = timedelta(hours=rng.uniform(2, 30))
    else:
        pay_after = timedelta(minutes=rng.uniform(1, 30))
    delayed = rng.random() < 0.04
    transit = timedelta(days=rng.randint(option["min_days"], option["max_days"]),
                        hours=rng.uniform(-6, 6))
    if delayed:
        transit += timedelta(days=rng.randint(2, 4))
    return Plan(
        delivery_code=code,
        method=method,
        pay_after=pay_after,
        ship_after=timedelta(hours=rng.uniform(3, 40)),
        transit=max(transit, timedelta(hours=14)),
        delayed=delayed,
        failed_first=rng.random() < 0.03,
        cancel_after=timedelta(hours=rng.uniform(0.3, 30)) if rng.random() < 0.05 else None,
        return_after=timedelta(days=rng.uniform(1, 28)) if rng.random() < 0.09 else None,
        partial_return=line_count > 1 and rng.random() < 0.5,
    )


def _tracking(rng: random.Random, carrier: str) -> str:
    digits = "".join(str(rng.randint(0, 9)) for _ in range(16))
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    if carrier == "Royal Mail":
        return f"{rng.choice(letters)}{rng.choice(letters)}{digits[:9]}GB"
    if carrier == "DPD":
        return f"DPD{digits[:9]}GB"
    if carrier == "Evri":
        return f"H{digits[:2]}{rng.choice(letters)}{rng.choice(letters)}A{digits[2:13]}"
    return f"1Z{rng.choice(letters)}{digits[:2]}{rng.choice(letters)}{digits[2:14]}"


class OrderBook:
    """Collects the rows of every order built (ids are assigned by the caller's order)."""

    TABLES = ("orders", "order_lines", "payments", "invoices", "shipments", "returns", "refunds")

    def __init__(self, products: dict[int, dict], now: datetime):
        self.products = products
        self.now = now
        self.rows: dict[str, list[dict]] = {t: [] for t in self.TABLES}
        self.purchase_events: list[dict] = []

    def _add(self, table: str, row: dict) -> dict:
        row["id"] = len(self.rows[table]) + 1
        self.rows[table].append(row)
        return row

    def build(self, rng: random.Random, customer: dict, address_line: str, placed: datetime,
              items: list[tuple[int, int]], plan: Plan, session_id: str | None,
              number: str) -> dict:
        """Add one order placed at ``placed`` with ``items`` [(product id, qty)] as of now."""
        now = self.now
        option = next(d for d in DELIVERY_OPTIONS if d["code"] == plan.delivery_code)
        lines = [(pid, qty, self.products[pid]["price"]) for pid, qty in items]
        subtotal = sum((price * qty for _, qty, price in lines), Decimal("0.00"))
        ship_cost = shipping_cost(option, subtotal)
        total = subtotal + ship_cost

        paid_at = placed + plan.pay_after
        shipped_at = paid_at + plan.ship_after
        delivered_at = shipped_at + plan.transit
        cancelled_at = None
        if plan.cancel_after is not None and placed + plan.cancel_after < shipped_at:
            cancelled_at = placed + plan.cancel_after
        returned_at = delivered_at + plan.return_after if plan.return_after else None

        if cancelled_at is not None and cancelled_at <= now:
            status, updated = "cancelled", cancelled_at
        elif paid_at > now:
            status, updated = "placed", placed
        elif shipped_at > now:
            status, updated = "paid", paid_at
        elif delivered_at > now:
            status, updated = "shipped", shipped_at
        elif returned_at is not None and returned_at <= now:
            status, updated = "returned", returned_at
        else:
            status, updated = "delivered", delivered_at

        order = self._add("orders", {
            "number": number, "customer_id": customer["id"], "email": customer["email"],
            "status": status, "placed_at": placed, "updated_at": updated, "currency": CURRENCY,
            "subtotal": subtotal, "shipping_cost": ship_cost, "total": total,
            "delivery_option_id": option["id"], "shipping_address": address_line,
            "cancelled_at": cancelled_at if status == "cancelled" else None,
            "cancellation_fee": Decimal("0.00"),
        })
        oid = order["id"]
        for pid, qty, price in lines:
            self._add("order_lines", {"order_id": oid, "product_id": pid, "quantity": qty,
                                      "unit_price": price})
            self.purchase_events.append({
                "customer_id": customer["id"], "product_id": pid, "event_type": "purchase",
                "occurred_at": placed, "session_id": session_id, "quantity": qty,
                "amount": price * qty,
            })

        # Payments: an optional declined attempt, then the one that went through.
        if plan.failed_first:
            self._add("payments", {
                "order_id": oid, "method": "card", "amount": total, "status": "failed",
                "card_last4": f"{rng.randint(0, 9999):04d}", "created_at": placed,
            })
        method = plan.method if not plan.failed_first else rng.choice(("paypal", "apple_pay"))
        captured = paid_at <= now and (cancelled_at is None or paid_at < cancelled_at)
        if status == "cancelled":
            pay_status = "refunded"
        else:
            pay_status = "captured" if captured else "authorised"
        self._add("payments", {
            "order_id": oid, "method": method, "amount": total, "status": pay_status,
            "card_last4": f"{rng.randint(0, 9999):04d}" if method == "card" else None,
            "created_at": paid_at if captured else placed + timedelta(seconds=30),
        })
        if status == "cancelled":
            return order
        if captured:
            self._add("invoices", {"order_id": oid, "number": f"INV-{number[3:]}",
                                   "issued_at": paid_at, "amount": total, "currency": CURRENCY})
        if shipped_at > now:
            return order

        carrier = rng.choice(CARRIERS)
        eta = (shipped_at + timedelta(days=option["max_days"])).date()
        if delivered_at <= now:
            ship_status = "delivered"
        elif now - shipped_at < 3 * HOUR:
            ship_status = "label_created"
        elif plan.delayed and now.date() > eta:
            ship_status = "exception"
        elif delivered_at.date() == now.date():
            ship_status = "out_for_delivery"
        else:
            ship_status = "in_transit"
        self._add("shipments", {
            "order_id": oid, "carrier": carrier, "tracking_number": _tracking(rng, carrier),
            "status": ship_status, "shipped_at": shipped_at, "eta": eta,
            "delivered_at": delivered_at if ship_status == "delivered" else None,
        })
        if status != "returned":
            return order

        # Return: requested, received a few days later, refund pending -> processing -> done.
        received_at = returned_at + timedelta(days=rng.uniform(2, 7))
        processing_at = received_at + timedelta(hours=rng.uniform(4, 36))
        completed_at = processing_at + timedelta(days=rng.uniform(1, 5))
        if received_at > now:
            ret_status, ret_updated = "requested", returned_at
        elif completed_at > now:
            ret_status, ret_updated = "received", received_at
        else:
            ret_status, ret_updated = "refunded", completed_at
        ret = self._add("returns", {
            "order_id": oid, "status": ret_status, "reason": rng.choice(RETURN_REASONS),
            "created_at": returned_at, "updated_at": ret_updated,
        })
        order["updated_at"] = ret_updated
        if received_at <= now:
            if plan.partial_return:
                pid, qty, price = lines[-1]
                amount = price * qty
            else:
                amount = total
            refund_status = ("pending" if processing_at > now
                             else "processing" if completed_at > now else "completed")
            self._add("refunds", {
                "order_id": oid, "return_id": ret["id"], "amount": amount,
                "status": refund_status, "created_at": received_at,
                "completed_at": completed_at if refund_status == "completed" else None,
            })
        return order
