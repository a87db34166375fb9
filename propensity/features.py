"""Point-in-time customer features and labels.

For a cutoff, features use only events strictly before it; the label is "at least one purchase in
[cutoff, cutoff + horizon)". Everything is computed with numpy over integer customer codes
(bincount / reduceat / searchsorted), so building features is one pass over the events plus a
sort, for one customer (the serving path) or a million events (training) with the same code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from propensity.data import CART, PURCHASE, VIEW

NS_PER_DAY = 86_400 * 10**9
# Recency for a shopper who never bought: a long time, so it sorts with the long-lapsed.
NEVER_DAYS = 730.0
# Too little history to score: no purchase and fewer behaviour events than this.
MIN_BEHAVIOUR_EVENTS = 3
# A cart add not followed by a purchase within this many days counts as abandoned.
ABANDON_DAYS = 1.0
_TYPE_CODES = MappingProxyType({PURCHASE: 0, VIEW: 1, CART: 2})


@dataclass(frozen=True)
class Feature:
    name: str
    reason: str  # plain words; {v} is the customer's value
    log: bool = True  # log1p before normalisation (non-negative, heavy tailed)
    money: bool = False


def _f(name, reason, log=True, money=False):
    return Feature(name, reason, log, money)


FEATURES: tuple[Feature, ...] = (
    _f("days_since_last_purchase", "last bought {v:.0f} days ago"),
    _f("days_since_first_purchase", "first bought {v:.0f} days ago"),
    _f("orders_30d", "bought {v:.0f} times in the last 30 days"),
    _f("orders_60d", "bought {v:.0f} times in the last 60 days"),
    _f("orders_90d", "bought {v:.0f} times in the last 90 days"),
    _f("orders_180d", "bought {v:.0f} times in the last 6 months"),
    _f("orders_365d", "bought {v:.0f} times in the last year"),
    _f("orders_total", "bought {v:.0f} times in all"),
    _f("spend_30d", "spent {v:,.2f} in the last 30 days", money=True),
    _f("spend_90d", "spent {v:,.2f} in the last 90 days", money=True),
    _f("spend_365d", "spent {v:,.2f} in the last year", money=True),
    _f("spend_total", "spent {v:,.2f} in all", money=True),
    _f("avg_order_value", "spends {v:,.2f} per order on average", money=True),
    _f("max_order_value", "largest order was {v:,.2f}", money=True),
    _f("mean_gap_days", "usually buys every {v:.0f} days"),
    _f("gap_cv", "time between purchases varies by {v:.0%} of the usual gap", log=False),
    _f("overdue_ratio", "has gone {v:.1f} times the usual gap without buying"),
    _f("last_gap_days", "waited {v:.0f} days between the last two purchases"),
    _f("order_trend_90d", "bought {v:+.0f} times compared with the 90 days before", log=False),
    _f("spend_trend_90d", "spending changed by a factor of {v:.1f} on the 90 days before",
       log=False),
    _f("active_months_12", "bought in {v:.0f} of the last 12 months"),
    _f("orders_same_weeks_last_year", "bought {v:.0f} times in the same weeks last year"),
    _f("avg_basket_items", "buys {v:.0f} items per order on average"),
    _f("avg_basket_lines", "buys {v:.1f} different lines per order on average"),
    _f("distinct_products", "has bought {v:.0f} different products"),
    _f("distinct_categories", "has bought from {v:.0f} categories"),
    _f("days_since_first_event", "has been with the shop for {v:.0f} days"),
    # Short windows, purchase days, time decay and the customer's own rhythm (purchase days).
    _f("orders_7d", "bought {v:.0f} times in the last 7 days"),
    _f("orders_14d", "bought {v:.0f} times in the last 14 days"),
    _f("active_days_30d", "bought on {v:.0f} different days in the last 30 days"),
    _f("active_days_90d", "bought on {v:.0f} different days in the last 90 days"),
    _f("active_days_365d", "bought on {v:.0f} different days in the last year"),
    _f("active_days_total", "bought on {v:.0f} different days in all"),
    _f("active_weeks_12", "bought in {v:.0f} of the last 12 weeks"),
    _f("decayed_orders_7d", "recent buying with a 7-day half-life scores {v:.2f}"),
    _f("decayed_orders_30d", "recent buying with a 30-day half-life scores {v:.2f}"),
    _f("decayed_orders_90d", "recent buying with a 90-day half-life scores {v:.2f}"),
    _f("decayed_spend_7d", "recent spending with a 7-day half-life is {v:,.2f}", money=True),
    _f("decayed_spend_30d", "recent spending with a 30-day half-life is {v:,.2f}", money=True),
    _f("decayed_spend_90d", "recent spending with a 90-day half-life is {v:,.2f}", money=True),
    _f("days_until_due", "next purchase is due in {v:.0f} days at the usual pace", log=False),
    _f("gap_share_longer_than_now", "had {v:.0%} of past gaps longer than the current one",
       log=False),
    _f("gap_hazard_30d", "ended {v:.0%} of past gaps this long within 30 more days", log=False),
    _f("purchase_days_per_month", "buys on {v:.1f} days per month since the first purchase"),
    # The last order, and what kind of products are bought:
    # repeat buying of the same products, and when each regularly bought product is due.
    _f("last_order_value", "last order was worth {v:,.2f}", money=True),
    _f("last_order_lines", "last order had {v:.0f} different lines"),
    _f("last_order_items", "last order had {v:.0f} items"),
    _f("last_vs_avg_order_value", "last order compared with the usual order", log=False),
    _f("repeat_product_share", "bought {v:.0%} of its products again on another day", log=False),
    _f("purchase_days_per_product", "buys each product on {v:.1f} different days on average"),
    _f("last_order_repeat_share", "last order was {v:.0%} products bought before", log=False),
    _f("avg_item_price", "pays {v:,.2f} per item on average", money=True),
    _f("items_per_line", "buys {v:.0f} of each product per order line on average"),
    _f("order_value_cv", "order value varies by {v:.0%} of the usual order", log=False),
    _f("regular_products", "has {v:.0f} products bought on more than one day"),
    _f("min_product_due_days", "a regularly bought product is due in {v:.0f} days", log=False),
    _f("mean_product_due_days", "regularly bought products are due in {v:.0f} days on average",
       log=False),
    _f("share_products_due_30d", "has {v:.0%} of its regular products falling due within 30 days",
       log=False),
    _f("products_due_30d", "has {v:.0f} regular products falling due within 30 days"),
    # Point-in-time product signals from the whole shop (the customer's own purchases left out).
    _f("product_buyers_30d", "other shoppers bought these products lately", log=False),
    _f("product_buyer_trend", "these products sell to more or fewer shoppers than before",
       log=False),
    _f("share_products_bought_by_others_30d",
       "buys products that other shoppers bought in the last 30 days, {v:.0%} of them", log=False),
    _f("views_7d", "viewed {v:.0f} products in the last 7 days"),
    _f("views_30d", "viewed {v:.0f} products in the last 30 days"),
    _f("carts_7d", "added {v:.0f} items to the basket in the last 7 days"),
    _f("carts_30d", "added {v:.0f} items to the basket in the last 30 days"),
    _f("abandoned_carts_30d", "left {v:.0f} basket adds without buying in the last 30 days"),
    _f("days_since_last_view", "last browsed {v:.0f} days ago"),
    _f("needs_30d", "asked us for {v:.0f} products in the last 30 days"),
    _f("unmet_needs_30d", "asked for {v:.0f} products we could not match in the last 30 days"),
    _f("catalogue_needs_30d",
       "asked for {v:.0f} products in categories we sell in the last 30 days"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURE_INDEX = MappingProxyType({name: i for i, name in enumerate(FEATURE_NAMES)})
# The recency-frequency-monetary trio the classic baseline uses.
RFM_FEATURES = ("days_since_last_purchase", "orders_total", "spend_total")


@dataclass
class EventArrays:
    """An events frame encoded for numpy: integer customer codes and nanosecond times."""

    ids: np.ndarray  # customer id (str) per code
    cust: np.ndarray  # int64 code per event
    t_ns: np.ndarray  # int64
    amount: np.ndarray
    qty: np.ndarray
    product: np.ndarray  # int64 code, -1 when unknown
    category: np.ndarray  # int64 code, -1 when unknown
    etype: np.ndarray  # 0 purchase, 1 view, 2 cart, 3 other
    category_names: np.ndarray
    product_ids: np.ndarray | None = None  # product id (str) per product code

    @classmethod
    def from_frame(cls, events: pd.DataFrame, ids: pd.Index | None = None) -> "EventArrays":
        if ids is None:
            codes, uniques = pd.factorize(events["customer_id"], sort=False)
            ids = pd.Index(uniques)
        else:
            codes = ids.get_indexer(events["customer_id"])
        product, product_ids = pd.factorize(events["product_id"])
        category, cat_names = pd.factorize(events["category"])
        etype = events["event_type"].map(_TYPE_CODES).fillna(3).to_numpy(np.int64)
        return cls(
            ids=np.asarray(ids, dtype=object),
            cust=np.asarray(codes, dtype=np.int64),
            t_ns=events["timestamp"].to_numpy("datetime64[ns]").view(np.int64),
            amount=events["amount"].to_numpy(float),
            qty=events["quantity"].to_numpy(float),
            product=np.asarray(product, dtype=np.int64),
            category=np.asarray(category, dtype=np.int64),
            etype=etype,
            category_names=np.asarray(cat_names, dtype=object),
            product_ids=np.asarray(product_ids, dtype=object).astype(str),
        )

    def take(self, mask: np.ndarray) -> "EventArrays":
        return EventArrays(self.ids, self.cust[mask], self.t_ns[mask], self.amount[mask],
                           self.qty[mask], self.product[mask], self.category[mask],
                           self.etype[mask], self.category_names, self.product_ids)


@dataclass
class NeedArrays:
    cust: np.ndarray
    t_ns: np.ndarray
    unmet: np.ndarray  # bool
    in_catalogue: np.ndarray  # bool

    @classmethod
    def from_frame(cls, needs: pd.DataFrame | None, ids: np.ndarray,
                   catalogue: set[str] | None = None) -> "NeedArrays | None":
        if needs is None or not len(needs):
            return None
        codes = pd.Index(ids).get_indexer(needs["customer_id"].astype(str))
        keep = codes >= 0
        return cls.from_columns(
            codes[keep], needs["created_at"].to_numpy("datetime64[ns]").view(np.int64)[keep],
            needs["status"].to_numpy(object)[keep], needs["category"].to_numpy(object)[keep],
            catalogue)

    @classmethod
    def from_columns(cls, cust, t_ns, status, category,
                     catalogue: set[str] | frozenset[str] | None = None) -> "NeedArrays":
        """Needs as customer codes, times, statuses and categories (text, None or NaN when
        missing). Unmet: status "unmet" or "unmet:<reason>" (a pending need is not); in the catalogue: a category the catalogue sells, or
        without a catalogue any category at all (both in any case)."""
        sold = {c.lower() for c in catalogue} if catalogue else None
        cats = [_lower(c) for c in category]
        return cls(
            cust=np.asarray(cust, np.int64),
            t_ns=np.asarray(t_ns, np.int64),
            unmet=np.array([_is_unmet(s) for s in status], dtype=bool),
            in_catalogue=np.array([bool(c) and (sold is None or c in sold) for c in cats],
                                  dtype=bool),
        )


def _is_unmet(status) -> bool:
    text = _lower(status)
    return text == "unmet" or text.startswith("unmet:")


def _lower(value) -> str:
    """Text in lower case; "" for a missing value (None, NaN, NA)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).lower()


