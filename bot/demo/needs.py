"""A year of logged needs for the demo shop, from messages we write and our own extractor.

:func:`demo_messages` writes shoppers' messages (templates of our own, filled from the demo
catalogue: its product types, colours, sizes, prices and stock) spread over the year before the
anchor like the shop's orders (weekends, Black Friday, Christmas), each category by its season
(``bot.demo.behaviour.category_season``: garden and camping in summer, coats in winter, toys
before Christmas) plus things for the season we do not sell (swimsuits and paddling pools in
summer, advent calendars before Christmas). They are written to land in every status: products
we have (``matched``), kinds we do not sell, colours and sizes we lack, budgets under our
cheapest, and what is out of stock. Some are asked by a customer shortly before an order of
theirs bought that kind of thing (so ``needs reconcile`` finds the conversion). Two themes grow
in the last six weeks: a lightweight waterproof hiking jacket and a vegan leather handbag.

:func:`add_need_history` imports them through ``needs import``'s own code
(:func:`bot.needs.importer.import_lines`: the production extractor, the chat's catalogue rules,
idempotent on the line ids) with ``is_demo`` set, then records conversions
(:func:`bot.needs.reconcile.mark_converted`). The same seed and anchor give the same rows.
"""
from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.demo.behaviour import CATEGORY_POPULARITY, HOUR_WEIGHTS, HOURS, category_season, \
    day_factor
from bot.store.db import session_scope
from bot.store.models import (
    Category,
    Customer,
    Need,
    Order,
    OrderLine,
    Product,
    ProductAttribute,
)
from bot.taxonomy import load_taxonomy

DEFAULT_MESSAGES = 5000
HISTORY_DAYS = 365
THEME_WEEKS = 6  # the themes grow over the last six weeks
ANONYMOUS_SHARE = 0.35
CONVERTING_SHARE = 0.07  # messages asked shortly before one of the shopper's own orders
ID_PREFIX = "demo-"

# What each ordinary message is written to show (weights).
SCENARIOS = MappingProxyType({
    "matched": 50, "not_stocked": 12, "out_of_stock": 9, "over_budget": 10,
    "size_or_colour": 10, "gift": 4,
})
# Things shoppers ask for that the demo shop does not sell, with the months they are asked in.
NOT_SOLD = (
    ("swimsuit", (5, 6, 7, 8)), ("bikini", (5, 6, 7, 8)), ("paddling pool", (5, 6, 7, 8)),
    ("paddle board", (5, 6, 7, 8)), ("hammock", (4, 5, 6, 7, 8)), ("sun lounger", (5, 6, 7)),
    ("advent calendar", (10, 11, 12)), ("christmas tree", (11, 12)), ("sledge", (12, 1, 2)),
    ("electric blanket", (10, 11, 12, 1, 2)), ("ukulele", ()), ("sewing machine", ()),
    ("pizza oven", (4, 5, 6, 7, 8)), ("trampoline", (4, 5, 6, 7, 8)), ("skateboard", ()),
    ("dehumidifier", (10, 11, 12, 1, 2)), ("bread maker", ()), ("air purifier", ()),
)
RECIPIENTS = ("mum", "dad", "wife", "husband", "son", "daughter", "sister", "brother",
              "nephew", "niece", "grandma", "best friend", "boyfriend", "girlfriend")
ASK_ONE = (
    "do you have {a}{d}?", "looking for {a}{d}", "hi, I'm after {a}{d}", "I need {a}{d}",
    "have you got {a}{d}", "can you help me find {a}{d}?", "hello! I want to buy {a}{d}",
    "hi there, I'm looking for {a}{d}, thanks", "is there {a}{d} in stock?",
    "need {a}{d} asap", "searching for {a}{d}",
)
ASK_MANY = ("do you sell {p}{d}?", "any {p}{d}?", "got any {p}{d}?", "{p}{d} please",
            "show me {p}{d}", "what {p} do you have{d}?")
BUDGET = (" under £{n}", " for less than £{n}", " up to £{n}", " no more than £{n}",
          " below {n} pounds", ", budget £{n} max")
