"""Reference data shared by the fixture and the generator: delivery options, carriers, methods."""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from decimal import Decimal

CURRENCY = "GBP"

# Rows for the delivery_options table (ids are fixed so orders can point at them).
DELIVERY_OPTIONS: tuple[Mapping, ...] = (
    MappingProxyType({
        "id": 1,
        "code": "standard",
        "name": "Standard delivery",
        "price": Decimal("3.95"),
        "free_over": Decimal("50.00"),
        "min_days": 3,
        "max_days": 5,
        "description": "3-5 working days. Free on orders of £50 or more.",
    }),
    MappingProxyType({
        "id": 2,
        "code": "express",
        "name": "Express delivery",
        "price": Decimal("6.95"),
        "free_over": None,
        "min_days": 1,
        "max_days": 2,
        "description": "1-2 working days.",
    }),
    MappingProxyType({
        "id": 3,
        "code": "next_day",
        "name": "Next day delivery",
        "price": Decimal("9.95"),
        "free_over": None,
        "min_days": 1,
        "max_days": 1,
        "description": "Order by 8pm for delivery the next working day.",
    }),
    MappingProxyType({
        "id": 4,
        "code": "click_collect",
        "name": "Click & collect",
        "price": Decimal("0.00"),
        "free_over": None,
        "min_days": 2,
        "max_days": 4,
        "description": "Free collection from your chosen store in 2-4 working days.",
    }),
)
DELIVERY_BY_CODE = MappingProxyType({d["code"]: d for d in DELIVERY_OPTIONS})

CARRIERS = ("Royal Mail", "DPD", "Evri", "UPS")
PAYMENT_METHODS = ("card", "paypal", "apple_pay", "klarna", "gift_card")


def shipping_cost(option: dict, subtotal: Decimal) -> Decimal:
    """What ``option`` costs for an order of ``subtotal`` (free at or above its threshold)."""
    if option["free_over"] is not None and subtotal >= option["free_over"]:
        return Decimal("0.00")
    return option["price"]


def money(value) -> Decimal:
    """Round to pence the way a till does (half up)."""
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
