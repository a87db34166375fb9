"""Serving: load the current model once, score one customer in about a millisecond, score many.

Used by the action server: ``score_customer(customer_id, engine_or_url=...)`` returns a
``Score`` (probability, band, model version, three reasons in plain words) or a ``NoScore``
(anonymous, too little history, no model, store unavailable). ``current_scorer()`` re-reads the
registry's ``current`` pointer at most once a second and reloads when it changed, so a promoted
model is picked up without restarting the process.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from propensity.features import (
    FEATURE_INDEX,
    FEATURES,
    MIN_BEHAVIOUR_EVENTS,
    PRODUCT_BEFORE_DAYS,
    PRODUCT_RECENT_DAYS,
    EventArrays,
    NeedArrays,
    ProductStats,
    build_features,
    compute_features,
)
from propensity.explain import reason_text
from propensity.model import PropensityModel
from propensity.registry import Registry

logger = logging.getLogger(__name__)

NO_MODEL = "no_model"
ANONYMOUS = "anonymous"
TOO_LITTLE_HISTORY = "too_little_history"
UNKNOWN_CUSTOMER = "unknown_customer"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Reason:
    feature: str
    value: float
    effect: float  # change in log-odds this feature causes versus a typical customer
    text: str


@dataclass(frozen=True)
class Score:
    customer_id: str
    probability: float
    band: str  # low / medium / high
    model_version: str
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    @property
    def reason_texts(self) -> list[str]:
        return [r.text for r in self.reasons]


@dataclass(frozen=True)
class NoScore:
    customer_id: str | None
    reason: str  # one of the module constants
    model_version: str | None = None

    band = None
    probability = None


class Scorer:
    """One loaded model version: scores feature rows, explains them by occlusion."""

    def __init__(self, model: PropensityModel, version: str, meta: dict | None = None):
        self.model = model
        self.version = version
        self.meta = meta or {}
        # Feature rows come in today's FEATURE_NAMES order; a model trained when the list was
        # different reads its own columns by name (a feature it needs that no longer exists
        # cannot be served: KeyError, and current_scorer keeps the previous version).
        cols = [FEATURE_INDEX[name] for name in model.feature_names]
        self._cols = None if cols == list(range(len(FEATURE_INDEX))) else np.asarray(cols)
        self._baseline = np.asarray(model.baseline_values, dtype=float)
        self._used = np.asarray(model.used, dtype=int)
        self._feature_index = np.asarray(cols, dtype=int)  # model column -> FEATURES index

    @classmethod
    def load(cls, folder: str | Path, version: str | None = None, meta: dict | None = None):
        folder = Path(folder)
        return cls(PropensityModel.load(folder), version or folder.name, meta)

    def _model_row(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return x if self._cols is None else x[self._cols]

    def probability(self, x: np.ndarray) -> float:
        return float(self.model.predict_proba(self._model_row(x).reshape(1, -1))[0])

    def reasons(self, x: np.ndarray, k: int = 3) -> tuple[Reason, ...]:
        """Top-k features by occlusion: the log-odds change when a feature is set to the
        training median instead of this customer's value; all candidates in one matrix product."""
        return self._explain(self._model_row(x), k)[1]

    def _explain(self, x: np.ndarray, k: int) -> tuple[float, tuple[Reason, ...]]:
        """(logit of x, top-k reasons) from one forward pass: row 0 is x itself."""
        cand = self._used[x[self._used] != self._baseline[self._used]]
        z = self.model.occluded_logits(x, cand, self._baseline[cand])
        effects = z[0] - z[1:]
        top = np.argsort(-np.abs(effects), kind="stable")[:k]
        feat = self._feature_index[cand]
        return float(z[0]), tuple(
            Reason(FEATURES[feat[i]].name, float(x[cand[i]]), float(effects[i]),
                   reason_text(int(feat[i]), x[cand[i]]))
            for i in top if abs(effects[i]) > 1e-6
        )

    def score_row(self, customer_id: str, x: np.ndarray) -> Score:
        z, reasons = self._explain(self._model_row(x), 3)
        p = float(self.model.probability_from_logit(z))
        return Score(str(customer_id), p, self.model.band(p), self.version, reasons)

    def score_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        """Vectorised scores for a features frame (index customer_id)."""
        p = self.model.predict_proba(features[self.model.feature_names].to_numpy(float))
        bands = np.where(p >= self.model.bands["high"], "high",
                         np.where(p < self.model.bands["low"], "low", "medium"))
        return pd.DataFrame({"probability": p, "band": bands}, index=features.index)


# --- the current model, reloaded when the registry's pointer changes ------------------------