GIFT = (
    "a present for my {r}, between {lo} and {hi} pounds", "gift ideas for my {r} under £{hi}?",
    "something for my {r} for christmas under £{hi}", "what can I get my {r} for about £{hi}",
    "I need a birthday present for my {r}, no more than £{hi}",
)
HIKING_JACKET = (
    "looking for a lightweight waterproof hiking jacket{d}",
    "any waterproof hiking jackets that are lightweight{d}?",
    "do you have a waterproof hiking jacket that's lightweight{d}",
    "lightweight waterproof hiking jacket{d} please",
    "hi, after a waterproof and lightweight hiking jacket{d}",
    "I need a waterproof hiking jacket, lightweight{d}",
)
VEGAN_HANDBAG = (
    "do you sell vegan leather handbags{d}?", "looking for a vegan leather handbag{d}",
    "I'd love a vegan leather handbag{d}", "vegan leather handbag{d} please",
    "have you got a vegan leather handbag{d}", "any vegan leather handbags{d}?",
)
THEMES = (("hiking jacket", HIKING_JACKET, ("M", "L", "S", "XL")),
          ("vegan handbag", VEGAN_HANDBAG, ()))
# Words that are their own plural ("a pair of" things) or whose plural is irregular.
PLURAL_ONLY = frozenset({
    "jeans", "trousers", "leggings", "chinos", "shorts", "pyjamas", "dungarees", "joggers",
    "gloves", "sunglasses", "earrings", "headphones", "earbuds", "curtains", "running tights",
})
# Things bought by the amount, not one by one ("some shampoo", "any shampoo?").
MASS_NOUNS = frozenset({
    "shampoo", "conditioner", "moisturiser", "sun cream", "perfume", "laundry detergent",
    "washing up liquid", "cat litter", "dog food",
})
# Categories whose things are bought as presents (recipients and occasions in messages).
GIFT_CATEGORIES = frozenset({
    "womens-clothing", "mens-clothing", "kids-clothing", "accessories", "jewellery-watches",
    "beauty", "toys-games", "books", "electronics", "footwear", "bags-luggage", "sports",
})
LETTER_SIZES = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL")
SHOE_SIZES = tuple(str(n) for n in range(3, 15))
BED_SIZES = ("single", "small double", "double", "king", "super king")
KIDS_AGES = ("2-3", "3-4", "4-5", "5-6", "6-7", "7-8", "8-9", "9-10", "11-12")


@dataclass(frozen=True)
class DemoProduct:
    id: int
    category: str
    ptype: str
    price: float
    stock: int
    colours: tuple[str, ...]
    sizes: tuple[str, ...]


@dataclass(frozen=True)
class ShopFacts:
    """What the messages are written from: the catalogue, the customers, their purchases."""

    products: tuple[DemoProduct, ...]
    customers: tuple[int, ...]
    purchases: tuple[tuple[int, datetime, int], ...]  # (customer id, placed_at, product id)


def load_facts(session: Session) -> ShopFacts:
    """The demo shop's catalogue, customers and purchases (paid, shipped or delivered)."""
    attrs: dict[int, dict[str, list[str]]] = {}
    for pid, name, value in session.execute(
            select(ProductAttribute.product_id, ProductAttribute.name, ProductAttribute.value)
            .where(ProductAttribute.name.in_(("colour", "size")))
            .order_by(ProductAttribute.id)):
        attrs.setdefault(pid, {}).setdefault(name, []).append(value)
    products = tuple(
        DemoProduct(pid, slug, ptype.lower(), float(price), stock,
                    tuple(attrs.get(pid, {}).get("colour", ())),
                    tuple(attrs.get(pid, {}).get("size", ())))
        for pid, slug, ptype, price, stock in session.execute(
            select(Product.id, Category.slug, Product.product_type, Product.price, Product.stock)
            .join(Category, Category.id == Product.category_id)
            .where(Product.active.is_(True)).order_by(Product.id)))
    customers = tuple(session.execute(
        select(Customer.id).where(Customer.erased_at.is_(None)).order_by(Customer.id)).scalars())
    purchases = tuple(session.execute(
        select(Order.customer_id, Order.placed_at, OrderLine.product_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.status.in_(("paid", "shipped", "delivered")),
               Order.customer_id.isnot(None))
        .order_by(Order.placed_at, OrderLine.id)).all())
    return ShopFacts(products, customers, purchases)


