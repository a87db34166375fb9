"""A small hand-built need log with known answers, and a helper to log needs directly.

The log lives on the seeded fixture shop (bot.demo.fixtures: footwear 89.99, kitchen 64.00,
outerwear 149.00 are the catalogue's median prices; customers 1 Alice and 2 Ben). ``today`` is
FIXTURE_NOW's day, 2026-06-15 (a Monday; 2026-06-01 is one too).
"""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from itertools import count

from bot.insights import facets
from bot.store.db import session_scope
from bot.store.models import Need

_SEQ = count(1)


def need_row(day: str, *, customer: int | None = None, category: str | None = None,
             product: str | None = None, attributes=(), colour=(), size=(),
             brand: str | None = None, price_min=None, price_max=None,
             status: str = "matched", propensity: float | None = None,
             recipient: str | None = None, occasion: str | None = None,
             text: str | None = None, conversation: str | None = None,
             hour: int = 12) -> Need:
    seq = next(_SEQ)
    when = datetime.fromisoformat(day).replace(hour=hour)
    return Need(
        conversation_id=conversation or f"conv-{seq}", need_seq=seq, customer_id=customer,
        turn=1, text=text if text is not None else f"message {seq}: {product or category}",
        last_message_key=f"key-{seq}", product=product, category=category,
        attributes=json.dumps(list(attributes)), colour=json.dumps(list(colour)),
        size=json.dumps(list(size)), brand=brand,
        price_min=None if price_min is None else Decimal(str(price_min)),
        price_max=None if price_max is None else Decimal(str(price_max)), currency="GBP",
        recipient=recipient, occasion=occasion, confidence=Decimal("0.9"),
        matched_product_ids="[]", status=status, extractor_version="test",
        created_at=when, updated_at=when, propensity_probability=propensity)


def log(engine, rows: list[Need], *, sync: bool = True) -> list[int]:
    """Insert the rows (and keep the facets current, as every writer does); their ids."""
    with session_scope(engine) as session:
        session.add_all(rows)
        session.flush()
        if sync:
            facets.sync(session, rows)
        return [r.id for r in rows]


# The hand-built log: (what it is, row). Numbers in the comments are the expected answers used
# by tests/insights/test_views.py.
def hand_built() -> list[Need]:
    return [
        # 1: anonymous, stated 100, never stocked
        need_row("2026-06-01", category="outerwear", product="rain jacket",
                 attributes=["waterproof", "lightweight"], price_max=100,
                 status="unmet:not_stocked", text="a waterproof lightweight rain jacket"),
        # 2: anonymous, no price (outerwear median 149.00), out of stock
        need_row("2026-06-02", category="outerwear", product="rain jacket",
                 attributes=["Waterproof"], colour=["Red"], size=["M"],
                 status="unmet:out_of_stock", text="red waterproof rain jacket in M"),
        # 3: Alice 0.5, stated 120, over budget
        need_row("2026-06-03", customer=1, category="outerwear", product="rain jacket",
                 attributes=["lightweight", "waterproof"], price_max=120,
                 status="unmet:over_budget", propensity=0.5,
                 text="lightweight waterproof rain jacket under 120"),
        # 4: Alice again 0.4, no price (149.00): 0.4 x 149 = 59.6 < 60, she counts once (60)
        need_row("2026-06-04", customer=1, category="outerwear", product="rain jacket",
                 status="unmet:size_or_colour", propensity=0.4, text="rain jacket in XXL"),
        # 5: Ben 0.2, price_min 80 only, matched
        need_row("2026-06-05", customer=2, category="footwear", product="hiking boot",
                 attributes=["waterproof"], colour=["brown"], size=["9"], brand="Fellrunner",
                 price_min=80, status="matched", propensity=0.2,
                 recipient="husband", occasion="birthday"),
        # 6: anonymous, pending (never unmet)
        need_row("2026-06-06", category="footwear", product="hiking boot", size=["12"],
                 status="pending"),
        # 7: Ben 0.3, stated 60, an old bare "unmet" (reason: other)
        need_row("2026-06-07", customer=2, category="kitchen", product="casserole dish",
                 colour=["blue"], brand="Copperfield", price_max=60, status="unmet",
                 propensity=0.3),
        # 8: May, anonymous, outside June
        need_row("2026-05-10", category="kitchen", product="teapot", price_max=30,
                 status="unmet:not_stocked", text="a teapot please"),
    ]
