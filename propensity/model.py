"""The Keras MLP, its numpy export for serving, and Platt calibration.

Preprocessing (signed log1p, then normalisation learned from the training rows) is part of the
Keras model and of its numpy export, so serving cannot drift from training. Serving never calls
``model.predict``: ``NumpyMLP`` replays the exported weights with a few matrix products.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "weights.npz"
SPEC_FILE = "model.json"
KERAS_FILE = "keras_model.keras"


def signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


@dataclass
class MLPConfig:
    # Chosen on validation cutoffs that end before the Online Retail test cutoff
    # (docs/propensity.md): wider, more regularised, larger batches, 3 seeds averaged.
    hidden: tuple[int, ...] = (128, 64)
    dropout: float = 0.3
    l2: float = 1e-3
    learning_rate: float = 1e-3
    batch_size: int = 1024
    max_epochs: int = 60
    patience: int = 10
    seed: int = 7
    balance_classes: bool = True
    ensemble: int = 3  # nets trained with seeds seed, seed+1000, ...; logits averaged


def _tf():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


_SIGNED_LOG_CLASS = []


def _signed_log_layer():
    if _SIGNED_LOG_CLASS:
        return _SIGNED_LOG_CLASS[0]
    tf = _tf()

    @tf.keras.utils.register_keras_serializable(package="propensity")
    class SignedLog1p(tf.keras.layers.Layer):
        """sign(x) * log1p(|x|): tames counts and money without a per-feature switch."""

        def call(self, inputs):
            return tf.sign(inputs) * tf.math.log1p(tf.abs(inputs))

    _SIGNED_LOG_CLASS.append(SignedLog1p)
    return SignedLog1p


def build_keras_mlp(X_train: np.ndarray, config: MLPConfig):
    """An uncompiled Keras model: SignedLog1p -> Normalization (adapted) -> Dense stack -> logit."""
    tf = _tf()
    SignedLog1p = _signed_log_layer()
    reg = tf.keras.regularizers.l2(config.l2)
    inp = tf.keras.Input(shape=(X_train.shape[1],), name="features")
    norm = tf.keras.layers.Normalization(name="normalise")
    norm.adapt(signed_log1p(X_train.astype("float32")))
    h = norm(SignedLog1p(name="signed_log1p")(inp))
    for i, units in enumerate(config.hidden):
        h = tf.keras.layers.Dense(units, activation="relu", kernel_regularizer=reg, name=f"dense_{i}")(h)
        if config.dropout:
            h = tf.keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(h)
    out = tf.keras.layers.Dense(1, name="logit")(h)
    return tf.keras.Model(inp, out, name="propensity_mlp")


def fit_keras_mlp(X_train, y_train, X_val, y_val, config: MLPConfig):
    """Train with early stopping on the (later in time) validation slice; returns the model."""
    tf = _tf()
    tf.keras.utils.set_random_seed(config.seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # pragma: no cover - older TF
        pass
    model = build_keras_mlp(X_train, config)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.learning_rate),
        loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[tf.keras.metrics.AUC(name="auc", from_logits=True)],
    )
    class_weight = None
    pos = float(np.mean(y_train))
    if config.balance_classes and 0 < pos < 1:
        class_weight = {0: 0.5 / (1 - pos), 1: 0.5 / pos}
    stop = tf.keras.callbacks.EarlyStopping(
        monitor="val_auc", mode="max", patience=config.patience, restore_best_weights=True
    )
    hist = model.fit(
        X_train.astype("float32"), y_train.astype("float32"),
        validation_data=(X_val.astype("float32"), y_val.astype("float32")),
        epochs=config.max_epochs, batch_size=config.batch_size, class_weight=class_weight,
        callbacks=[stop], verbose=0, shuffle=True,
    )
    best = int(np.argmax(hist.history["val_auc"])) + 1
    logger.info("MLP stopped after %d epochs, best epoch %d (val AUC %.4f)",
                len(hist.history["val_auc"]), best, max(hist.history["val_auc"]))
    return model, {"epochs_run": len(hist.history["val_auc"]), "best_epoch": best}


@dataclass
class NumpyMLP:
    """The exported forward pass: preprocessing plus dense layers, as numpy arrays."""

    mean: np.ndarray
    std: np.ndarray
    kernels: list[np.ndarray]
    biases: list[np.ndarray]

    @classmethod
    def from_keras(cls, model) -> "NumpyMLP":
        norm = model.get_layer("normalise")
        mean = np.asarray(norm.mean.numpy(), dtype=np.float64).reshape(-1)
        var = np.asarray(norm.variance.numpy(), dtype=np.float64).reshape(-1)
        import tensorflow as tf

        std = np.maximum(np.sqrt(var), tf.keras.backend.epsilon())
        kernels, biases = [], []
        for layer in model.layers:
            if layer.__class__.__name__ == "Dense":
                k, b = layer.get_weights()
                kernels.append(k.astype(np.float64))
                biases.append(b.astype(np.float64))
        return cls(mean, std, kernels, biases)

    def logit(self, X: np.ndarray) -> np.ndarray:
        h = (signed_log1p(np.asarray(X, dtype=np.float64)) - self.mean) / self.std
        last = len(self.kernels) - 1
        for i, (k, b) in enumerate(zip(self.kernels, self.biases)):
            h = h @ k + b
            if i < last:
                np.maximum(h, 0.0, out=h)
        return h[..., 0]


@dataclass
class EnsembleMLP:
    """Several exported nets (different seeds); the logit is their mean."""

    members: list[NumpyMLP]

    def logit(self, X: np.ndarray) -> np.ndarray:
        return np.mean([m.logit(X) for m in self.members], axis=0)


def _mlp_arrays(mlp: NumpyMLP, prefix: str = "") -> dict:
    arrays = {f"{prefix}mean": mlp.mean, f"{prefix}std": mlp.std}
    for i, (k, b) in enumerate(zip(mlp.kernels, mlp.biases)):
        arrays[f"{prefix}kernel_{i}"] = k
        arrays[f"{prefix}bias_{i}"] = b
    return arrays


def _mlp_from(z, layers: int, prefix: str = "") -> NumpyMLP:
    return NumpyMLP(z[f"{prefix}mean"], z[f"{prefix}std"],
                    [z[f"{prefix}kernel_{i}"] for i in range(layers)],
                    [z[f"{prefix}bias_{i}"] for i in range(layers)])


@dataclass
class PropensityModel:
    """What serving needs: the numpy MLP, Platt calibration, the feature spec and the bands."""

    feature_names: list[str]  # all features the pipeline computes, in order
    used: list[int]  # indices of the features the MLP reads (constant ones are dropped)
    mlp: NumpyMLP | EnsembleMLP
    platt_a: float = 1.0
    platt_b: float = 0.0
    bands: dict = field(default_factory=lambda: {"low": 0.2, "high": 0.5})
    baseline_values: list[float] = field(default_factory=list)  # occlusion reference per feature
    horizon_days: int = 30

    def logit(self, X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        return self.mlp.logit(X[:, self.used])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return _sigmoid(self.platt_a * self.logit(X) + self.platt_b)

    def band(self, p: float) -> str:
        if p >= self.bands["high"]:
            return "high"
        if p < self.bands["low"]:
            return "low"
        return "medium"

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        members = self.mlp.members if isinstance(self.mlp, EnsembleMLP) else [self.mlp]
        arrays = {}
        for j, m in enumerate(members):
            arrays.update(_mlp_arrays(m, f"m{j}_" if isinstance(self.mlp, EnsembleMLP) else ""))
        np.savez(folder / WEIGHTS_FILE, **arrays)
        spec = {
            "feature_names": self.feature_names,
            "used": self.used,
            "layers": len(members[0].kernels),
            "members": len(members) if isinstance(self.mlp, EnsembleMLP) else None,
            "platt": {"a": self.platt_a, "b": self.platt_b},
            "bands": self.bands,
            "baseline_values": self.baseline_values,
            "horizon_days": self.horizon_days,
        }
        (folder / SPEC_FILE).write_text(json.dumps(spec, indent=2))

    @classmethod
    def load(cls, folder: str | Path) -> "PropensityModel":
        folder = Path(folder)
        spec = json.loads((folder / SPEC_FILE).read_text())
        with np.load(folder / WEIGHTS_FILE) as z:
            n = spec["layers"]
            if spec.get("members"):
                mlp = EnsembleMLP([_mlp_from(z, n, f"m{j}_") for j in range(spec["members"])])
            else:  # a single net (also every model saved before ensembles)
                mlp = _mlp_from(z, n)
        return cls(spec["feature_names"], spec["used"], mlp, spec["platt"]["a"],
                   spec["platt"]["b"], spec["bands"], spec["baseline_values"],
                   spec.get("horizon_days", 30))


def fit_platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling: p = sigmoid(a * logit + b) fitted by logistic regression on a later slice."""
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        return 1.0, 0.0
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(logits.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])
