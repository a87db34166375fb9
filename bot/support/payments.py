"""Payment problems: what a verified shopper's recent orders show."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from bot.services import Services
from bot.store import queries

RECENT_ORDERS = 5


@dataclass(frozen=True)
class PaymentProblem:
    order_number: str
    kind: str  # "failed" or "charged_twice"
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class PaymentCheck:
    problems: list[PaymentProblem] = field(default_factory=list)


def check_payments(services: Services, customer_id: int) -> PaymentCheck:
    """Failed payments and duplicate captures on the shopper's recent orders."""
    problems: list[PaymentProblem] = []
    with services.unit_of_work() as session:
        for order in queries.recent_orders(session, customer_id, RECENT_ORDERS):
            if order.status == "cancelled":
                continue
            captured = [p for p in order.payments if p.status == "captured"]
            amounts = Counter(p.amount for p in captured)
            if len(captured) > 1 and sum(p.amount for p in captured) > order.total:
                dup = next(a for a, n in amounts.items() if n > 1) if any(
                    n > 1 for n in amounts.values()) else captured[-1].amount
                problems.append(PaymentProblem(order.number, "charged_twice", dup, order.currency))
            elif not captured and any(p.status == "failed" for p in order.payments):
                failed = [p for p in order.payments if p.status == "failed"][-1]
                problems.append(PaymentProblem(order.number, "failed", failed.amount,
                                               order.currency))
    return PaymentCheck(problems)