_cache_lock = threading.Lock()
_cache: dict[str, dict] = {}


def current_scorer(registry: Registry | str | Path | None = None, *,
                   max_age_seconds: float = 1.0) -> Scorer | None:
    """The scorer for the registry's current version (None when nothing is promoted).

    The pointer file is re-read at most every ``max_age_seconds``; a new version is loaded once
    and then served from memory.
    """
    reg = registry if isinstance(registry, Registry) else Registry(registry)
    key = str(reg.root)
    now = time.monotonic()
    entry = _cache.get(key)
    if entry is not None and now - entry["checked"] < max_age_seconds:
        return entry["scorer"]
    with _cache_lock:
        entry = _cache.get(key)
        version = reg.current()
        if entry is not None and entry["version"] == version:
            entry["checked"] = now
            return entry["scorer"]
        scorer = None
        if version is not None:
            try:
                scorer = Scorer.load(reg.path(version), version, reg.meta(version))
                logger.info("propensity model %s loaded", version)
            except Exception:
                logger.exception("could not load propensity model %s; keeping the previous one",
                                 version)
                if entry is not None:
                    entry["checked"] = now
                    return entry["scorer"]
        _cache[key] = {"version": version, "scorer": scorer, "checked": now}
        return scorer


# --- one customer from the shop database ------------------------------------------------------

# Kinds in the one history query: purchase / view / cart / other behaviour (the feature codes),
# and a captured need.
_NEED_KIND = 9
# Shop-wide product buyers (ProductStats) are computed at a time and reused for calls up to this
# much later: one aggregate query every few minutes instead of one per chat turn. Popularity over
# 30- and 90-day windows barely moves in that time.
PRODUCT_STATS_MAX_AGE = dt.timedelta(minutes=10)
# The longest window any behaviour feature counts events in (views/carts/abandoned carts, 30d).
BEHAVIOUR_RECENT = dt.timedelta(days=30)


class _Queries:
    """One statement for one customer's history (order lines, behaviour events and, when the
    table exists, captured needs) as a UNION ALL, built once per engine. Timestamps come back
    as the stored text on SQLite (numpy parses it faster than SQLAlchemy's per-row datetime
    processing).

    Behaviour events older than ``BEHAVIOUR_RECENT`` feed only three things: the first event's
    age, the last view's age, and whether there are at least ``MIN_BEHAVIOUR_EVENTS``. So of
    those only the oldest event, the latest view and the latest few events are fetched: the
    features are the same as from every row (a test compares them), for a fraction of the rows
    of a long-time browser."""

    def __init__(self, engine):
        from sqlalchemy import (
            Float,
            Integer,
            MetaData,
            String,
            Table,
            bindparam,
            case,
            cast,
            inspect,
            literal,
            null,
            select,
            type_coerce,
            union,
            union_all,
        )

        from bot.store.models import Event, Order, OrderLine, Product

        cid, until = bindparam("cid"), bindparam("until")

        def when(col):
            return type_coerce(col, String) if engine.dialect.name == "sqlite" else col

        none_int, none_txt = cast(null(), Integer), cast(null(), String)
        orders = (
            select(literal(0, Integer).label("kind"), when(Order.placed_at).label("t"),
                   (OrderLine.quantity * cast(OrderLine.unit_price, Float)).label("amount"),
                   cast(OrderLine.quantity, Float).label("qty"),
                   OrderLine.product_id.label("product"), Product.category_id.label("category"),
                   none_txt.label("status"), none_txt.label("need_category"))
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.customer_id == cid, Order.status != "cancelled", Order.placed_at < until)
        )
        # Behaviour features read only the type and time of views and cart adds (amounts,
        # products and categories are purchase features): no join, no unused columns.
        recent_from = bindparam("behaviour_from")
        kind = case((Event.event_type == "view", 1), (Event.event_type == "cart", 2), else_=3)
        mine = (Event.customer_id == cid, Event.event_type != "purchase", Event.occurred_at < until)
        base = select(Event.id, kind.label("kind"), Event.occurred_at.label("t")).where(*mine)
        older = Event.occurred_at < recent_from

        def first(stmt, n):  # LIMIT inside a UNION needs its own subquery
            sub = stmt.limit(n).subquery()
            return select(sub.c.id, sub.c.kind, sub.c.t)

        behaviour = union(
            base.where(Event.occurred_at >= recent_from),
            first(base.order_by(Event.occurred_at), 1),
            first(base.where(older, Event.event_type == "view")
                  .order_by(Event.occurred_at.desc()), 1),
            first(base.where(older).order_by(Event.occurred_at.desc()), MIN_BEHAVIOUR_EVENTS),
        ).subquery()
        none_float = cast(null(), Float)
        events = select(behaviour.c.kind, when(behaviour.c.t), none_float, none_float, none_int,
                        none_int, none_txt, none_txt)
        parts = [orders, events]
        if inspect(engine).has_table("needs"):
            t = Table("needs", MetaData(), autoload_with=engine)
            if {"customer_id", "created_at"} <= set(t.c.keys()):
                parts.append(
                    select(literal(_NEED_KIND, Integer), when(t.c.created_at),
                           cast(null(), Float), cast(null(), Float), none_int, none_int,
                           cast(t.c.status, String) if "status" in t.c else none_txt,
                           cast(t.c.category, String) if "category" in t.c else none_txt)
                    .where(t.c.customer_id == cid, t.c.created_at < until))
        self.history = _RawStatement(engine, union_all(*parts))
        from propensity.data import load_catalogue_categories

        self.catalogue = load_catalogue_categories(engine)
        p_from, r_from = bindparam("before_from"), bindparam("recent_from")
        buyer = Order.customer_id
        self.product_buyers = (
            select(OrderLine.product_id,
                   func_count_distinct(case((Order.placed_at >= r_from, buyer))),
                   func_count_distinct(case((Order.placed_at < r_from, buyer))))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.status != "cancelled", Order.placed_at >= p_from,
                   Order.placed_at < until)
            .group_by(OrderLine.product_id)
        )


