import numpy as np
import pytest

from propensity.features import FEATURE_NAMES, build_features
from propensity.model import PropensityModel
from propensity.registry import PromotionRefused, Registry, RegistryError, eval_key
from propensity.scoring import PropensityService
from propensity.serve import Scorer

from propensity_synthetic import TINY


def test_experiment_reports_every_model_with_the_contract_metrics(experiment):
    assert set(experiment.metrics) == {"mlp", "logreg", "gbm", "recency"}
    for m in experiment.metrics.values():
        assert {"roc_auc", "pr_auc", "brier", "log_loss", "lift_top_decile"} <= set(m)
        assert 0 <= m["roc_auc"] <= 1
    # The synthetic shop has real structure: the MLP must do clearly better than chance.
    assert experiment.metrics["mlp"]["roc_auc"] > 0.6
    p = experiment.test_scores["mlp"]
    assert ((p > 0) & (p < 1)).all()


def test_numpy_export_matches_the_keras_model(events, cutoffs):
    from propensity.model import EnsembleMLP, export_keras, fit_keras_mlp

    train, test = cutoffs
    X = build_features(events, test)[list(FEATURE_NAMES)].to_numpy(float)
    X = X[:, np.ptp(X, axis=0) > 0]  # as in training: constant columns are dropped
    y = (np.arange(len(X)) % 3 == 0).astype(int)
    model, info = fit_keras_mlp(X, y, X, y, TINY)
    towers = model(X.astype("float32"), training=False).numpy()
    assert towers.shape == (len(X), TINY.ensemble)
    exported = export_keras(model)
    assert isinstance(exported, EnsembleMLP) and len(exported.members) == TINY.ensemble
    # Each exported member is its tower, and the ensemble logit is their mean.
    for k, member in enumerate(exported.members):
        np.testing.assert_allclose(member.logit(X), towers[:, k], rtol=1e-4, atol=2e-4)
    np.testing.assert_allclose(exported.logit(X), towers.mean(axis=1), rtol=1e-4, atol=2e-4)
    assert len(info["members"]) == TINY.ensemble


def test_each_tower_keeps_its_own_best_epoch(events, cutoffs):
    """Early stopping per tower: a tower's weights are those of its best validation epoch, so
    training longer never makes a tower worse on the validation slice."""
    from dataclasses import replace

    from propensity.model import export_keras, fit_keras_mlp, roc_auc

    train, test = cutoffs
    X = build_features(events, test)[list(FEATURE_NAMES)].to_numpy(float)
    X = X[:, np.ptp(X, axis=0) > 0]
    rng = np.random.default_rng(0)
    y = (X[:, 0] < np.median(X[:, 0])).astype(int) ^ (rng.random(len(X)) < 0.2)
    fit, val = np.arange(len(X)) % 2 == 0, np.arange(len(X)) % 2 == 1
    cfg = replace(TINY, ensemble=3, max_epochs=6, patience=6)
    short, _ = fit_keras_mlp(X[fit], y[fit], X[val], y[val], replace(cfg, max_epochs=1))
    long, info = fit_keras_mlp(X[fit], y[fit], X[val], y[val], cfg)
    for a, b in zip(export_keras(short).members, export_keras(long).members):
        assert roc_auc(y[val], b.logit(X[val])) >= roc_auc(y[val], a.logit(X[val])) - 1e-9
    assert all(1 <= e <= 6 for e in info["members"])


def test_roc_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    from propensity.model import roc_auc

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) + 0.3 * y, 1)  # ties included
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_save_load_round_trip_gives_identical_scores(experiment, events, cutoffs, tmp_path):
    X = build_features(events, cutoffs[1])[list(FEATURE_NAMES)].to_numpy(float)
    experiment.model.save(tmp_path / "v1")
    loaded = PropensityModel.load(tmp_path / "v1")
    np.testing.assert_array_equal(loaded.predict_proba(X), experiment.model.predict_proba(X))
    assert loaded.used == experiment.model.used


