import numpy as np
import pytest

from propensity.features import FEATURE_NAMES, build_features
from propensity.model import PropensityModel
from propensity.registry import PromotionRefused, Registry, RegistryError, eval_key
from propensity.serve import Scorer, current_scorer

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
    from propensity.model import NumpyMLP, fit_keras_mlp

    train, test = cutoffs
    X = build_features(events, test)[list(FEATURE_NAMES)].to_numpy(float)
    X = X[:, np.ptp(X, axis=0) > 0]  # as in training: constant columns are dropped
    y = (np.arange(len(X)) % 3 == 0).astype(int)
    model, _ = fit_keras_mlp(X, y, X, y, TINY)
    np.testing.assert_allclose(NumpyMLP.from_keras(model).logit(X),
                               model(X.astype("float32"), training=False).numpy()[:, 0],
                               rtol=1e-4, atol=2e-4)


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


def test_current_scorer_picks_up_a_promoted_model_without_restart(experiment, tmp_path):
    reg = Registry(tmp_path)
    assert current_scorer(reg, max_age_seconds=0) is None
    v1 = _register(reg, experiment.model, 0.80, 0.15)
    reg.promote(v1)
    s1 = current_scorer(reg, max_age_seconds=0)
    assert isinstance(s1, Scorer) and s1.version == v1
    assert current_scorer(reg, max_age_seconds=0) is s1  # loaded once, then cached
    v2 = _register(reg, experiment.model, 0.81, 0.15)
    reg.promote(v2)
    assert current_scorer(reg, max_age_seconds=0).version == v2
    reg.rollback()
    assert current_scorer(reg, max_age_seconds=0).version == v1


def test_ensemble_and_single_net_models_save_and_load(experiment, tmp_path):
    from propensity.model import EnsembleMLP, PropensityModel

    model = experiment.model
    assert isinstance(model.mlp, EnsembleMLP) and len(model.mlp.members) == 3
    X = np.random.default_rng(0).random((20, len(model.feature_names))) * 50
    single = PropensityModel(model.feature_names, model.used, model.mlp.members[0],
                             model.platt_a, model.platt_b)
    for m, name in ((model, "ens"), (single, "one")):
        m.save(tmp_path / name)
        np.testing.assert_array_equal(PropensityModel.load(tmp_path / name).predict_proba(X),
                                      m.predict_proba(X))
    mean = np.mean([mm.logit(X[:, model.used]) for mm in model.mlp.members], axis=0)
    np.testing.assert_allclose(model.logit(X), mean)
