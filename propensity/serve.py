"""One loaded model version and the answers it gives.

``Scorer`` scores feature rows (probability, band) and explains them by occlusion (three reasons
in plain words, ``propensity.explain``); ``Score`` / ``NoScore`` are what serving a customer
returns (``propensity.scoring.PropensityService``, which also keeps the current ``Scorer``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from propensity.explain import reason_text
from propensity.features import FEATURE_INDEX, FEATURES
from propensity.model import PropensityModel

# Why a customer gets no score (NoScore.reason).
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
    reason: str  # one of the constants above
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
        # cannot be served: KeyError, and PropensityService keeps the previous version).
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
