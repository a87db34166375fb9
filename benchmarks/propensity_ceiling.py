"""How far apart can the MLP and the RFM logistic regression get on one cutoff of Online Retail?

A diagnostic, not the benchmark: it reads the labels of the cutoff it scores. Each model is
fitted on that cutoff's own customers, five-fold cross-fitted (every customer scored by models
that did not see it), so there is no drift between training and scoring; ``own+train`` adds the
benchmark's training rows too. The margin it finds is what these customer histories carry at
that cutoff, whatever the training protocol.

    .venv/bin/python benchmarks/propensity_ceiling.py [--cutoffs 2011-11-01] [--split-seeds 0,1]

Two fits per cutoff and split seed:
- ``own``: only the cutoff's own customers (the training folds);
- ``own+train``: the same folds plus every row of the benchmark's training cutoffs for that
  cutoff (`propensity_retail.py`: 2011-06..09 for the test cutoff, the validation setups' for
  2011-09-01 and 2011-10-01), so the models have the benchmark's data and the cutoff's own labels.

Models, all fitted on the same folds:
- ``mlp``: the propensity MLP (our 71 features, `MLPConfig` defaults, early stopping on a
  seeded 20% of the cutoff's training folds);
- ``mlp+weeks`` (``own`` only): the same MLP with 104 more inputs: purchase days and spend in
  each of the last 52 weeks (the raw history the features summarise);
- ``logreg``: the RFM logistic regression; ``gbm``: gradient boosting on the 71 features.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WEEKS = 52


def weekly_history(events: pd.DataFrame, cutoff: pd.Timestamp, ids: pd.Index) -> np.ndarray:
    """(customers, 2 * WEEKS): purchase days, then spend, in each week before ``cutoff``
    (the last column of each block also takes everything older)."""
    e = events[(events["timestamp"] < cutoff) & (events["event_type"] == "purchase")]
    week = ((cutoff - e["timestamp"]).dt.days // 7).clip(upper=WEEKS - 1)
    key = [e["customer_id"].astype(str), week]
    days = e["timestamp"].dt.normalize().groupby(key).nunique().unstack(fill_value=0)
    spend = e["amount"].groupby(key).sum().unstack(fill_value=0)
    cols = range(WEEKS)
    return np.hstack([t.reindex(index=ids, columns=cols, fill_value=0).to_numpy(float)
                      for t in (days, spend)])


def cross_fitted(X, Xw, y, split_seed: int, extra=None) -> dict[str, float]:
    """ROC-AUC of each model on ``y``, five-fold cross-fitted. ``Xw``: more MLP inputs (or
    None); ``extra``: (X, y) rows added to every fold's fitting rows (never to early stopping)."""
    from sklearn.model_selection import StratifiedKFold

    from propensity.baselines import baseline_models
    from propensity.model import MLPConfig, export_keras, fit_keras_mlp, roc_auc

    X_extra, y_extra = extra if extra is not None else (X[:0], y[:0])
    inputs = {"mlp": X} if Xw is None else {"mlp": X, "mlp+weeks": np.hstack([X, Xw])}
    scores = {k: np.zeros(len(y)) for k in (*inputs, "logreg", "gbm")}
    folds = StratifiedKFold(5, shuffle=True, random_state=split_seed).split(X, y)
    for fold, (tr, te) in enumerate(folds):
        es = np.random.default_rng(split_seed * 100 + fold).random(len(tr)) < 0.2
        fit, stop = tr[~es], tr[es]
        for name, A in inputs.items():
            A_fit = np.vstack([X_extra, X[fit]]) if name == "mlp" else A[fit]
            y_fit = np.concatenate([y_extra, y[fit]]) if name == "mlp" else y[fit]
            used = np.flatnonzero(np.ptp(A_fit, axis=0) > 0)
            net, _ = fit_keras_mlp(A_fit[:, used], y_fit, A[stop][:, used], y[stop],
                                   MLPConfig())
            scores[name][te] = export_keras(net).logit(A[te][:, used])
        for name, est in baseline_models().items():
            if name in scores:
                est.fit(np.vstack([X_extra, X[tr]]), np.concatenate([y_extra, y[tr]]))
                scores[name][te] = est.predict_proba(X[te])
    return {k: roc_auc(y, s) for k, s in scores.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--cutoffs", default="2011-11-01")
    ap.add_argument("--split-seeds", default="0,1")
    args = ap.parse_args(argv)

    import tempfile

    from propensity.data import convert_online_retail, read_transactions
    from propensity.features import FEATURE_NAMES, build_snapshots

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from propensity_retail import TEST_CUTOFF, TRAIN_CUTOFFS, VALIDATION

    benchmark_train = {pd.Timestamp(t): tc for t, tc in ((TEST_CUTOFF, TRAIN_CUTOFFS), *VALIDATION)}

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "online_retail.csv"
        convert_online_retail(args.datasets / "uci_online_retail" / "online_retail.csv.gz", csv)
        events = read_transactions(csv)
    cols = list(FEATURE_NAMES)
    for cutoff in (pd.Timestamp(c) for c in args.cutoffs.split(",")):
        train = [pd.Timestamp(c) for c in benchmark_train.get(cutoff, "").split(",") if c]
        snap = build_snapshots(events, train + [cutoff])
        own = snap[snap["cutoff"] == cutoff]
        old = snap[snap["cutoff"] < cutoff]
        X, y = own[cols].to_numpy(float), own["label"].to_numpy(int)
        Xw = weekly_history(events, cutoff, own.index.astype(str))
        fits = {"own": (Xw, None)}
        if len(old):
            fits["own+train"] = (None, (old[cols].to_numpy(float), old["label"].to_numpy(int)))
        for seed in (int(s) for s in args.split_seeds.split(",")):
            for fit, (more, extra) in fits.items():
                t0 = time.perf_counter()
                auc = cross_fitted(X, more, y, seed, extra)
                print(f"{cutoff.date()} {fit:9s} split seed {seed}: {len(y)} customers (+"
                      f"{0 if extra is None else len(extra[1])} training rows), positive rate "
                      f"{y.mean():.3f}; ROC-AUC "
                      + "  ".join(f"{k} {v:.4f}" for k, v in auc.items())
                      + f"; mlp - logreg {auc['mlp'] - auc['logreg']:+.4f}"
                      f" ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
