"""The baselines an analyst builds in an afternoon, trained on the same snapshots as the MLP."""
from __future__ import annotations

import numpy as np

from propensity.features import FEATURE_INDEX, RFM_FEATURES
from propensity.model import signed_log1p


class ColumnsLogReg:
    """Logistic regression on signed-log, standardised columns picked by name."""

    def __init__(self, columns: tuple[str, ...], C: float = 1.0):
        self.columns = columns
        self.C = C

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ColumnsLogReg":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.idx_ = [FEATURE_INDEX[c] for c in self.columns]
        self.pipe_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000))
        self.pipe_.fit(signed_log1p(X[:, self.idx_]), y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.pipe_.predict_proba(signed_log1p(X[:, self.idx_]))[:, 1]


class GradientBoosting:
    """scikit-learn histogram gradient boosting on every feature, library defaults."""

    def __init__(self, seed: int = 7):
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> "GradientBoosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        with _one_openmp_thread():
            self.model_ = HistGradientBoostingClassifier(random_state=self.seed).fit(X, y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        with _one_openmp_thread():
            return self.model_.predict_proba(X)[:, 1]


def _one_openmp_thread():
    """The same model, fitted on one OpenMP thread: on a shared 2-core machine two spinning
    OpenMP threads made the fit 2-3x slower (1.2-1.7 s vs 0.5 s measured), never faster."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def baseline_models(seed: int = 7) -> dict:
    return {
        "recency": ColumnsLogReg(("days_since_last_purchase",)),
        "logreg": ColumnsLogReg(RFM_FEATURES),
        "gbm": GradientBoosting(seed),
    }