class _RawStatement:
    """A statement compiled once for the engine's dialect and run on a pooled DBAPI connection:
    plain tuples back, without SQLAlchemy's per-row Result machinery (a third of the query's
    cost for a few hundred rows). Bound values go through the column types' bind processors,
    exactly as SQLAlchemy would send them."""

    def __init__(self, engine, stmt):
        from sqlalchemy import DateTime

        self.engine = engine
        self.compiled = stmt.compile(dialect=engine.dialect)
        self.sql = str(self.compiled)
        self._datetime = DateTime().bind_processor(engine.dialect) or (lambda v: v)

    def fetch(self, **params) -> list[tuple]:
        values = {k: self._datetime(v) if isinstance(v, dt.datetime) else v
                  for k, v in params.items()}
        bound = self.compiled.construct_params(values)
        if self.compiled.positional:
            bound = [bound[name] for name in self.compiled.positiontup]
        raw = self.engine.raw_connection()  # from the engine's pool
        try:
            cur = raw.cursor()
            try:
                cur.execute(self.sql, bound)
                return cur.fetchall()
            finally:
                cur.close()
        finally:
            raw.close()  # back to the pool


def func_count_distinct(expr):
    from sqlalchemy import distinct, func

    return func.count(distinct(expr))


_queries: dict[int, _Queries] = {}
_product_stats: dict[int, tuple[dt.datetime, ProductStats]] = {}


def _engine(engine_or_url):
    if isinstance(engine_or_url, str):
        from bot.store.db import get_engine

        return get_engine(engine_or_url)
    return engine_or_url


def _queries_for(engine) -> _Queries:
    q = _queries.get(id(engine))
    if q is None:
        q = _queries[id(engine)] = _Queries(engine)
    return q


def product_stats(engine, now: dt.datetime, *, max_age: dt.timedelta = PRODUCT_STATS_MAX_AGE
                  ) -> ProductStats:
    """Shop-wide distinct buyers per product at ``now`` (one aggregate query), reused for calls
    up to ``max_age`` later; never computed from anything at or after ``now``."""
    cached = _product_stats.get(id(engine))
    if cached is not None and dt.timedelta(0) <= now - cached[0] < max_age:
        return cached[1]
    q = _queries_for(engine)
    params = {"until": now, "recent_from": now - dt.timedelta(days=PRODUCT_RECENT_DAYS),
              "before_from": now - dt.timedelta(days=PRODUCT_BEFORE_DAYS)}
    with engine.connect() as conn:
        rows = conn.execute(q.product_buyers, params).all()
    ids = pd.Index([str(int(r[0])) for r in rows])
    stats = ProductStats(ids, np.array([r[1] for r in rows], dtype=float),
                         np.array([r[2] for r in rows], dtype=float),
                         int(np.datetime64(now, "ns").view(np.int64)))
    _product_stats[id(engine)] = (now, stats)
    return stats


