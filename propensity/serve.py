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
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from propensity.features import (
    FEATURE_INDEX,
    FEATURES,
    NEVER_DAYS,
    EventArrays,
    NeedArrays,
    build_features,
    compute_features,
)
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


_ZERO_PHRASES = {
    "bought": "has not bought",
    "viewed": "has not viewed products",
    "added": "has not added items to the basket",
    "asked": "has not asked us for products",
    "left": "has not left basket adds",
}


def _plural(n: float, one: str, many: str) -> str:
    return f"{n:.0f} {one if round(n) == 1 else many}"


def _special_reason(name: str, v: float) -> str | None:
    if name == "order_trend_90d":
        if v > 0:
            return f"bought {_plural(v, 'time', 'times')} more in the last 90 days than in the 90 before"
        if v < 0:
            return f"bought {_plural(-v, 'time', 'times')} fewer in the last 90 days than in the 90 before"
        return "bought as often in the last 90 days as in the 90 before"
    if name == "spend_trend_90d":
        if v > 0.05:
            return "spent more in the last 90 days than in the 90 before"
        if v < -0.05:
            return "spent less in the last 90 days than in the 90 before"
        return "spent about the same in the last 90 days as in the 90 before"
    if name == "gap_cv":
        return "buys at regular intervals" if v < 0.5 else "buys at irregular intervals"
    if name in ("days_since_last_purchase", "mean_gap_days") and v >= NEVER_DAYS:
        return "has never bought"
    if name == "days_since_last_view" and v >= NEVER_DAYS:
        return "has not browsed the shop recently"
    if name.startswith("spend") and v == 0:
        return "has not spent anything " + FEATURES[FEATURE_INDEX[name]].reason.split(" ", 2)[2]
    return None


def reason_text(feature_index: int, value: float) -> str:
    """The plain-words sentence for one feature value ("bought 3 times in the last 60 days")."""
    feat = FEATURES[feature_index]
    v = float(value)
    special = _special_reason(feat.name, v)
    if special is not None:
        return special
    text = feat.reason.format(v=v)
    if v == 0 and "{v:.0f}" in feat.reason:
        verb = feat.reason.split(" ", 1)[0]
        if verb in _ZERO_PHRASES and " in " in feat.reason:
            return _ZERO_PHRASES[verb] + " in " + feat.reason.split(" in ", 1)[1].replace("{v:.0f} ", "")
    text = re.sub(r"\b1 times\b", "once", text)
    text = re.sub(r"\b1 days\b", "1 day", text)
    return re.sub(r"\b1 (products|items|categories)\b",
                  lambda m: "1 " + {"products": "product", "items": "item",
                                    "categories": "category"}[m.group(1)], text)


class Scorer:
    """One loaded model version: scores feature rows, explains them by occlusion."""

    def __init__(self, model: PropensityModel, version: str, meta: dict | None = None):
        self.model = model
        self.version = version
        self.meta = meta or {}
        self._baseline = np.asarray(model.baseline_values, dtype=float)
        self._used = np.asarray(model.used, dtype=int)

    @classmethod
    def load(cls, folder: str | Path, version: str | None = None, meta: dict | None = None):
        folder = Path(folder)
        return cls(PropensityModel.load(folder), version or folder.name, meta)

    def probability(self, x: np.ndarray) -> float:
        return float(self.model.predict_proba(x.reshape(1, -1))[0])

    def reasons(self, x: np.ndarray, k: int = 3) -> tuple[Reason, ...]:
        """Top-k features by occlusion: the log-odds change when a feature is set to the
        training median instead of this customer's value; all candidates in one matrix product."""
        cand = self._used[x[self._used] != self._baseline[self._used]]
        if not len(cand):
            return ()
        rows = np.repeat(x.reshape(1, -1), len(cand) + 1, axis=0)
        rows[np.arange(1, len(cand) + 1), cand] = self._baseline[cand]
        z = self.model.logit(rows)
        effects = z[0] - z[1:]
        top = np.argsort(-np.abs(effects), kind="stable")[:k]
        return tuple(
            Reason(FEATURES[cand[i]].name, float(x[cand[i]]), float(effects[i]),
                   reason_text(int(cand[i]), x[cand[i]]))
            for i in top if abs(effects[i]) > 1e-6
        )

    def score_row(self, customer_id: str, x: np.ndarray) -> Score:
        p = self.probability(x)
        return Score(str(customer_id), p, self.model.band(p), self.version, self.reasons(x))

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