# Windows of the shop-wide product signals: buyers in the last 30 days, and in the 90 before.
PRODUCT_RECENT_DAYS = 30.0
PRODUCT_BEFORE_DAYS = 120.0


@dataclass
class ProductStats:
    """Distinct buyers of each product in the shop before a cutoff: in the last
    ``PRODUCT_RECENT_DAYS`` and in the ``PRODUCT_BEFORE_DAYS - PRODUCT_RECENT_DAYS`` before.

    Batch feature building computes these from the events it is given; serving one customer
    gets them from the shop DB (``history.HistoryQueries.product_stats``), since one customer's
    events cannot tell what everybody else buys."""

    ids: pd.Index  # product id (str)
    buyers_recent: np.ndarray
    buyers_before: np.ndarray
    cutoff_ns: int | None = None
    _lookup: dict | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_events(cls, ev: "EventArrays", cutoff_ns: int) -> "ProductStats":
        m = (ev.etype == 0) & (ev.t_ns < cutoff_ns) & (ev.product >= 0)
        recent, before = _product_buyers(ev.cust[m], ev.product[m],
                                         (cutoff_ns - ev.t_ns[m]) / NS_PER_DAY,
                                         len(ev.product_ids) if ev.product_ids is not None
                                         else int(ev.product.max(initial=-1)) + 1)
        ids = ev.product_ids if ev.product_ids is not None else np.arange(len(recent)).astype(str)
        return cls(pd.Index(ids), recent, before, cutoff_ns)

    def positions(self, product_ids) -> np.ndarray:
        """Index of each product id in ``ids`` (-1 when unknown); a dict, built once, is much
        cheaper than ``Index.get_indexer`` for the few products of one customer."""
        if self._lookup is None:
            self._lookup = {str(p): i for i, p in enumerate(self.ids)}
        get = self._lookup.get
        return np.fromiter((get(str(p), -1) for p in product_ids), dtype=np.int64,
                           count=len(product_ids))


