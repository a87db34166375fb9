"""The small fixed shop that tests (and the integration servers) run against.

Two customers, three products and eight orders, one per situation the assistant must handle.
Times are relative to ``now`` so eligibility rules (return window, recent orders) behave the same
whatever clock is used; unit tests use :data:`FIXTURE_NOW`.
"""
from __future__ import annotations

from types import MappingProxyType

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from bot.demo.images import images_for_rows, write_images
from bot.demo.reference import CURRENCY, DELIVERY_BY_CODE, DELIVERY_OPTIONS, shipping_cost
from bot.demo.writer import write_rows
from bot.store.catalogue import product_image_url
from bot.taxonomy import load_taxonomy

FIXTURE_NOW = datetime(2026, 6, 15, 12, 0)

ALICE_ID = 1
BEN_ID = 2
ALICE_EMAIL = "alice@example.com"
BEN_EMAIL = "ben@example.com"
ALICE_ADDRESS = "Alice Carter, 14 Rowan Close, Headingley, Leeds LS6 3QT, GB"
BEN_ADDRESS = "Ben Okafor, Flat 2, 88 Albert Road, Bristol BS2 0XS, GB"

# product id -> (category slug, name, type, brand, price, stock, attributes)
_PRODUCTS = MappingProxyType({
    1: (
        "footwear", "Fellrunner Waterproof Hiking Boot", "hiking boot", "Fellrunner", "89.99", 12,
        (("colour", "brown"), ("size", "8"), ("size", "9"), ("size", "10"),
         ("material", "leather"), ("feature", "waterproof")),
    ),
    2: (
        "kitchen", "Copperfield Cast Iron Casserole Dish", "casserole dish", "Copperfield", "64.00",
        0, (("colour", "blue"), ("material", "cast iron")),
    ),
    3: (
        "outerwear", "Northvale Insulated Parka", "parka", "Northvale", "149.00", 5,
        (("colour", "black"), ("size", "S"), ("size", "M"), ("size", "L"),
         ("feature", "waterproof"), ("feature", "insulated")),
    ),
})
_CATEGORY_IDS = MappingProxyType({"footwear": 1, "kitchen": 2, "outerwear": 3})


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def fixture_rows(now: datetime) -> dict[str, list[dict]]:
    """All fixture rows keyed by table name (a plain function, so it can be inspected)."""
    taxonomy = load_taxonomy()
    day = timedelta(days=1)
    rows: dict[str, list[dict]] = {t: [] for t in (
        "delivery_options", "categories", "products", "product_attributes", "customers",
        "addresses", "orders", "order_lines", "payments", "invoices", "shipments", "returns",
        "refunds",
    )}
    rows["delivery_options"] = [dict(d) for d in DELIVERY_OPTIONS]
    for slug, cid in _CATEGORY_IDS.items():
        rows["categories"].append(
            {"id": cid, "slug": slug, "name": taxonomy.category(slug).name, "parent_id": None}
        )
    for pid, (cat, name, ptype, brand, price, stock, attrs) in _PRODUCTS.items():
        rows["products"].append({
            "id": pid, "sku": f"FX-{pid:05d}", "name": name, "slug": _slug(name),
            "category_id": _CATEGORY_IDS[cat], "product_type": ptype, "brand": brand,
            "price": Decimal(price), "currency": CURRENCY, "stock": stock,
            "description": f"{name} by {brand}.", "active": True, "created_at": now - 400 * day,
            "image_url": product_image_url(_slug(name)),
        })
        for attr_name, value in attrs:
            rows["product_attributes"].append(
                {"id": len(rows["product_attributes"]) + 1, "product_id": pid,
                 "name": attr_name, "value": value}
            )
    rows["customers"] = [
        {"id": ALICE_ID, "email": ALICE_EMAIL, "first_name": "Alice", "last_name": "Carter",
         "phone": "07700 900123", "created_at": now - 400 * day, "marketing_opt_in": True},
        {"id": BEN_ID, "email": BEN_EMAIL, "first_name": "Ben", "last_name": "Okafor",
         "phone": "07700 900456", "created_at": now - 200 * day, "marketing_opt_in": False},
    ]
    rows["addresses"] = [
        {"id": 1, "customer_id": ALICE_ID, "line1": "14 Rowan Close", "line2": "Headingley",
         "city": "Leeds", "postcode": "LS6 3QT", "country": "GB", "is_default": True},
        {"id": 2, "customer_id": BEN_ID, "line1": "Flat 2", "line2": "88 Albert Road",
         "city": "Bristol", "postcode": "BS2 0XS", "country": "GB", "is_default": True},
    ]

    def order(number, customer_id, status, placed, lines, delivery, *, updated=None,
              cancelled=None):
        oid = len(rows["orders"]) + 1
        subtotal = sum(Decimal(_PRODUCTS[pid][4]) * qty for pid, qty in lines)
        option = DELIVERY_BY_CODE[delivery]
        ship = shipping_cost(option, subtotal)
        is_alice = customer_id == ALICE_ID
        rows["orders"].append({
            "id": oid, "number": number, "customer_id": customer_id,
            "email": ALICE_EMAIL if is_alice else BEN_EMAIL, "status": status,
            "placed_at": placed, "updated_at": updated or placed, "currency": CURRENCY,
            "subtotal": subtotal, "shipping_cost": ship, "total": subtotal + ship,
            "delivery_option_id": option["id"],
            "shipping_address": ALICE_ADDRESS if is_alice else BEN_ADDRESS,
            "cancelled_at": cancelled, "cancellation_fee": Decimal("0.00"),
        })
        for pid, qty in lines:
            rows["order_lines"].append({
                "id": len(rows["order_lines"]) + 1, "order_id": oid, "product_id": pid,
                "quantity": qty, "unit_price": Decimal(_PRODUCTS[pid][4]),
            })
        return oid, subtotal + ship

    def payment(oid, amount, status, at, method="card"):
        rows["payments"].append({
            "id": len(rows["payments"]) + 1, "order_id": oid, "method": method,
            "amount": amount, "status": status,
            "card_last4": "4242" if method == "card" else None, "created_at": at,
        })

    def invoice(oid, number, amount, at):
        rows["invoices"].append({
            "id": len(rows["invoices"]) + 1, "order_id": oid, "number": f"INV-{number[3:]}",
            "issued_at": at, "amount": amount, "currency": CURRENCY,
        })

    def shipment(oid, carrier, tracking, status, shipped, eta, delivered=None):
        rows["shipments"].append({
            "id": len(rows["shipments"]) + 1, "order_id": oid, "carrier": carrier,
            "tracking_number": tracking, "status": status, "shipped_at": shipped,
            "eta": eta.date(), "delivered_at": delivered,
        })

    # SH-100001: placed an hour ago, payment only authorised so far.
    placed = now - timedelta(hours=1)
    oid, total = order("SH-100001", ALICE_ID, "placed", placed, [(3, 1)], "express")
    payment(oid, total, "authorised", placed)

    # SH-100002: paid yesterday, not shipped yet.
    placed = now - day
    oid, total = order("SH-100002", ALICE_ID, "paid", placed, [(1, 1)], "standard",
                       updated=placed + timedelta(minutes=5))
    payment(oid, total, "captured", placed + timedelta(minutes=5), method="paypal")
    invoice(oid, "SH-100002", total, placed + timedelta(minutes=5))

    # SH-100003: shipped with DPD, in transit, due in two days.
    placed = now - 3 * day
    oid, total = order("SH-100003", ALICE_ID, "shipped", placed, [(2, 1)], "standard",
                       updated=now - 2 * day)
    payment(oid, total, "captured", placed)
    invoice(oid, "SH-100003", total, placed)
    shipment(oid, "DPD", "DPD123456789GB", "in_transit", now - 2 * day, now + 2 * day)

    # SH-100004: delivered 9 days ago (inside the return window).
    placed = now - 12 * day
    oid, total = order("SH-100004", ALICE_ID, "delivered", placed, [(1, 1)], "next_day",
                       updated=now - 9 * day)
    payment(oid, total, "captured", placed)
    invoice(oid, "SH-100004", total, placed)
    shipment(oid, "Royal Mail", "RM482913574GB", "delivered", now - 11 * day, now - 10 * day,
             delivered=now - 9 * day)

    # SH-100005: delivered 66 days ago (outside the return window).
    placed = now - 70 * day
    oid, total = order("SH-100005", ALICE_ID, "delivered", placed, [(3, 1), (2, 1)],
                       "standard", updated=now - 66 * day)
    payment(oid, total, "captured", placed, method="klarna")
    invoice(oid, "SH-100005", total, placed)
    shipment(oid, "Evri", "H01QTA0047732195", "delivered", now - 69 * day, now - 66 * day,
             delivered=now - 66 * day)

    # SH-100006: cancelled the day after it was placed; the payment went back.
    placed = now - 5 * day
    oid, total = order("SH-100006", ALICE_ID, "cancelled", placed, [(2, 2)], "click_collect",
                       updated=now - 4 * day, cancelled=now - 4 * day)
    payment(oid, total, "refunded", placed)

    # SH-100007: delivered 20 days ago, returned and received; the refund is being processed.
    placed = now - 24 * day
    oid, total = order("SH-100007", ALICE_ID, "returned", placed, [(1, 1)], "express",
                       updated=now - 8 * day)
    payment(oid, total, "captured", placed)
    invoice(oid, "SH-100007", total, placed)
    shipment(oid, "UPS", "1Z4E7W8R0312345678", "delivered", now - 22 * day, now - 20 * day,
             delivered=now - 20 * day)
    rows["returns"].append({
        "id": 1, "order_id": oid, "status": "received", "reason": "Too small",
        "created_at": now - 10 * day, "updated_at": now - 10 * day,
    })
    rows["refunds"].append({
        "id": 1, "order_id": oid, "return_id": 1, "amount": total, "status": "processing",
        "created_at": now - 8 * day, "completed_at": None,
    })

    # Ben's SH-200001: delivered 5 days ago.
    placed = now - 8 * day
    oid, total = order("SH-200001", BEN_ID, "delivered", placed, [(3, 1)], "standard",
                       updated=now - 5 * day)
    payment(oid, total, "captured", placed, method="apple_pay")
    invoice(oid, "SH-200001", total, placed)
    shipment(oid, "DPD", "DPD987654321GB", "delivered", now - 7 * day, now - 5 * day,
             delivered=now - 5 * day)
    return rows


def seed_fixture(session: Session, now: datetime, images_dir: Path | None = None) -> None:
    """Insert the fixture shop (relative to ``now``) into an empty, migrated database.

    Its products always carry their generated image URLs; the image files are written only when
    ``images_dir`` is given (a storefront serving that folder then shows them).
    """
    rows = fixture_rows(now)
    if images_dir is not None:
        write_images(images_for_rows(rows), images_dir)
    write_rows(session, rows)
