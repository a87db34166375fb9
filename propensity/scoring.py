"""Serving: the current model, one customer scored from the shop DB in about a millisecond, and
every customer at once.

``PropensityService(engine, registry)`` keeps, per instance, all that serving reuses between
calls: the loaded ``Scorer`` (the registry's ``current`` pointer is re-read at most every
``reload_seconds`` and a new version loaded when it changed, so a promoted or rolled-back model is
served without a restart), the compiled history statements (``history.HistoryQueries``) and the
shop-wide product counts. Nothing is kept at module level: a process makes one service per shop
DB and registry and passes it to whoever scores.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import NamedTuple

import numpy as np
import pandas as pd

from propensity.features import ProductStats, build_features, compute_features
from propensity.history import (
    HistoryQueries,
    load_catalogue_categories,
    load_events_from_db,
    load_needs_from_db,
)
from propensity.registry import Registry
from propensity.serve import (
    ANONYMOUS,
    NO_MODEL,
    TOO_LITTLE_HISTORY,
    UNAVAILABLE,
    UNKNOWN_CUSTOMER,
    NoScore,
    Score,
    Scorer,
)

logger = logging.getLogger(__name__)

# Shop-wide product buyers (ProductStats) are computed at a time and reused for calls up to this
# much later: one aggregate query every few minutes instead of one per chat turn. Popularity over
# 30- and 90-day windows barely moves in that time.
PRODUCT_STATS_MAX_AGE = dt.timedelta(minutes=10)


class _Loaded(NamedTuple):
    version: str | None  # the registry's current version when last read
    scorer: Scorer | None
    checked: float  # time.monotonic() of that read


class PropensityService:
    """Scores shoppers of one shop DB (``engine``) with the current model of ``registry``.

    Thread-safe: the model is reloaded, the statements are built and the product counts are
    refreshed under locks, each once; readers see a finished object or wait for one."""

    def __init__(self, engine, registry: Registry, *, reload_seconds: float = 1.0,
                 product_stats_max_age: dt.timedelta = PRODUCT_STATS_MAX_AGE):
        self.engine = engine
        self.registry = registry
        self.reload_seconds = reload_seconds
        self.product_stats_max_age = product_stats_max_age
        self._model_lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._queries_lock = threading.Lock()
        self._queries: HistoryQueries | None = None
        self._stats_lock = threading.Lock()
        self._stats: tuple[dt.datetime, ProductStats] | None = None

    # --- the current model

    def current(self) -> Scorer | None:
        """The scorer of the registry's current version (None when nothing is promoted).

        The pointer is re-read at most every ``reload_seconds``; a new version is loaded once and
        then served from memory. A version that fails to load (or a pointer that cannot be read)
        is logged and the previous scorer stays."""
        loaded = self._loaded
        if loaded is not None and time.monotonic() - loaded.checked < self.reload_seconds:
            return loaded.scorer
        with self._model_lock:
            loaded = self._loaded
            now = time.monotonic()
            if loaded is not None and now - loaded.checked < self.reload_seconds:
                return loaded.scorer  # another thread has just checked
            try:
                version = self.registry.current()
            except OSError:
                logger.exception("could not read the current propensity version in %s; keeping "
                                 "the previous one", self.registry.root)
                return self._keep(loaded, now)
            if loaded is not None and loaded.version == version:
                return self._keep(loaded, now)
            scorer = None
            if version is not None:
                try:
                    scorer = Scorer.load(self.registry.path(version), version,
                                         self.registry.meta(version))
                    logger.info("propensity model %s loaded", version)
                except Exception:
                    logger.exception("could not load propensity model %s; keeping the previous "
                                     "one", version)
                    if loaded is not None:
                        return self._keep(loaded, now)
            self._loaded = _Loaded(version, scorer, now)
            return scorer

    def _keep(self, loaded: _Loaded | None, now: float) -> Scorer | None:
        """Serve ``loaded`` for another ``reload_seconds`` (held: the model lock)."""
        if loaded is None:
            return None
        self._loaded = loaded._replace(checked=now)
        return loaded.scorer

    # --- the shop DB

    def _history(self) -> HistoryQueries:
        queries = self._queries
        if queries is None:
            with self._queries_lock:
                if self._queries is None:
                    self._queries = HistoryQueries(self.engine)
                queries = self._queries
        return queries

    def warm(self) -> None:
        """Load the current model and build the history statements now, so that the first chat
        turn does not pay for them. A store that is down is logged; the next call tries again."""
        self.current()
        try:
            self._history()
        except Exception:
            logger.exception("propensity history statements could not be built; the next call "
                             "tries again")

    def product_stats(self, now: dt.datetime) -> ProductStats:
        """Shop-wide distinct buyers per product at ``now`` (one aggregate query), reused for calls
        up to ``product_stats_max_age`` later; never computed from anything at or after ``now``."""
        def fresh(cached):
            return (cached is not None
                    and dt.timedelta(0) <= now - cached[0] < self.product_stats_max_age)

        cached = self._stats
        if fresh(cached):
            return cached[1]
        with self._stats_lock:
            cached = self._stats
            if fresh(cached):
                return cached[1]
            stats = self._history().product_stats(now)
            self._stats = (now, stats)
            return stats

    def customer_features(self, customer_id: int, now: dt.datetime) -> tuple[np.ndarray, bool]:
        """One customer's feature row at ``now`` and whether the history is enough to score:
        one query for the history, shop-wide product buyers from ``product_stats``."""
        events, needs = self._history().customer(customer_id, now)
        stats = self.product_stats(now) if (events.product >= 0).any() else None
        X, eligible = compute_features(events, int(np.datetime64(now, "ns").view(np.int64)),
                                       needs=needs, products=stats)
        return X[0], bool(eligible[0])

    # --- scoring

    def score_customer(self, customer_id, now: dt.datetime | None = None) -> Score | NoScore:
        """Score a verified shopper from the shop DB at ``now`` (default: now, UTC). Never raises
        for bad ids, a missing model or a store that is down: those are a ``NoScore``."""
        if customer_id is None or str(customer_id).strip() == "":
            return NoScore(None, ANONYMOUS)
        try:
            cid = int(str(customer_id).strip())
        except ValueError:
            return NoScore(str(customer_id)[:64], UNKNOWN_CUSTOMER)
        if cid <= 0 or cid > 2**63 - 1:
            return NoScore(str(cid)[:64], UNKNOWN_CUSTOMER)
        scorer = self.current()
        if scorer is None:
            return NoScore(str(cid), NO_MODEL)
        now = now or dt.datetime.utcnow()
        try:
            x, eligible = self.customer_features(cid, now)
        except Exception:  # the chat must go on if the store is down
            logger.exception("propensity features for customer %s failed", cid)
            return NoScore(str(cid), UNAVAILABLE, scorer.version)
        if not eligible:
            return NoScore(str(cid), TOO_LITTLE_HISTORY, scorer.version)
        return scorer.score_row(str(cid), x)

    def score_all(self, now: dt.datetime | None = None) -> pd.DataFrame:
        """Every customer of the shop DB with enough history at ``now`` (default: now, UTC):
        customer_id, probability, band. Raises RuntimeError when no model is current."""
        scorer = self.current()
        if scorer is None:
            raise RuntimeError(
                "no current propensity model; train one with `python -m propensity train`")
        now = now or dt.datetime.utcnow()
        return score_events(load_events_from_db(self.engine, until=now), now, scorer=scorer,
                            needs=load_needs_from_db(self.engine, until=now),
                            catalogue=load_catalogue_categories(self.engine))


def score_events(events: pd.DataFrame, now, *, scorer: Scorer, needs: pd.DataFrame | None = None,
                 catalogue: set[str] | None = None) -> pd.DataFrame:
    """Batch: every customer with enough history in an events frame (customer_id, probability,
    band)."""
    feats = build_features(events, now, horizon_days=scorer.model.horizon_days, needs=needs,
                           catalogue=catalogue)
    return scorer.score_frame(feats).reset_index()