class _Queries:
    """Statements for one customer's history, built once per engine (compiled-cache friendly)."""

    def __init__(self, engine):
        from sqlalchemy import Float, MetaData, Table, bindparam, cast, inspect, literal, select

        from bot.store.models import Event, Order, OrderLine, Product

        cid, until = bindparam("cid"), bindparam("until")
        self.orders = (
            select(Order.placed_at, OrderLine.quantity * cast(OrderLine.unit_price, Float),
                   OrderLine.quantity,
                   OrderLine.product_id, Product.category_id)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.customer_id == cid, Order.status != "cancelled", Order.placed_at < until)
        )
        self.events = (
            select(Event.occurred_at, cast(Event.amount, Float), Event.quantity, Event.product_id,
                   Product.category_id, Event.event_type)
            .outerjoin(Product, Product.id == Event.product_id)
            .where(Event.customer_id == cid, Event.event_type != "purchase",
                   Event.occurred_at < until)
        )
        self.needs = None
        if inspect(engine).has_table("needs"):
            t = Table("needs", MetaData(), autoload_with=engine)
            if {"customer_id", "created_at"} <= set(t.c.keys()):
                cols = [t.c.created_at]
                cols.append(t.c.status if "status" in t.c else None)
                cols.append(t.c.category if "category" in t.c else None)
                cols = [c if c is not None else literal(None) for c in cols]
                self.needs = select(*cols).where(t.c.customer_id == cid, t.c.created_at < until)
        from propensity.data import load_catalogue_categories

        self.catalogue = load_catalogue_categories(engine)


_queries: dict[int, _Queries] = {}


def _engine(engine_or_url):
    if isinstance(engine_or_url, str):
        from bot.store.db import get_engine

        return get_engine(engine_or_url)
    return engine_or_url


def _ns(values) -> np.ndarray:
    return np.array(values, dtype="datetime64[ns]").reshape(-1).view(np.int64)


def customer_features(engine, customer_id: int, now: dt.datetime) -> tuple[np.ndarray, bool]:
    """One customer's feature row at ``now`` and whether the history is enough to score."""
    q = _queries.get(id(engine))
    if q is None:
        q = _queries[id(engine)] = _Queries(engine)
    params = {"cid": customer_id, "until": now}
    with engine.connect() as conn:
        orders = conn.execute(q.orders, params).fetchall()
        events = conn.execute(q.events, params).fetchall()
        needs = conn.execute(q.needs, params).fetchall() if q.needs is not None else []
    n = len(orders) + len(events)
    t = _ns([r[0] for r in orders] + [r[0] for r in events])
    amount = np.array([float(r[1] or 0) for r in orders] + [float(r[1] or 0) for r in events])
    qty = np.array([np.nan if r[2] is None else float(r[2]) for r in orders + events], dtype=float)
    prod = np.array([-1 if r[3] is None else int(r[3]) for r in orders + events], dtype=np.int64)
    cat = np.array([-1 if r[4] is None else int(r[4]) for r in orders + events], dtype=np.int64)
    codes = {"purchase": 0, "view": 1, "cart": 2}
    etype = np.array([0] * len(orders) + [codes.get(r[5], 3) for r in events], dtype=np.int64)
    ev = EventArrays(np.array([str(customer_id)], dtype=object), np.zeros(n, np.int64), t,
                     amount, qty, prod, cat, etype, np.array([], dtype=object))
    na = None
    if needs:
        na = NeedArrays(
            cust=np.zeros(len(needs), np.int64),
            t_ns=_ns([r[0] for r in needs]),
            unmet=np.array([str(r[1] or "").lower() == "unmet" for r in needs]),
            in_catalogue=np.array([bool(r[2]) and (not q.catalogue or str(r[2]).lower() in q.catalogue)
                                   for r in needs]),
        )
    cutoff_ns = int(np.datetime64(now, "ns").view(np.int64))
    X, eligible = compute_features(ev, cutoff_ns, needs=na)
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