def _product_buyers(cust, prod, age, n_products):
    """Distinct buyers per product code in the recent window (age <= PRODUCT_RECENT_DAYS) and
    the earlier one (PRODUCT_RECENT_DAYS < age <= PRODUCT_BEFORE_DAYS)."""
    m = int(cust.max(initial=0)) + 1
    out = []
    for w in (age <= PRODUCT_RECENT_DAYS,
              (age > PRODUCT_RECENT_DAYS) & (age <= PRODUCT_BEFORE_DAYS)):
        pairs = np.unique(prod[w] * m + cust[w])
        out.append(_count(pairs // m, n_products))
    return out[0], out[1]


def _count(codes, n, weights=None):
    return np.bincount(codes, weights=weights, minlength=n).astype(float)


def _starts(change: np.ndarray) -> np.ndarray:
    """Start index of each run, given ``change[i]`` = "row i+1 starts a new run"."""
    return np.flatnonzero(np.concatenate(([True], change)))


def _reduce_at(ufunc, out: np.ndarray, codes: np.ndarray, values: np.ndarray,
               sorted_codes: bool = False) -> None:
    """``ufunc.at(out, codes, values)``, faster: one customer (serving) takes a plain reduction,
    codes sorted by customer a ``reduceat`` over the runs (``ufunc.at`` is slow in numpy 1.23)."""
    if not len(values):
        return
    if len(out) == 1:
        out[0] = ufunc(out[0], ufunc.reduce(values))
    elif sorted_codes:
        starts = _starts(codes[1:] != codes[:-1])
        at = codes[starts]
        out[at] = ufunc(out[at], ufunc.reduceat(values, starts))
    else:
        ufunc.at(out, codes, values)


def compute_features(ev: EventArrays, cutoff_ns: int, *, horizon_days: int = 30,
                     needs: NeedArrays | None = None,
                     products: ProductStats | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix (one row per customer code) and a mask of customers with enough history.

    Only events with ``t_ns < cutoff_ns`` are read, so an event at or after the cutoff can never
    change a feature. ``products``: shop-wide product buyers at the cutoff; computed from ``ev``
    when not given (batch), given by the caller when ``ev`` holds one customer (serving).
    """
    n = len(ev.ids)
    X = np.zeros((n, len(FEATURES)), dtype=float)
    col = FEATURE_INDEX
    before = ev.t_ns < cutoff_ns
    ev = ev.take(before)
    age = (cutoff_ns - ev.t_ns) / NS_PER_DAY  # days before the cutoff, > 0

    # --- purchases grouped into occasions (same customer, same timestamp)
    p = ev.etype == 0
    pc, pt, pa, pq, page = ev.cust[p], ev.t_ns[p], ev.amount[p], ev.qty[p], age[p]
    order = np.lexsort((pt, pc))
    pc, pt, pa, pq, page = pc[order], pt[order], pa[order], pq[order], page[order]
    pprod, pcat = ev.product[p][order], ev.category[p][order]
    if len(pc):
        starts = _starts((pc[1:] != pc[:-1]) | (pt[1:] != pt[:-1]))
        oc = pc[starts]
        oage = page[starts]
        oamt = np.add.reduceat(pa, starts)
        oqty = np.add.reduceat(np.nan_to_num(pq, nan=0.0), starts)
        olines = np.diff(np.append(starts, len(pc))).astype(float)
    else:
        oc = np.zeros(0, np.int64)
        oage = oamt = oqty = olines = np.zeros(0)
    n_orders = _count(oc, n)
    has = n_orders > 0
    safe_orders = np.maximum(n_orders, 1)

    last_age = np.full(n, NEVER_DAYS)
    first_age = np.zeros(n)
    if len(oc):
        # Orders are sorted by time within customer: last occasion is the youngest.
        firsts = _starts(oc[1:] != oc[:-1])
        ends = np.append(firsts[1:] - 1, len(oc) - 1)
        last_age[oc[ends]] = oage[ends]
        first_age[oc[firsts]] = oage[firsts]
    X[:, col["days_since_last_purchase"]] = last_age
    X[:, col["days_since_first_purchase"]] = first_age
    for w in (30, 60, 90, 180, 365):
        X[:, col[f"orders_{w}d"]] = _count(oc, n, oage <= w)
    X[:, col["orders_total"]] = n_orders
    for w in (30, 90, 365):
        X[:, col[f"spend_{w}d"]] = _count(oc, n, oamt * (oage <= w))
    spend_total = _count(oc, n, oamt)
    X[:, col["spend_total"]] = spend_total
    X[:, col["avg_order_value"]] = spend_total / safe_orders
    max_val = np.zeros(n)
    _reduce_at(np.maximum, max_val, oc, oamt, sorted_codes=True)
    X[:, col["max_order_value"]] = max_val

    # --- intervals between purchase occasions
    if len(oc) > 1:
        same = oc[1:] == oc[:-1]
        gaps = (oage[:-1] - oage[1:])[same]
        gc = oc[1:][same]
        n_gaps = _count(gc, n)
        gap_sum = _count(gc, n, gaps)
        gap_sq = _count(gc, n, gaps * gaps)
        last_gap = np.zeros(n)
        last_gap[gc] = gaps  # later gaps overwrite earlier ones: the last gap remains
    else:
        n_gaps = gap_sum = gap_sq = last_gap = np.zeros(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_gap = np.where(n_gaps > 0, gap_sum / np.maximum(n_gaps, 1), first_age)
        var = np.where(n_gaps > 1, gap_sq / np.maximum(n_gaps, 1) - mean_gap**2, 0.0)
        cv = np.where(mean_gap > 0, np.sqrt(np.maximum(var, 0.0)) / np.maximum(mean_gap, 1e-9), 0.0)
    mean_gap = np.where(has, mean_gap, NEVER_DAYS)
    X[:, col["mean_gap_days"]] = mean_gap
    X[:, col["gap_cv"]] = np.clip(cv, 0.0, 10.0)
    X[:, col["overdue_ratio"]] = np.where(has, last_age / np.maximum(mean_gap, 1.0), 0.0)
    X[:, col["last_gap_days"]] = last_gap

    prev_90 = _count(oc, n, (oage > 90) & (oage <= 180))
    X[:, col["order_trend_90d"]] = X[:, col["orders_90d"]] - prev_90
    spend_prev_90 = _count(oc, n, oamt * ((oage > 90) & (oage <= 180)))
    X[:, col["spend_trend_90d"]] = np.log1p(X[:, col["spend_90d"]]) - np.log1p(spend_prev_90)
    # Distinct 30-day buckets with a purchase in the last 360 days: how regular the shopper is.
    bucket = np.floor(oage / 30.0).astype(np.int64)
    recent = bucket < 12
    if recent.any():
        keys = np.unique(oc[recent] * 12 + bucket[recent])
        X[:, col["active_months_12"]] = _count(keys // 12, n)
    lo, hi = 365.0 - horizon_days, 365.0
    X[:, col["orders_same_weeks_last_year"]] = _count(oc, n, (oage > lo) & (oage <= hi))
    has_qty = ~np.isnan(pq)
    if has_qty.any():
        X[:, col["avg_basket_items"]] = _count(oc, n, oqty) / safe_orders
    X[:, col["avg_basket_lines"]] = _count(oc, n, olines) / safe_orders
    for name, codes in (("distinct_products", pprod), ("distinct_categories", pcat)):
        known = codes >= 0
        if known.any():
            m = int(codes.max()) + 1
            keys = np.unique(pc[known] * m + codes[known])
            X[:, col[name]] = _count(keys // m, n)

    _purchase_day_features(X, oc, oage, oamt, last_age, first_age, has, n)
    _order_and_product_features(X, ev, cutoff_ns, n, oc, oamt, oqty, olines, pc, pt, pprod, page,
                                products)

    # --- behaviour events
    first_event = np.zeros(n)
    _reduce_at(np.maximum, first_event, ev.cust, age)
    X[:, col["days_since_first_event"]] = first_event
    v = ev.etype == 1
    c = ev.etype == 2
    X[:, col["views_7d"]] = _count(ev.cust[v], n, age[v] <= 7)
    X[:, col["views_30d"]] = _count(ev.cust[v], n, age[v] <= 30)
    X[:, col["carts_7d"]] = _count(ev.cust[c], n, age[c] <= 7)
    X[:, col["carts_30d"]] = _count(ev.cust[c], n, age[c] <= 30)
    if c.any():
        # Next purchase occasion at or after each cart add, same customer (searchsorted on a
        # (customer, -age) key; occasions are sorted by customer then time).
        cc, cage = ev.cust[c], age[c]
        okey = oc.astype(float) * 1e6 - oage
        ckey = cc.astype(float) * 1e6 - cage
        pos = np.searchsorted(okey, ckey, side="left")
        nxt_ok = pos < len(okey)
        pos_c = np.minimum(pos, max(len(okey) - 1, 0))
        same_c = nxt_ok & (oc[pos_c] == cc) if len(okey) else np.zeros(len(cc), bool)
        bought_soon = same_c & ((cage - oage[pos_c]) < ABANDON_DAYS) if len(okey) else same_c
        X[:, col["abandoned_carts_30d"]] = _count(cc, n, (~bought_soon) & (cage <= 30))
    last_view = np.full(n, np.inf)
    if v.any():
        _reduce_at(np.minimum, last_view, ev.cust[v], age[v])
    X[:, col["days_since_last_view"]] = np.minimum(last_view, NEVER_DAYS)

    # --- captured needs (zero when the shop has no needs log)
    if needs is not None and len(needs.cust):
        nage = (cutoff_ns - needs.t_ns) / NS_PER_DAY
        recent = (nage > 0) & (nage <= 30)
        X[:, col["needs_30d"]] = _count(needs.cust, n, recent)
        X[:, col["unmet_needs_30d"]] = _count(needs.cust, n, recent & needs.unmet)
        X[:, col["catalogue_needs_30d"]] = _count(needs.cust, n, recent & needs.in_catalogue)

    behaviour = _count(ev.cust[ev.etype != 0], n)
    eligible = has | (behaviour >= MIN_BEHAVIOUR_EVENTS)
    return X, eligible


def _purchase_day_features(X, oc, oage, oamt, last_age, first_age, has, n) -> None:
    """Short windows, distinct purchase days, exponentially decayed counts/spend, and the
    customer's rhythm on purchase days: when the next purchase is due at the usual pace, and of
    the past gaps longer than the current one, the share that ended within 30 more days."""
    col = FEATURE_INDEX
    for w in (7, 14):
        X[:, col[f"orders_{w}d"]] = _count(oc, n, oage <= w)
    for w in (7, 30, 90):
        decay = np.exp2(-oage / w)  # half-life w days
        X[:, col[f"decayed_orders_{w}d"]] = _count(oc, n, decay)
        X[:, col[f"decayed_spend_{w}d"]] = _count(oc, n, oamt * decay)
    week = np.floor(oage / 7.0).astype(np.int64)
    r = week < 12
    if r.any():
        X[:, col["active_weeks_12"]] = _count(np.unique(oc[r] * 12 + week[r]) // 12, n)
    if not len(oc):
        X[:, col["days_until_due"]] = -NEVER_DAYS
        X[:, col["gap_hazard_30d"]] = 0.5  # as the smoothing below gives a customer without gaps
        return
    # Distinct purchase days per customer, sorted by customer then days ago (youngest first).
    day = np.floor(oage).astype(np.int64)
    span = int(day.max()) + 1
    keys = np.unique(oc * span + day)
    kc, kd = keys // span, (keys % span).astype(float)
    for w in (30, 90, 365):
        X[:, col[f"active_days_{w}d"]] = _count(kc, n, kd < w)
    days_total = _count(kc, n)
    X[:, col["active_days_total"]] = days_total
    X[:, col["purchase_days_per_month"]] = days_total * 30.0 / np.maximum(first_age, 30.0)
    since_last = np.floor(np.where(has, last_age, 0.0))
    same = kc[1:] == kc[:-1]
    gaps = (kd[1:] - kd[:-1])[same]
    gc = kc[1:][same]
    n_gaps = _count(gc, n)
    mean_gap = _count(gc, n, gaps) / np.maximum(n_gaps, 1)
    # One purchase day only: due "a year ago" (nothing tells the pace); never bought: long ago.
    X[:, col["days_until_due"]] = np.where(
        n_gaps > 0, mean_gap - since_last, np.where(has, -since_last - 365.0, -NEVER_DAYS))
    now = since_last[gc]
    longer = gaps > now
    ended_soon = longer & (gaps <= now + 30.0)
    n_longer = _count(gc, n, longer)
    X[:, col["gap_share_longer_than_now"]] = n_longer / np.maximum(n_gaps, 1)
    # Smoothed towards 0.5 so a customer with no such gap is not certain either way.
    X[:, col["gap_hazard_30d"]] = (_count(gc, n, ended_soon) + 0.5) / (n_longer + 1.0)


def _order_and_product_features(X, ev, cutoff_ns, n, oc, oamt, oqty, olines, pc, pt, pprod, page,
                                products) -> None:
    """The last order; repeat buying of the same products and when each regularly bought product
    is due at the customer's own pace for it; how much the shop as a whole buys those products
    now (other customers only)."""
    col = FEATURE_INDEX
    X[:, col["min_product_due_days"]] = -NEVER_DAYS
    X[:, col["mean_product_due_days"]] = -NEVER_DAYS
    if not len(oc):
        return
    ends = np.append(_starts(oc[1:] != oc[:-1])[1:] - 1, len(oc) - 1)
    last_c = oc[ends]
    n_orders = _count(oc, n)
    spend = _count(oc, n, oamt)
    items = _count(oc, n, oqty)
    lines = _count(oc, n, olines)
    avg = spend / np.maximum(n_orders, 1)
    X[last_c, col["last_order_value"]] = oamt[ends]
    X[last_c, col["last_order_lines"]] = olines[ends]
    X[last_c, col["last_order_items"]] = oqty[ends]
    X[last_c, col["last_vs_avg_order_value"]] = np.log1p(oamt[ends]) - np.log1p(avg[last_c])
    X[:, col["avg_item_price"]] = np.where(items > 0, spend / np.maximum(items, 1e-9), 0.0)
    X[:, col["items_per_line"]] = items / np.maximum(lines, 1)
    sq = _count(oc, n, oamt * oamt) / np.maximum(n_orders, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = np.where(avg > 0, np.sqrt(np.maximum(sq - avg * avg, 0.0)) / np.maximum(avg, 1e-9), 0)
    X[:, col["order_value_cv"]] = np.clip(cv, 0.0, 10.0)

    known = pprod >= 0
    if not known.any():
        return
    lc, lp, lage, lt = pc[known], pprod[known], page[known], pt[known]
    n_prod = int(lp.max()) + 1
    day = np.floor(lage).astype(np.int64)
    span = int(day.max()) + 1
    # Distinct (customer, product, purchase day), then per (customer, product) pair: how many
    # days, the latest and the earliest day (days before the cutoff).
    keys = np.unique((lc * n_prod + lp) * span + day)
    pair, kday = keys // span, keys % span
    starts = _starts(pair[1:] != pair[:-1])
    pairs = pair[starts]
    days = np.diff(np.append(starts, len(pair))).astype(float)
    youngest = kday[starts].astype(float)
    oldest = kday[np.append(starts[1:] - 1, len(pair) - 1)].astype(float)
    p_cust, p_prod = pairs // n_prod, pairs % n_prod
    n_pairs = _count(p_cust, n)
    safe = np.maximum(n_pairs, 1)
    X[:, col["repeat_product_share"]] = _count(p_cust, n, days > 1) / safe
    X[:, col["purchase_days_per_product"]] = _count(p_cust, n, days) / safe
    # Lines of the last order whose product the customer had bought on an earlier day.
    last_t = np.full(n, np.iinfo(np.int64).min)
    _reduce_at(np.maximum, last_t, lc, lt, sorted_codes=True)
    in_last = lt == last_t[lc]
    pos = np.searchsorted(pairs, lc[in_last] * n_prod + lp[in_last])
    repeat = oldest[pos] > day[in_last]
    n_last = _count(lc[in_last], n)
    X[:, col["last_order_repeat_share"]] = _count(lc[in_last], n, repeat) / np.maximum(n_last, 1)
    # Regularly bought products (two or more days): due = usual gap for it - days since bought.
    reg = days > 1
    due = (oldest - youngest) / np.maximum(days - 1, 1) - youngest
    rc, rdue = p_cust[reg], due[reg]
    n_reg = _count(rc, n)
    X[:, col["regular_products"]] = n_reg
    min_due = np.full(n, np.inf)
    _reduce_at(np.minimum, min_due, rc, rdue, sorted_codes=True)
    X[:, col["min_product_due_days"]] = np.where(n_reg > 0, min_due, -NEVER_DAYS)
    X[:, col["mean_product_due_days"]] = np.where(
        n_reg > 0, _count(rc, n, rdue) / np.maximum(n_reg, 1), -NEVER_DAYS)
    soon = _count(rc, n, rdue <= 30.0)
    X[:, col["products_due_30d"]] = soon
    X[:, col["share_products_due_30d"]] = soon / np.maximum(n_reg, 1)

    # Shop-wide buyers of each product, minus this customer's own purchases of it.
    if products is None:
        products = ProductStats.from_events(ev, cutoff_ns)
        si = p_prod
    elif ev.product_ids is not None and len(products.ids):
        si = products.positions(ev.product_ids[:n_prod])[p_prod]
    else:
        si = np.full(len(p_prod), -1)
    # Index -1 (a product the shop-wide counts do not know) picks the appended 0.
    recent = np.append(products.buyers_recent, 0.0)[si]
    before = np.append(products.buyers_before, 0.0)[si]
    pk = lc * n_prod + lp
    own_recent = np.isin(pairs, pk[lage <= PRODUCT_RECENT_DAYS])
    own_before = np.isin(pairs, pk[(lage > PRODUCT_RECENT_DAYS) & (lage <= PRODUCT_BEFORE_DAYS)])
    others_recent = np.maximum(recent - (own_recent & (si >= 0)), 0.0)
    others_before = np.maximum(before - (own_before & (si >= 0)), 0.0)
    hot = np.log1p(others_recent)
    X[:, col["product_buyers_30d"]] = _count(p_cust, n, hot) / safe
    X[:, col["product_buyer_trend"]] = _count(
        p_cust, n, hot - np.log1p(others_before * PRODUCT_RECENT_DAYS
                                  / (PRODUCT_BEFORE_DAYS - PRODUCT_RECENT_DAYS))) / safe
    X[:, col["share_products_bought_by_others_30d"]] = _count(p_cust, n, others_recent > 0) / safe


def compute_labels(ev: EventArrays, cutoff_ns: int, horizon_days: int) -> np.ndarray:
    """1 for customers with a purchase in [cutoff, cutoff + horizon), else 0."""
    end = cutoff_ns + horizon_days * NS_PER_DAY
    m = (ev.etype == 0) & (ev.t_ns >= cutoff_ns) & (ev.t_ns < end)
    return (np.bincount(ev.cust[m], minlength=len(ev.ids)) > 0).astype(np.int8)


def _ns(ts) -> int:
    return int(pd.Timestamp(ts).value)


def build_features(events: pd.DataFrame, cutoff, *, horizon_days: int = 30,
                   needs: pd.DataFrame | None = None, catalogue: set[str] | None = None,
                   eligible_only: bool = True) -> pd.DataFrame:
    """Features of every customer at ``cutoff`` (index: customer_id, columns: FEATURE_NAMES)."""
    ev = EventArrays.from_frame(events)
    na = NeedArrays.from_frame(needs, ev.ids, catalogue)
    X, eligible = compute_features(ev, _ns(cutoff), horizon_days=horizon_days, needs=na)
    seen = np.bincount(ev.cust[ev.t_ns < _ns(cutoff)], minlength=len(ev.ids)) > 0
    keep = seen & eligible if eligible_only else seen
    return pd.DataFrame(X[keep], index=pd.Index(ev.ids[keep], name="customer_id"),
                        columns=list(FEATURE_NAMES))


def build_snapshots(events: pd.DataFrame, cutoffs, *, horizon_days: int = 30,
                    needs: pd.DataFrame | None = None,
                    catalogue: set[str] | None = None) -> pd.DataFrame:
    """Stacked (features, label) rows of eligible customers at each cutoff.

    Columns: FEATURE_NAMES + ``label`` + ``cutoff``; index: customer_id.
    """
    ev = EventArrays.from_frame(events)
    na = NeedArrays.from_frame(needs, ev.ids, catalogue)
    frames = []
    for cutoff in cutoffs:
        cns = _ns(cutoff)
        X, eligible = compute_features(ev, cns, horizon_days=horizon_days, needs=na)
        seen = np.bincount(ev.cust[ev.t_ns < cns], minlength=len(ev.ids)) > 0
        keep = seen & eligible
        y = compute_labels(ev, cns, horizon_days)
        df = pd.DataFrame(X[keep], index=pd.Index(ev.ids[keep], name="customer_id"),
                          columns=list(FEATURE_NAMES))
        df["label"] = y[keep]
        df["cutoff"] = pd.Timestamp(cutoff)
        frames.append(df)
    if not frames:
        raise ValueError("no cutoffs given")
    return pd.concat(frames)


def data_end(events: pd.DataFrame) -> pd.Timestamp:
    return pd.Timestamp(events["timestamp"].max())