def customer_features(engine, customer_id: int, now: dt.datetime) -> tuple[np.ndarray, bool]:
    """One customer's feature row at ``now`` and whether the history is enough to score:
    one query for the history, shop-wide product buyers from ``product_stats``."""
    q = _queries_for(engine)
    rows = q.history.fetch(cid=customer_id, until=now, behaviour_from=now - BEHAVIOUR_RECENT)
    cols = list(zip(*rows)) if rows else [()] * 8
    kind = np.array(cols[0], dtype=np.int64)
    is_need = kind == _NEED_KIND
    ev_rows = ~is_need
    t = np.array(cols[1], dtype="datetime64[ns]").view(np.int64)
    amount = np.nan_to_num(np.array(cols[2], dtype=float)[ev_rows], nan=0.0)
    qty = np.array(cols[3], dtype=float)[ev_rows]
    prod = np.array(cols[4], dtype=float)[ev_rows]
    cat = np.array(cols[5], dtype=float)[ev_rows]
    known = ~np.isnan(prod)
    product_ids, codes = np.unique(prod[known].astype(np.int64), return_inverse=True)
    product = np.full(len(prod), -1, dtype=np.int64)
    product[known] = codes
    n = int(ev_rows.sum())
    ev = EventArrays(np.array([str(customer_id)], dtype=object), np.zeros(n, np.int64),
                     t[ev_rows], amount, qty, product,
                     np.where(np.isnan(cat), -1, cat).astype(np.int64), kind[ev_rows],
                     np.array([], dtype=object), product_ids.astype(str))
    na = None
    if is_need.any():
        status = [str(s or "").lower() for s, k in zip(cols[6], kind) if k == _NEED_KIND]
        cats = [c for c, k in zip(cols[7], kind) if k == _NEED_KIND]
        na = NeedArrays(
            cust=np.zeros(len(status), np.int64), t_ns=t[is_need],
            unmet=np.array([s == "unmet" for s in status]),
            in_catalogue=np.array([bool(c) and (not q.catalogue or str(c).lower() in q.catalogue)
                                   for c in cats]),
        )
    cutoff_ns = int(np.datetime64(now, "ns").view(np.int64))
    stats = product_stats(engine, now) if known.any() else None
    X, eligible = compute_features(ev, cutoff_ns, needs=na, products=stats)
    return X[0], bool(eligible[0])


def score_customer(customer_id, *, engine_or_url, now: dt.datetime | None = None,
                   scorer: Scorer | None = None, registry: Registry | str | Path | None = None
                   ) -> Score | NoScore:
    """Score a verified shopper from the shop DB. Never raises for bad ids or a missing model."""
    if customer_id is None or str(customer_id).strip() == "":
        return NoScore(None, ANONYMOUS)
    try:
        cid = int(str(customer_id).strip())
    except ValueError:
        return NoScore(str(customer_id)[:64], UNKNOWN_CUSTOMER)
    if cid <= 0 or cid > 2**63 - 1:
        return NoScore(str(cid)[:64], UNKNOWN_CUSTOMER)
    scorer = scorer or current_scorer(registry)
    if scorer is None:
        return NoScore(str(cid), NO_MODEL)
    now = now or dt.datetime.utcnow()
    try:
        x, eligible = customer_features(_engine(engine_or_url), cid, now)
    except Exception:  # the chat must go on if the store is down
        logger.exception("propensity features for customer %s failed", cid)
        return NoScore(str(cid), UNAVAILABLE, scorer.version)
    if not eligible:
        return NoScore(str(cid), TOO_LITTLE_HISTORY, scorer.version)
    return scorer.score_row(str(cid), x)


def score_events(events: pd.DataFrame, now, *, scorer: Scorer, needs: pd.DataFrame | None = None,
                 catalogue: set[str] | None = None) -> pd.DataFrame:
    """Batch: every customer with enough history in an events frame (customer_id, probability,
    band)."""
    feats = build_features(events, now, horizon_days=scorer.model.horizon_days, needs=needs,
                           catalogue=catalogue)
    return scorer.score_frame(feats).reset_index()


def score_all(*, engine_or_url, now: dt.datetime | None = None,
              scorer: Scorer | None = None) -> pd.DataFrame:
    """Batch-score every customer in the shop DB with enough history."""
    from propensity.data import load_catalogue_categories, load_events_from_db, load_needs_from_db

    scorer = scorer or current_scorer()
    if scorer is None:
        raise RuntimeError("no current propensity model; train one with `python -m propensity train`")
    engine = _engine(engine_or_url)
    now = now or dt.datetime.utcnow()
    events = load_events_from_db(engine, until=now)
    needs = load_needs_from_db(engine, until=now)
    return score_events(events, now, scorer=scorer, needs=needs,
                        catalogue=load_catalogue_categories(engine))
