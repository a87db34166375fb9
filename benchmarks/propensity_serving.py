"""Serving speed of the current propensity model (train one first: `python -m propensity train`).

1. one customer, in process, from a feature row: probability + band + three reasons (Scorer.score_row)
2. one customer end to end from the shop DB: query + features + score + reasons
   (PropensityService.score_customer); the shop-wide product counts it reuses for 10 minutes are
   timed apart (one aggregate query)
3. batch: 100,000 synthetic customers (about 1M events): features + scores (score_events)

    .venv/bin/python benchmarks/propensity_serving.py [--calls 3000] [--customers 100000]
        [--registry models/propensity] [--database-url URL] [--json]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.settings import Settings  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from propensity.features import FEATURE_NAMES, build_features  # noqa: E402
from propensity.history import load_events_from_db  # noqa: E402
from propensity.registry import Registry  # noqa: E402
from propensity.scoring import PropensityService, score_events  # noqa: E402
from propensity.serve import Score  # noqa: E402


def pct(samples, q):
    return float(np.percentile(np.asarray(samples) * 1000, q))


def synthetic_log(n_customers: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    counts = rng.poisson(8, n_customers) + 1
    cust = np.repeat(np.arange(n_customers), counts)
    n = len(cust)
    t = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")
    etype = rng.choice(np.array(["purchase", "view", "cart"], dtype=object), n, p=[0.4, 0.45, 0.15])
    return pd.DataFrame({"customer_id": cust.astype(str), "timestamp": t,
                         "amount": np.where(etype == "purchase", rng.gamma(2, 25, n), 0.0),
                         "quantity": rng.integers(1, 4, n).astype(float),
                         "product_id": rng.integers(0, 500, n).astype(str),
                         "category": rng.integers(0, 20, n).astype(str), "event_type": etype})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--registry", default=None, help="registry folder (default models/propensity)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    engine = make_engine(args.database_url or Settings.from_env().database_url)
    try:
        return run(args, engine)
    finally:
        engine.dispose()


def run(args, engine) -> int:
    service = PropensityService(engine, Registry(args.registry))
    service.warm()
    scorer = service.current()
    if scorer is None:
        print("no current model: run `python -m propensity train` first", file=sys.stderr)
        return 2
    events = load_events_from_db(engine)
    now = (events["timestamp"].max() + pd.Timedelta(seconds=1)).to_pydatetime()
    feats = build_features(events, now)
    ids = feats.index.to_numpy()
    rows = feats[list(FEATURE_NAMES)].to_numpy(float)
    out = {"model_version": scorer.version}

    for i in range(200):  # warm up
        scorer.score_row(ids[i % len(ids)], rows[i % len(rows)])
    lat = []
    for i in range(args.calls):
        t0 = time.perf_counter()
        scorer.score_row(ids[i % len(ids)], rows[i % len(rows)])
        lat.append(time.perf_counter() - t0)
    out["in_process_ms"] = {"p50": round(pct(lat, 50), 3), "p95": round(pct(lat, 95), 3)}

    for i in range(50):
        service.score_customer(ids[i % len(ids)], now)
    lat, scored = [], 0
    for i in range(min(args.calls, 1000)):
        t0 = time.perf_counter()
        res = service.score_customer(ids[i % len(ids)], now)
        lat.append(time.perf_counter() - t0)
        scored += isinstance(res, Score)
    out["end_to_end_db_ms"] = {"p50": round(pct(lat, 50), 3), "p95": round(pct(lat, 95), 3),
                               "backend": engine.dialect.name, "scored": scored}
    refresh = []
    uncached = PropensityService(engine, service.registry, product_stats_max_age=dt.timedelta(0))
    uncached.warm()
    for _ in range(20):
        t0 = time.perf_counter()
        uncached.product_stats(now)
        refresh.append(time.perf_counter() - t0)
    out["product_stats_refresh_ms"] = {"p50": round(pct(refresh, 50), 3),
                                       "max": round(pct(refresh, 100), 3)}

    log = synthetic_log(args.customers)
    t0 = time.perf_counter()
    scores = score_events(log, dt.datetime(2026, 1, 1), scorer=scorer)
    batch = time.perf_counter() - t0
    t1 = time.perf_counter()
    scorer.model.predict_proba(np.tile(rows, (args.customers // len(rows) + 1, 1))[:args.customers])
    out["batch"] = {"customers": int(len(scores)), "events": int(len(log)),
                    "seconds_features_and_scores": round(batch, 3),
                    "seconds_scores_only": round(time.perf_counter() - t1, 3)}
    if args.json:
        print(json.dumps(out))
    else:
        print(json.dumps(out, indent=2))
        print(f"target single-customer p95 < 2 ms: in process {out['in_process_ms']['p95']:.3f} ms, "
              f"end to end from the DB {out['end_to_end_db_ms']['p95']:.3f} ms")
        print(f"target batch of {args.customers:,} < 5 s: {batch:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