def _register(reg: Registry, model, auc: float, brier: float, key=("2024-09-07", "sha256:x:1")):
    version, folder = reg.new_version_dir("sha256:abcdef:1")
    model.save(folder)
    reg.write_meta(version, {"test_cutoff": key[0], "data_fingerprint": key[1], "horizon_days": 30,
                             "evaluations": {eval_key(*key): {"roc_auc": auc, "brier": brier}}})
    return version


def test_promote_refuses_a_worse_model_and_rollback_restores(experiment, tmp_path):
    reg = Registry(tmp_path)
    v1 = _register(reg, experiment.model, 0.80, 0.15)
    assert reg.promote(v1)["promoted"] and reg.current() == v1
    worse = _register(reg, experiment.model, 0.78, 0.15)
    with pytest.raises(PromotionRefused, match="ROC-AUC"):
        reg.promote(worse)
    brier_worse = _register(reg, experiment.model, 0.80, 0.17)
    with pytest.raises(PromotionRefused, match="Brier"):
        reg.promote(brier_worse)
    assert reg.current() == v1
    within_tolerance = _register(reg, experiment.model, 0.797, 0.151)
    assert reg.promote(within_tolerance)["promoted"]
    assert reg.current() == within_tolerance
    assert reg.rollback() == v1 and reg.current() == v1
    with pytest.raises(RegistryError, match="nothing to roll back"):
        reg.rollback()


def test_promote_evaluates_the_current_model_on_the_candidates_cutoff(experiment, tmp_path):
    reg = Registry(tmp_path)
    v1 = _register(reg, experiment.model, 0.80, 0.15, key=("2024-01-01", "sha256:old:1"))
    reg.promote(v1)
    v2 = _register(reg, experiment.model, 0.70, 0.15)
    with pytest.raises(PromotionRefused, match="cannot compare"):
        reg.promote(v2)
    calls = []

    def evaluate_current(cur, cand_meta):
        calls.append((cur, cand_meta["test_cutoff"]))
        return {"roc_auc": 0.69, "brier": 0.16}

    assert reg.promote(v2, evaluate_current=evaluate_current)["promoted"]
    assert calls == [(v1, "2024-09-07")]
    assert eval_key("2024-09-07", "sha256:x:1") in reg.meta(v1)["evaluations"]


def test_the_service_picks_up_a_promoted_model_without_restart(experiment, tmp_path):
    from sqlalchemy import create_engine

    reg = Registry(tmp_path)
    service = PropensityService(create_engine("sqlite://", future=True), reg, reload_seconds=0)
    assert service.current() is None
    v1 = _register(reg, experiment.model, 0.80, 0.15)
    reg.promote(v1)
    s1 = service.current()
    assert isinstance(s1, Scorer) and s1.version == v1
    assert service.current() is s1  # loaded once, then kept
    v2 = _register(reg, experiment.model, 0.81, 0.15)
    reg.promote(v2)
    assert service.current().version == v2
    reg.rollback()
    assert service.current().version == v1


def test_ensemble_and_single_net_models_save_and_load(experiment, tmp_path):
    from propensity.model import EnsembleMLP, PropensityModel

    model = experiment.model
    assert isinstance(model.mlp, EnsembleMLP) and len(model.mlp.members) == TINY.ensemble
    X = np.random.default_rng(0).random((20, len(model.feature_names))) * 50
    single = PropensityModel(model.feature_names, model.used, model.mlp.members[0],
                             model.platt_a, model.platt_b)
    for m, name in ((model, "ens"), (single, "one")):
        m.save(tmp_path / name)
        np.testing.assert_array_equal(PropensityModel.load(tmp_path / name).predict_proba(X),
                                      m.predict_proba(X))
    mean = np.mean([mm.logit(X[:, model.used]) for mm in model.mlp.members], axis=0)
    np.testing.assert_allclose(model.logit(X), mean)
