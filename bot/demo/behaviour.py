"""Shopper behaviour over the year before the anchor: sessions of views, carts and checkouts.

Each shopper has 1-3 favourite categories, a personal activity level (lognormal, from lapsed to
loyal), a first active day (when they joined) and possibly a churn day after which they all but
stop. Activity follows the calendar: weekends and evenings are busier; Black Friday, the run-up
to Christmas and the January sales peak; outdoor and garden sell in summer, coats in winter.
Shoppers buy through "missions": a few research sessions of views in one category over some days,
then a session that adds to the basket and usually checks out. So recent browsing and a steady
habit both predict the next purchase, with plenty of noise.
"""
from __future__ import annotations

from types import MappingProxyType

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

WEEKDAY = (0.9, 0.88, 0.92, 0.97, 1.05, 1.3, 1.35)  # Monday..Sunday
# Relative activity per hour of day (UTC): quiet nights, lunch bump, evening peak.
HOUR_WEIGHTS = (
    0.3, 0.15, 0.08, 0.05, 0.05, 0.08, 0.25, 0.5, 0.8, 0.9, 1.0, 1.1,
    1.4, 1.3, 1.0, 1.0, 1.1, 1.3, 1.7, 2.2, 2.6, 2.4, 1.7, 0.9,
)
HOURS = tuple(range(24))
CATEGORY_POPULARITY = MappingProxyType({
    "womens-clothing": 3.0, "mens-clothing": 2.2, "kids-clothing": 1.4, "outerwear": 1.5,
    "footwear": 2.0, "sports": 1.2, "outdoor": 1.0, "bags-luggage": 0.9, "accessories": 1.1,
    "jewellery-watches": 0.8, "beauty": 1.8, "kitchen": 1.5, "home": 1.3, "bedding": 1.0,
    "electronics": 1.7, "toys-games": 1.1, "books": 0.9, "garden": 0.8, "pets": 0.9,
    "household": 1.0, "baby": 0.6,
})


def black_friday(year: int) -> date:
    """The fourth Friday of November."""
    first = date(year, 11, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 21)


def season_factor(d: date) -> float:
    """Shop-wide demand on day ``d`` relative to an ordinary day (weekday effect not included)."""
    bf = black_friday(d.year)
    if bf - timedelta(days=3) <= d <= bf + timedelta(days=3):  # to Cyber Monday
        return 2.6
    if d.month == 11:
        return 1.2 if d > date(d.year, 11, 7) else 1.05
    if d.month == 12:
        if d.day <= 20:
            return 1.8
        if d.day <= 24:
            return 1.1
        if d.day == 25:
            return 0.4
        return 1.7  # Boxing Day sales
    if d.month == 1:
        return 1.5 if d.day <= 14 else 0.85
    if d.month == 2:
        return 0.85
    if d.month in (7, 8):
        return 0.95
    return 1.0


def category_season(slug: str, d: date) -> float:
    """How much more (or less) a category is wanted on day ``d`` than on average."""
    m = d.month
    if slug in ("outdoor", "garden"):
        return 1.9 if 4 <= m <= 8 else (0.45 if m in (11, 12, 1, 2) else 1.0)
    if slug == "outerwear":
        return 1.8 if m in (10, 11, 12, 1) else (0.45 if 5 <= m <= 8 else 1.0)
    if slug == "toys-games":
        return 2.3 if m in (11, 12) else 0.85
    if slug == "jewellery-watches":
        return 1.6 if m == 12 or (m == 2 and d.day <= 14) else 0.9
    if slug == "kids-clothing":
        return 2.0 if m == 8 or (m == 9 and d.day <= 7) else 0.95
    if slug == "sports":
        return 1.8 if m == 1 else 1.0
    if slug == "beauty":
        return 1.3 if m == 12 else 1.0
    return 1.0


def day_factor(d: date) -> float:
    return season_factor(d) * WEEKDAY[d.weekday()]


@dataclass(frozen=True)
class Shopper:
    customer_id: int
    favourites: tuple[str, ...]  # category slugs
    mission_rate: float  # buying missions started per ordinary day
    browse_rate: float  # aimless browsing sessions per ordinary day
    active_from: date
    churn_on: date | None  # activity all but stops from this day


@dataclass
class Purchase:
    customer_id: int
    at: datetime
    session_id: str
    product_ids: list[int]


def make_shoppers(
    rng: random.Random, customers: list[dict], start: date, anchor: date,
    loyal_ids: tuple[int, ...] = (),
) -> list[Shopper]:
    slugs = list(CATEGORY_POPULARITY)
    weights = list(CATEGORY_POPULARITY.values())
    shoppers = []
    for c in customers:
        n_fav = rng.choices((1, 2, 3), weights=(45, 35, 20))[0]
        favs: list[str] = []
        while len(favs) < n_fav:
            slug = rng.choices(slugs, weights)[0]
            if slug not in favs:
                favs.append(slug)
        rate = math.exp(rng.gauss(math.log(1 / 45), 0.95))
        if c["id"] in loyal_ids:
            rate = 1 / 12
        rate = min(max(rate, 1 / 600), 1 / 6)
        joined = c["created_at"].date()
        churn = None
        if c["id"] not in loyal_ids and rng.random() < 0.3:
            churn = start + timedelta(days=rng.randint(0, (anchor - start).days + 90))
        shoppers.append(Shopper(
            customer_id=c["id"], favourites=tuple(favs), mission_rate=rate,
            browse_rate=rate * rng.uniform(1.0, 3.5), active_from=max(start, joined),
            churn_on=churn,
        ))
    return shoppers


