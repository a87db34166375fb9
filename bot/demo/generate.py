"""The demo shop as rows: a plain function of a seeded ``random.Random`` and an anchor date.

:func:`generate_shop` returns ``{table name: [row dict, ...]}`` ready for
:func:`bot.demo.writer.write_rows`. The anchor date is the data's "now" (its midnight): a year of
history ends there, so recent orders look recent whenever the data is built.
"""
from __future__ import annotations

import dataclasses
import logging
import random
from datetime import date, datetime, time, timedelta

from bot.demo.behaviour import Simulator, make_shoppers
from bot.demo.catalogue import generate_catalogue
from bot.demo.customers import DEMO_CUSTOMERS, generate_customers, one_line_address
from bot.demo.orders import OrderBook, Plan, draw_plan
from bot.demo.reference import DELIVERY_OPTIONS
from bot.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

HISTORY_DAYS = 365
DEFAULT_CUSTOMERS = 1500
DEMO_IDS = tuple(c[0] for c in DEMO_CUSTOMERS)
H = timedelta(hours=1)
D = timedelta(days=1)


def anchor_now(anchor: date) -> datetime:
    """The data's "now": midnight at the start of the anchor date (naive UTC)."""
    return datetime.combine(anchor, time.min)


def demo_order_scripts(now: datetime) -> list[tuple[str, datetime, dict]]:
    """(expected status, placed_at, plan overrides) for the orders every demo shopper has."""
    return [
        ("placed", now - 1 * H, {"pay_after": 3 * H}),
        ("paid", now - 20 * H, {"pay_after": 0.2 * H, "ship_after": 30 * H}),
        ("shipped", now - 3 * D, {"pay_after": 0.2 * H, "ship_after": 20 * H,
                                  "transit": 4 * D, "delivery_code": "standard"}),
        ("delivered", now - 12 * D, {"pay_after": 0.2 * H, "ship_after": 20 * H,
                                     "transit": 2 * D}),
        ("delivered", now - 70 * D, {"pay_after": 0.2 * H, "ship_after": 20 * H,
                                     "transit": 3 * D}),
        ("cancelled", now - 5 * D, {"pay_after": 0.2 * H, "ship_after": 30 * H,
                                    "cancel_after": 10 * H}),
        ("returned", now - 30 * D, {"pay_after": 0.2 * H, "ship_after": 20 * H,
                                    "transit": 2 * D, "return_after": 6 * D}),
    ]


def _quantity(rng: random.Random, product: dict) -> int:
    if product["price"] < 20 and rng.random() < 0.15:
        return rng.choice((2, 2, 3, 4))
    return 1


def generate_shop(
    rng: random.Random,
    anchor: date,
    customers: int = DEFAULT_CUSTOMERS,
    taxonomy: Taxonomy | None = None,
) -> dict[str, list[dict]]:
    """Every demo table's rows for ``customers`` shoppers over the year before ``anchor``."""
    if customers < len(DEMO_IDS):
        raise ValueError(f"need at least {len(DEMO_IDS)} customers (the demo shoppers)")
    taxonomy = taxonomy or load_taxonomy()
    now = anchor_now(anchor)
    start = anchor - timedelta(days=HISTORY_DAYS)

    rows: dict[str, list[dict]] = {"delivery_options": [dict(d) for d in DELIVERY_OPTIONS]}
    rows.update(generate_catalogue(rng, taxonomy, now))
    rows.update(generate_customers(rng, customers, now))
    log.debug("catalogue and customers ready")

    shoppers = make_shoppers(rng, rows["customers"], start, anchor, loyal_ids=DEMO_IDS)
    sim = Simulator(rng, rows["products"], rows["categories"], start, anchor)
    sim.run(shoppers)
    log.debug("simulated %d events, %d purchases", len(sim.events), len(sim.purchases))

    products = {p["id"]: p for p in rows["products"]}
    # (placed_at, customer id, session id, [(product id, qty)], plan), numbered in time order.
    pending: list[tuple[datetime, int, str | None, list[tuple[int, int]], Plan]] = []
    for purchase in sim.purchases:
        items = [(pid, _quantity(rng, products[pid])) for pid in purchase.product_ids]
        pending.append((purchase.at, purchase.customer_id, purchase.session_id, items,
                        draw_plan(rng, len(items))))
    favourites = {s.customer_id: s.favourites for s in shoppers}
    for cid in DEMO_IDS:
        for _status, placed, overrides in demo_order_scripts(now):
            slug = rng.choice(favourites[cid])
            chosen = sim.pick_products(slug, rng.choice((1, 1, 2)))
            items = [(p["id"], 1) for p in {p["id"]: p for p in chosen}.values()]
            calm = {"failed_first": False, "cancel_after": None, "return_after": None,
                    "delayed": False}
            plan = dataclasses.replace(draw_plan(rng, len(items)), **{**calm, **overrides})
            placed -= timedelta(minutes=7 * cid)  # the three shoppers don't order in lockstep
            pending.append((placed, cid, None, items, plan))
    pending.sort(key=lambda p: (p[0], p[1]))

    book = OrderBook(products, now)
    customers_by_id = {c["id"]: c for c in rows["customers"]}
    address_line = {
        a["customer_id"]: one_line_address(customers_by_id[a["customer_id"]], a)
        for a in rows["addresses"]
    }
    for i, (placed, cid, session, items, plan) in enumerate(pending):
        book.build(rng, customers_by_id[cid], address_line[cid], placed, items, plan, session,
                   number=f"SH-{100001 + i}")
    rows.update(book.rows)

    events = sim.events + book.purchase_events
    events.sort(key=lambda e: (e["occurred_at"], e["customer_id"]))
    for i, event in enumerate(events, start=1):
        event["id"] = i
    rows["events"] = events
    return rows
