"""Metrics for probability scores: ranking, calibration, and what a marketer reads (lift)."""
from __future__ import annotations

import numpy as np


def top_decile(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(lift, capture) of the 10% highest scores: their positive rate over the base rate, and
    the share of all positives they hold. Ties are broken by a stable sort on the score."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    k = max(1, int(np.ceil(0.1 * n)))
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")[:k]
    base = y.mean() if n else 0.0
    hits = y[order].sum()
    lift = float((hits / k) / base) if base > 0 else float("nan")
    capture = float(hits / y.sum()) if y.sum() > 0 else float("nan")
    return lift, capture


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """Mean predicted vs observed positive rate per equal-width probability bin."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(idx, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        pred = np.bincount(idx, weights=p, minlength=bins) / count
        obs = np.bincount(idx, weights=y, minlength=bins) / count
    keep = count > 0
    return {"predicted": pred[keep].tolist(), "observed": obs[keep].tolist(),
            "count": count[keep].tolist()}


def metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """ROC-AUC, PR-AUC (average precision), log loss, Brier, top-decile lift and capture."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y).astype(int)
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    two = len(np.unique(y)) == 2
    lift, capture = top_decile(y, p)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if two else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if two else float("nan"),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "lift_top_decile": lift,
        "capture_top_decile": capture,
    }