# --- words ----------------------------------------------------------------------------------

def _plural_only(ptype: str) -> bool:
    """Said only in the plural: "jeans", "building blocks" (not "dress")."""
    return ptype in PLURAL_ONLY or (ptype.endswith("s") and not ptype.endswith("ss"))


def _mass(ptype: str) -> bool:
    return ptype in MASS_NOUNS


def plural(ptype: str) -> str:
    if _plural_only(ptype) or _mass(ptype):
        return ptype
    if ptype.endswith(("s", "sh", "ch", "x")):
        return ptype + "es"
    if ptype.endswith("y") and ptype[-2:-1] not in "aeiou":
        return ptype[:-1] + "ies"
    return ptype + "s"


def with_article(phrase: str, ptype: str) -> str:
    if _plural_only(ptype) or _mass(ptype):
        return f"some {phrase}"
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def size_words(size: str) -> tuple[str, str]:
    """(before the product, after it): how shoppers write a catalogue size."""
    if size in BED_SIZES:
        return f"{size} size ", ""
    if size.endswith(" years"):
        return "", f", age {size[:-6]}"
    if size.startswith("EU "):
        return "", f" in EU size {size[3:]}"
    return "", f" in size {size}"


# --- one message ----------------------------------------------------------------------------

class _Writer:
    def __init__(self, rng: random.Random, facts: ShopFacts):
        self.rng = rng
        self.facts = facts
        self.by_id = {p.id: p for p in facts.products}
        self.by_type: dict[str, list[DemoProduct]] = {}
        self.types_of: dict[str, list[str]] = {}
        for p in facts.products:
            if p.ptype not in self.by_type:
                self.types_of.setdefault(p.category, []).append(p.ptype)
            self.by_type.setdefault(p.ptype, []).append(p)
        self.colours = tuple(load_taxonomy().colours)

    def phrase(self, ptype: str, *, colour: str | None = None, size: str | None = None,
               budget: int | None = None, many: bool | None = None, extra: str = "") -> str:
        rng = self.rng
        before, after = size_words(size) if size else ("", "")
        colour_before = colour is not None and rng.random() < 0.6
        core = (f"{colour} " if colour_before else "") + before + ptype
        details = ("" if colour is None or colour_before else f" in {colour}") + after
        if budget is not None:
            details += rng.choice(BUDGET).format(n=budget)
        details += extra
        many = rng.random() < 0.3 if many is None else many
        if many:
            many_core = (f"{colour} " if colour_before else "") + before + plural(ptype)
            return rng.choice(ASK_MANY).format(p=many_core, d=details)
        return rng.choice(ASK_ONE).format(a=with_article(core, ptype), d=details)

    def gift_words(self, day: date, category: str | None = None) -> str:
        rng = self.rng
        if category in GIFT_CATEGORIES and rng.random() < 0.12:
            occasion = " for christmas" if day.month in (11, 12) else " for her birthday"
            return f" for my {rng.choice(RECIPIENTS)}" + (occasion if rng.random() < 0.5 else "")
        return ""

    def matched(self, category: str, day: date) -> str | None:
        stocked = [p for t in self.types_of.get(category, ()) for p in self.by_type[t]
                   if p.stock > 0]
        if not stocked:
            return None
        p = self.rng.choice(stocked)
        rng = self.rng
        colour = rng.choice(p.colours) if p.colours and rng.random() < 0.4 else None
        size = rng.choice(p.sizes) if p.sizes and rng.random() < 0.5 else None
        budget = (int(math.ceil(p.price / 10) * 10) + rng.choice((0, 10, 20))
                  if rng.random() < 0.3 else None)
        return self.phrase(p.ptype, colour=colour, size=size, budget=budget,
                           extra=self.gift_words(day, category))

    def out_of_stock(self, category: str, day: date) -> str | None:
        gone = [p for t in self.types_of.get(category, ()) for p in self.by_type[t]
                if p.stock == 0] or [p for p in self.facts.products if p.stock == 0]
        if not gone:
            return None
        p = self.rng.choice(gone)
        colour = self.rng.choice(p.colours) if p.colours else None
        size = self.rng.choice(p.sizes) if p.sizes else None
        return self.phrase(p.ptype, colour=colour, size=size)

    def over_budget(self, category: str, day: date) -> str | None:
        types = self.types_of.get(category)
        if not types:
            return None
        ptype = self.rng.choice(types)
        cheapest = min(p.price for p in self.by_type[ptype])
        budget = int(cheapest * self.rng.uniform(0.35, 0.8) // 5 * 5)
        if budget < 5:
            return None
        return self.phrase(ptype, budget=budget)

    def size_or_colour(self, category: str, day: date) -> str | None:
        types = self.types_of.get(category)
        if not types:
            return None
        ptype = self.rng.choice(types)
        products = self.by_type[ptype]
        sizes = {s for p in products for s in p.sizes}
        if sizes and self.rng.random() < 0.5:
            for system in (LETTER_SIZES, SHOE_SIZES, BED_SIZES,
                           tuple(f"{a} years" for a in KIDS_AGES)):
                if sizes & set(system):
                    missing = [s for s in system if s not in sizes]
                    if missing:
                        return self.phrase(ptype, size=self.rng.choice(missing))
        colours = {c for p in products for c in p.colours}
        missing = [c for c in self.colours if c not in colours and " " not in c]
        if not colours or not missing:
            return None
        return self.phrase(ptype, colour=self.rng.choice(missing))

    def not_stocked(self, day: date) -> str:
        now_asked = [t for t, months in NOT_SOLD if not months or day.month in months]
        return self.phrase(self.rng.choice(now_asked))

    def gift(self, day: date) -> str:
        lo = self.rng.choice((10, 15, 20, 25, 30, 40))
        return self.rng.choice(GIFT).format(r=self.rng.choice(RECIPIENTS), lo=lo,
                                            hi=lo + self.rng.choice((10, 15, 20, 30)))

    def bought(self, product_id: int) -> str | None:
        p = self.by_id.get(product_id)
        if p is None:
            return None
        colour = self.rng.choice(p.colours) if p.colours and self.rng.random() < 0.5 else None
        return self.phrase(p.ptype, colour=colour)

    def theme(self, templates: Sequence[str], sizes: Sequence[str]) -> str:
        rng = self.rng
        details = ""
        if sizes and rng.random() < 0.4:
            details += f" in size {rng.choice(sizes)}"
        elif rng.random() < 0.3:
            details += f" in {rng.choice(('black', 'navy', 'tan', 'olive', 'grey'))}"
        if rng.random() < 0.3:
            details += rng.choice(BUDGET).format(n=rng.choice((60, 80, 100, 120, 150)))
        return rng.choice(templates).format(d=details)


# --- when -----------------------------------------------------------------------------------

def _moment(rng: random.Random, day: date) -> datetime:
    hour = rng.choices(HOURS, HOUR_WEIGHTS)[0]
    return datetime.combine(day, datetime.min.time()) + timedelta(
        hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))


