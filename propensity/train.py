"""Training: snapshots -> MLP (early stopping and calibration on the latest training cutoff)
-> baselines on the same snapshots -> metrics on a later test cutoff."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from propensity.baselines import baseline_models
from propensity.evaluate import metrics
from propensity.features import FEATURE_NAMES, build_snapshots
from propensity.model import MLPConfig, PropensityModel, export_keras, fit_keras_mlp, fit_platt

logger = logging.getLogger(__name__)


def monthly_cutoffs(first, last) -> list[pd.Timestamp]:
    """Month starts from ``first`` to ``last`` inclusive."""
    return list(pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="MS"))


def default_train_cutoffs(test_cutoff, horizon_days: int = 30, n: int = 4) -> list[pd.Timestamp]:
    """``n`` monthly cutoffs whose label windows all close before the test cutoff."""
    test = pd.Timestamp(test_cutoff)
    last = (test - pd.Timedelta(days=horizon_days)).to_period("M").to_timestamp()
    if last + pd.Timedelta(days=horizon_days) > test:
        last = (last - pd.DateOffset(months=1))
    return [last - pd.DateOffset(months=k) for k in range(n - 1, -1, -1)]


def check_cutoffs(train_cutoffs, test_cutoff, horizon_days: int) -> None:
    test = pd.Timestamp(test_cutoff)
    if not train_cutoffs:
        raise ValueError("at least one training cutoff is needed")
    for c in train_cutoffs:
        if pd.Timestamp(c) + pd.Timedelta(days=horizon_days) > test:
            raise ValueError(
                f"training cutoff {pd.Timestamp(c).date()}: its label window "
                f"(+{horizon_days} days) runs past the test cutoff {test.date()}")


@dataclass
class Experiment:
    model: PropensityModel
    baselines: dict
    metrics: dict  # model name -> metric dict on the test cutoff
    test_y: np.ndarray
    test_scores: dict  # model name -> probabilities on the test cutoff
    rows: dict
    positive_rate: float
    seconds: dict
    train_cutoffs: list
    test_cutoff: pd.Timestamp
    horizon_days: int
    mlp_info: dict = field(default_factory=dict)


def fit_propensity_mlp(snap: pd.DataFrame, config: MLPConfig | None = None,
                       horizon_days: int = 30) -> tuple[PropensityModel, dict]:
    """Fit the MLP on every cutoff but the latest, early-stop and calibrate on the latest."""
    config = config or MLPConfig()
    cutoffs = sorted(snap["cutoff"].unique())
    X_all = snap[list(FEATURE_NAMES)].to_numpy(float)
    y_all = snap["label"].to_numpy(int)
    if len(cutoffs) >= 2:
        is_val = (snap["cutoff"] == cutoffs[-1]).to_numpy()
    else:
        # One cutoff only (tiny shops): hold out a seeded 25% of customers instead.
        rng = np.random.default_rng(config.seed)
        is_val = rng.random(len(snap)) < 0.25
    X_tr, y_tr, X_val, y_val = X_all[~is_val], y_all[~is_val], X_all[is_val], y_all[is_val]
    if len(np.unique(y_tr)) < 2 or len(np.unique(y_val)) < 2:
        raise ValueError("training and validation slices both need buyers and non-buyers")
    # Features constant on the training rows carry no signal the net could learn; dropping them
    # keeps an unseen value at serving time from feeding untrained weights.
    used = [i for i in range(X_all.shape[1]) if np.ptp(X_tr[:, i]) > 0]
    keras_model, info = fit_keras_mlp(X_tr[:, used], y_tr, X_val[:, used], y_val, config)
    mlp = export_keras(keras_model)
    a, b = fit_platt(mlp.logit(X_val[:, used]), y_val)
    model = PropensityModel(
        feature_names=list(FEATURE_NAMES), used=used, mlp=mlp, platt_a=a, platt_b=b,
        baseline_values=np.median(X_tr, axis=0).tolist(), horizon_days=horizon_days,
    )
    info.update({"train_rows": int(len(y_tr)), "validation_rows": int(len(y_val)),
                 "validation_cutoff": str(pd.Timestamp(cutoffs[-1]).date()),
                 "features_used": [FEATURE_NAMES[i] for i in used]})
    return model, info


def run_experiment(events: pd.DataFrame, train_cutoffs, test_cutoff, *, horizon_days: int = 30,
                   needs: pd.DataFrame | None = None, catalogue: set[str] | None = None,
                   config: MLPConfig | None = None, with_baselines: bool = True) -> Experiment:
    """Build snapshots, fit the MLP and baselines on the training cutoffs, score the test cutoff."""
    train_cutoffs = sorted(pd.Timestamp(c) for c in train_cutoffs)
    test_cutoff = pd.Timestamp(test_cutoff)
    check_cutoffs(train_cutoffs, test_cutoff, horizon_days)
    end = events["timestamp"].max()
    if pd.notna(end) and end < test_cutoff + pd.Timedelta(days=horizon_days - 1):
        logger.warning("the log ends %s, before the test label window closes; test labels are "
                       "incomplete", end)

    t0 = time.perf_counter()
    snap = build_snapshots(events, train_cutoffs + [test_cutoff], horizon_days=horizon_days,
                           needs=needs, catalogue=catalogue)
    t_features = time.perf_counter() - t0
    train = snap[snap["cutoff"] < test_cutoff]
    test = snap[snap["cutoff"] == test_cutoff]
    if not len(test):
        raise ValueError(f"no customer has history before the test cutoff {test_cutoff.date()}")

    t1 = time.perf_counter()
    model, info = fit_propensity_mlp(train, config, horizon_days)
    X_tr = train[list(FEATURE_NAMES)].to_numpy(float)
    y_tr = train["label"].to_numpy(int)
    fitted = {}
    if with_baselines:
        for name, est in baseline_models().items():
            fitted[name] = est.fit(X_tr, y_tr)
    t_train = time.perf_counter() - t1

    X_te = test[list(FEATURE_NAMES)].to_numpy(float)
    y_te = test["label"].to_numpy(int)
    scores = {"mlp": model.predict_proba(X_te)}
    for name, est in fitted.items():
        scores[name] = est.predict_proba(X_te)
    results = {name: metrics(y_te, p) for name, p in scores.items()}
    return Experiment(
        model=model, baselines=fitted, metrics=results, test_y=y_te, test_scores=scores,
        rows={"train": int(len(train)), "test": int(len(test))},
        positive_rate=float(y_te.mean()),
        seconds={"features": round(t_features, 3), "train": round(t_train, 3)},
        train_cutoffs=train_cutoffs, test_cutoff=test_cutoff, horizon_days=horizon_days,
        mlp_info=info,
    )


def benchmark_json(exp: Experiment) -> dict:
    """The benchmark contract object (../shared/DESIGN.md); extra metric keys sit beside the required ones."""
    order = ["mlp", "logreg", "gbm", "recency"]
    return {
        "rows": exp.rows,
        "positive_rate": round(exp.positive_rate, 6),
        "models": {k: {m: round(v, 6) for m, v in exp.metrics[k].items()}
                   for k in order if k in exp.metrics},
        "seconds": exp.seconds,
    }


def rolling_cutoffs(events: pd.DataFrame, horizon_days: int = 30, n_train: int = 4
                    ) -> tuple[list[pd.Timestamp], pd.Timestamp]:
    """Cutoffs for a log without explicit dates: the test cutoff is the last day whose label
    window is fully observed, and ``n_train`` training cutoffs step back one horizon each."""
    end = pd.Timestamp(events["timestamp"].max()).normalize() + pd.Timedelta(days=1)
    h = pd.Timedelta(days=horizon_days)
    test = end - h
    return [test - h * k for k in range(n_train, 0, -1)], test


def evaluate_model(model: PropensityModel, events: pd.DataFrame, test_cutoff, *,
                   horizon_days: int = 30, needs: pd.DataFrame | None = None,
                   catalogue: set[str] | None = None) -> dict:
    """Metrics of a trained model on one cutoff of a log."""
    snap = build_snapshots(events, [test_cutoff], horizon_days=horizon_days, needs=needs,
                           catalogue=catalogue)
    # By name: a model trained when the feature list was different reads its own columns.
    return metrics(snap["label"].to_numpy(int),
                   model.predict_proba(snap[list(model.feature_names)].to_numpy(float)))


def train_and_register(events: pd.DataFrame, *, registry, source: dict, train_cutoffs=None,
                       test_cutoff=None, horizon_days: int = 30, needs=None, catalogue=None,
                       config: MLPConfig | None = None, promote: bool = True) -> dict:
    """Train, write a new registry version (model, meta, report) and promote it if not worse."""
    from propensity.data import fingerprint
    from propensity.registry import PromotionRefused, eval_key
    from propensity.report import write_report

    if train_cutoffs is None or test_cutoff is None:
        auto_train, auto_test = rolling_cutoffs(events, horizon_days)
        train_cutoffs = train_cutoffs or auto_train
        test_cutoff = test_cutoff if test_cutoff is not None else auto_test
    exp = run_experiment(events, train_cutoffs, test_cutoff, horizon_days=horizon_days,
                         needs=needs, catalogue=catalogue, config=config)
    fp = fingerprint(events)
    version, folder = registry.new_version_dir(fp)
    exp.model.save(folder)
    test_str = str(exp.test_cutoff.date())
    write_report(folder, title=f"Purchase propensity model {version}", metrics=exp.metrics,
                 y=exp.test_y, scores=exp.test_scores, context={
                     "source": source.get("description", source.get("kind")),
                     "training cutoffs": ", ".join(str(c.date()) for c in exp.train_cutoffs),
                     "test cutoff": test_str, "horizon": f"{horizon_days} days",
                     "rows": exp.rows, "test positive rate": f"{exp.positive_rate:.3f}",
                     "MLP": exp.mlp_info.get("best_epoch") and
                     f"best epoch {exp.mlp_info['best_epoch']} of {exp.mlp_info['epochs_run']}",
                 })
    from propensity.features import FEATURES

    meta = {
        "version": version,
        "created_at": pd.Timestamp.utcnow().isoformat(),
        "source": source,
        "data_fingerprint": fp,
        "data_window": {"first": str(events["timestamp"].min()), "last": str(events["timestamp"].max())},
        "train_cutoffs": [str(c.date()) for c in exp.train_cutoffs],
        "test_cutoff": test_str,
        "horizon_days": horizon_days,
        "feature_spec": [{"name": f.name, "reason": f.reason, "signed_log1p": True} for f in FEATURES],
        "features_used": exp.mlp_info.get("features_used"),
        "bands": exp.model.bands,
        "metrics": exp.metrics,
        "evaluations": {eval_key(test_str, fp): exp.metrics["mlp"]},
        "rows": exp.rows,
        "positive_rate": exp.positive_rate,
        "seconds": exp.seconds,
        "mlp": {k: v for k, v in exp.mlp_info.items() if k != "features_used"},
    }
    registry.write_meta(version, meta)
    result = {"version": version, "metrics": exp.metrics, "test_cutoff": test_str,
              "train_cutoffs": meta["train_cutoffs"], "promoted": False}
    if promote:
        def evaluate_current(cur_version, cand_meta):
            cur = PropensityModel.load(registry.path(cur_version))
            return evaluate_model(cur, events, test_cutoff, horizon_days=horizon_days,
                                  needs=needs, catalogue=catalogue)

        try:
            result.update(registry.promote(version, evaluate_current=evaluate_current))
        except PromotionRefused as exc:
            result["refused"] = str(exc)
            logger.warning("not promoted: %s", exc)
    return result