class Simulator:
    """Turns shoppers into behaviour events and purchases between ``start`` and ``anchor``."""

    def __init__(self, rng: random.Random, products: list[dict], categories: list[dict],
                 start: date, anchor: date):
        self.rng = rng
        self.start, self.anchor = start, anchor
        self.end = datetime.combine(anchor, time.min)
        slug_by_id = {c["id"]: c["slug"] for c in categories}
        self.by_cat: dict[str, list[dict]] = {}
        for p in products:
            self.by_cat.setdefault(slug_by_id[p["category_id"]], []).append(p)
        # Some products are bestsellers: a heavy-tailed weight per product.
        self.weights = {
            slug: [rng.paretovariate(1.5) for _ in items] for slug, items in self.by_cat.items()
        }
        self.slugs = list(self.by_cat)
        self.days = [start + timedelta(days=i) for i in range((anchor - start).days)]
        self.factors = [day_factor(d) for d in self.days]
        self.cat_season = {
            slug: [category_season(slug, d) for d in self.days] for slug in self.slugs
        }
        self.events: list[dict] = []
        self.purchases: list[Purchase] = []

    # -- helpers -------------------------------------------------------------------------------
    def _moment(self, d: date) -> datetime:
        hour = self.rng.choices(HOURS, HOUR_WEIGHTS)[0]
        return datetime.combine(d, time(hour, self.rng.randint(0, 59), self.rng.randint(0, 59)))

    def _session_id(self) -> str:
        return f"s{self.rng.getrandbits(64):016x}"

    def _pick_category(self, shopper: Shopper, day_index: int, loyal: float) -> str:
        if self.rng.random() < loyal:
            pool = list(shopper.favourites)
        else:
            pool = self.slugs
        weights = [
            self.cat_season[s][day_index] * (CATEGORY_POPULARITY.get(s, 1.0)) for s in pool
        ]
        return self.rng.choices(pool, weights)[0]

    def pick_products(self, slug: str, k: int) -> list[dict]:
        return self.rng.choices(self.by_cat[slug], self.weights[slug], k=k)

    def _event(self, kind: str, customer_id: int, product: dict, at: datetime, session: str,
               quantity: int | None = None) -> None:
        self.events.append({
            "customer_id": customer_id, "product_id": product["id"], "event_type": kind,
            "occurred_at": at, "session_id": session, "quantity": quantity, "amount": None,
        })

    def _views(self, customer_id: int, slug: str, at: datetime, n: int) -> tuple[list, datetime]:
        session = self._session_id()
        seen = self.pick_products(slug, n)
        for product in seen:
            self._event("view", customer_id, product, at, session)
            at += timedelta(seconds=self.rng.randint(20, 240))
        return seen, at

    # -- simulation ------------------------------------------------------------------------------
    def run(self, shoppers: list[Shopper]) -> None:
        for shopper in shoppers:
            self.run_shopper(shopper)

    def run_shopper(self, shopper: Shopper) -> None:
        rng = self.rng
        first = (shopper.active_from - self.start).days
        for i in range(max(first, 0), len(self.days)):
            d = self.days[i]
            life = 0.06 if shopper.churn_on is not None and d >= shopper.churn_on else 1.0
            f = self.factors[i] * life
            if rng.random() < shopper.mission_rate * f:
                self._mission(shopper, i)
            if rng.random() < shopper.browse_rate * f:
                slug = self._pick_category(shopper, i, loyal=0.6)
                seen, at = self._views(shopper.customer_id, slug, self._moment(d),
                                       rng.randint(1, 4))
                if rng.random() < 0.08:  # an abandoned basket
                    self._event("cart", shopper.customer_id, seen[-1], at, self.events[-1][
                        "session_id"], 1)

    def _mission(self, shopper: Shopper, i: int) -> None:
        """Research sessions in one category, then a basket that usually checks out."""
        rng = self.rng
        slug = self._pick_category(shopper, i, loyal=0.8)
        day = self.days[i]
        considered: list[dict] = []
        for _ in range(rng.choices((0, 1, 2, 3), weights=(25, 35, 25, 15))[0]):
            at = self._moment(day)
            if at >= self.end:
                return
            seen, _ = self._views(shopper.customer_id, slug, at, rng.randint(1, 5))
            considered += seen
            day += timedelta(days=rng.choice((0, 1, 1, 2, 3, 5)))
        at = self._moment(day)
        if at >= self.end:
            return  # the decision falls after the anchor: only the research is history
        seen, at = self._views(shopper.customer_id, slug, at, rng.randint(1, 3))
        session = self.events[-1]["session_id"]
        pool = considered + seen
        basket = [rng.choice(pool)]
        if rng.random() < 0.25:
            basket.append(rng.choice(pool))
        if rng.random() < 0.1:
            basket += self.pick_products(rng.choice(self.slugs), 1)
        basket = list({p["id"]: p for p in basket}.values())
        for product in basket:
            at += timedelta(seconds=rng.randint(15, 120))
            self._event("cart", shopper.customer_id, product, at, session, 1)
        if rng.random() < 0.45:
            at += timedelta(seconds=rng.randint(60, 600))
            if at < self.end:
                self.purchases.append(
                    Purchase(shopper.customer_id, at, session, [p["id"] for p in basket])
                )