def _theme_per_week(weeks_before_end: int) -> float:
    """Messages a week for a growing theme: a trickle, then six weeks of growth."""
    if weeks_before_end >= THEME_WEEKS:
        return 1.2
    return (2.5, 4.0, 6.0, 9.0, 13.0, 18.0)[THEME_WEEKS - 1 - weeks_before_end]


def demo_messages(rng: random.Random, facts: ShopFacts, now: datetime,
                  count: int = DEFAULT_MESSAGES) -> list[dict]:
    """About ``count`` import lines ``{"id", "created_at", "text", "customer_id"}`` over the
    year before ``now``, oldest first (module docstring)."""
    writer = _Writer(rng, facts)
    start = now.date() - timedelta(days=HISTORY_DAYS)
    days = [start + timedelta(days=i) for i in range(HISTORY_DAYS)]
    messages: list[tuple[datetime, str, int | None]] = []

    def customer() -> int | None:
        if not facts.customers or rng.random() < ANONYMOUS_SHARE:
            return None
        return rng.choice(facts.customers)

    # The growing themes.
    for _label, templates, sizes in THEMES:
        for day in days:
            weeks_before_end = (now.date() - day).days // 7
            expected = _theme_per_week(weeks_before_end) / 7
            for _ in range(_poisson(rng, expected)):
                messages.append((_moment(rng, day), writer.theme(templates, sizes), customer()))
    # Shoppers who asked shortly before buying that kind of thing.
    recent = [p for p in facts.purchases if p[1].date() > start + timedelta(days=21)]
    for cid, placed, product_id in rng.sample(recent, min(len(recent),
                                                          int(count * CONVERTING_SHARE))):
        text = writer.bought(product_id)
        asked = placed - timedelta(hours=rng.uniform(1, 20 * 24))
        if text is not None and asked < now:
            messages.append((asked, text, cid))
    # Everything else, by the calendar and each category's season.
    remaining = max(0, count - len(messages))
    weights = [day_factor(d) for d in days]
    total = sum(weights)
    slugs = list(CATEGORY_POPULARITY)
    scenarios, scenario_weights = list(SCENARIOS), list(SCENARIOS.values())
    for day, weight in zip(days, weights):
        category_weights = [CATEGORY_POPULARITY[s] * category_season(s, day) for s in slugs]
        for _ in range(_poisson(rng, remaining * weight / total)):
            category = rng.choices(slugs, category_weights)[0]
            scenario = rng.choices(scenarios, scenario_weights)[0]
            if scenario == "not_stocked":
                text = writer.not_stocked(day)
            elif scenario == "gift":
                text = writer.gift(day)
            else:
                text = getattr(writer, scenario)(category, day)
            if text is None:
                text = writer.matched(category, day) or writer.gift(day)
            messages.append((_moment(rng, day), text, customer()))
    messages = [m for m in messages if m[0] < now]
    messages.sort(key=lambda m: (m[0], m[1]))
    return [{"id": f"{ID_PREFIX}{i:06d}", "created_at": at.isoformat(), "text": text,
             "customer_id": cid} for i, (at, text, cid) in enumerate(messages, start=1)]


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; means here are small)."""
    if mean <= 0:
        return 0
    if mean > 30:  # normal approximation for the rare big day
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# --- into the database ----------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryResult:
    messages: int
    needs: int
    converted: int
    statuses: dict
    seconds: float


def has_demo_needs(session: Session) -> bool:
    return bool(session.execute(select(func.count()).select_from(Need)
                                .where(Need.is_demo.is_(True))).scalar())


def add_need_history(engine: Engine, *, seed: int, now: datetime, extractor=None,
                     count: int = DEFAULT_MESSAGES) -> HistoryResult:
    """Write the demo messages' needs into the shop at ``engine`` (module docstring)."""
    import time

    from bot.needs.importer import import_lines
    from bot.needs.reconcile import mark_converted

    started = time.perf_counter()
    if extractor is None:
        from bot.needs.pipeline import NeedExtractor
        from bot.needs.train import model_dir

        extractor = NeedExtractor(model_dir(), today=now.date())
    with session_scope(engine) as session:
        facts = load_facts(session)
    lines = demo_messages(random.Random(f"needs-{seed}"), facts, now, count)
    stats = import_lines(engine, extractor, (json.dumps(line) for line in lines), now=now,
                         is_demo=True)
    with session_scope(engine) as session:
        converted = mark_converted(session, now)
    return HistoryResult(len(lines), stats.needs, converted, dict(stats.statuses),
                         time.perf_counter() - started)
