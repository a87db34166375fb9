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
    # (docs/propensity.md): eight small nets trained side by side, logits averaged.
    hidden: tuple[int, ...] = (64, 32)
    dropout: float = 0.3
    l2: float = 1e-3
    learning_rate: float = 2e-3
    batch_size: int = 1024
    max_epochs: int = 40
    patience: int = 10
    seed: int = 7
    balance_classes: bool = True
    ensemble: int = 8  # independent towers in one Keras model; logits averaged


# TensorFlow threads for the transaction-log MLP. One each: on these shared 2-core machines two
# threads spent more time waiting for each other than computing (measured: 9-11 s vs 13-14 s for
# the same fit while other jobs ran); the towers are small enough that one core keeps up.
TF_THREADS = 1


def _tf(threads: int | None = None):
    """TensorFlow, imported on first use. ``threads`` fixes the intra/inter-op thread counts if
    TF has not started yet in this process (they cannot change later); None keeps TF's default
    (the tabular mode, whose timing was measured that way)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    # TF reports 0 until the thread counts are set: that is the record of whether this process
    # set them already (they cannot change once TF runs, so the first caller's count stays).
    if threads is not None and tf.config.threading.get_intra_op_parallelism_threads() == 0:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TF already running in this process: keep its threads
            logger.debug("TensorFlow threads already fixed; keeping them")
    return tf


# Keras keeps the custom layer classes (registered by name for saving and loading); each is
# defined on first use and then looked up there, so this module holds no cache of its own.
_KERAS_PACKAGE = "propensity"


def _registered_layer(tf, name: str):
    return tf.keras.utils.get_registered_object(f"{_KERAS_PACKAGE}>{name}")


def _signed_log_layer():
    tf = _tf()
    known = _registered_layer(tf, "SignedLog1p")
    if known is not None:
        return known

    @tf.keras.utils.register_keras_serializable(package=_KERAS_PACKAGE)
    class SignedLog1p(tf.keras.layers.Layer):
        """sign(x) * log1p(|x|): tames counts and money without a per-feature switch."""

        def call(self, inputs):
            return tf.sign(inputs) * tf.math.log1p(tf.abs(inputs))

    return SignedLog1p


def _tower_dense_layer():
    """A Dense layer for ``towers`` independent nets at once: kernel (towers, in, units).

    Input (rows, in), shared by every tower (the first layer), or (towers, rows, in); output
    (towers, rows, units), or (rows, towers) for the one-unit logit layer (``logits=True``). One
    batched matmul per layer instead of one small matmul per tower keeps the op count, and so
    the per-step overhead on a small CPU, independent of the ensemble size."""
    tf = _tf()
    known = _registered_layer(tf, "TowerDense")
    if known is not None:
        return known

    @tf.keras.utils.register_keras_serializable(package=_KERAS_PACKAGE)
    class TowerDense(tf.keras.layers.Layer):
        def __init__(self, units, towers, activation=None, l2=0.0, logits=False, **kwargs):
            super().__init__(**kwargs)
            self.units, self.towers, self.l2 = int(units), int(towers), float(l2)
            self.logits = bool(logits)
            self.activation = tf.keras.activations.get(activation)

        def build(self, input_shape):
            fan_in = int(input_shape[-1])
            self.shared_input = len(input_shape) == 2
            reg = tf.keras.regularizers.l2(self.l2) if self.l2 else None
            # Glorot uniform per tower, as a plain Dense layer would start.
            limit = float(np.sqrt(6.0 / (fan_in + self.units)))
            self.kernel = self.add_weight(
                "kernel", shape=(self.towers, fan_in, self.units), regularizer=reg,
                initializer=tf.keras.initializers.RandomUniform(-limit, limit))
            self.bias = self.add_weight("bias", shape=(self.towers, 1, self.units),
                                        initializer="zeros")

        def call(self, inputs):
            x = inputs[None] if self.shared_input else inputs
            out = self.activation(tf.matmul(x, self.kernel) + self.bias)
            return tf.transpose(out[..., 0]) if self.logits else out

        def get_config(self):
            return {**super().get_config(), "units": self.units, "towers": self.towers,
                    "activation": tf.keras.activations.serialize(self.activation), "l2": self.l2,
                    "logits": self.logits}

    return TowerDense


def build_keras_mlp(X_train: np.ndarray, config: MLPConfig):
    """An uncompiled Keras model: SignedLog1p -> Normalization (adapted on the training rows) ->
    ``config.ensemble`` independent towers of ReLU layers -> one logit per tower (rows, towers).

    The towers share only the preprocessing; each has its own initialisation, dropout masks,
    gradients and early-stopping point, so this is an ensemble of ``config.ensemble`` nets
    trained in one model."""
    tf = _tf()
    SignedLog1p = _signed_log_layer()
    TowerDense = _tower_dense_layer()
    towers = max(1, config.ensemble)
    inp = tf.keras.Input(shape=(X_train.shape[1],), name="features")
    # Statistics of the training rows given directly (same as adapt(), without a tf.data pass).
    z = signed_log1p(np.asarray(X_train, dtype=np.float64))
    norm = tf.keras.layers.Normalization(name="normalise", mean=z.mean(axis=0),
                                         variance=z.var(axis=0))
    h = norm(SignedLog1p(name="signed_log1p")(inp))
    for i, units in enumerate(config.hidden):
        h = TowerDense(units, towers, activation="relu", l2=config.l2, name=f"dense_{i}")(h)
        if config.dropout:
            h = tf.keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(h)
    out = TowerDense(1, towers, logits=True, name="logit")(h)
    return tf.keras.Model(inp, out, name="propensity_mlp")


def _tower_layers(model) -> list:
    return [layer for layer in model.layers if layer.__class__.__name__ == "TowerDense"]


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC from ranks (ties shared), fast enough to call per tower per epoch."""
    from scipy.stats import rankdata

    y = np.asarray(y).astype(bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return 0.5
    r = rankdata(score)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def fit_keras_mlp(X_train, y_train, X_val, y_val, config: MLPConfig):
    """Train every tower on the training rows; each tower keeps the weights of its epoch with the
    best ROC-AUC on the (later in time) validation slice, and training stops once no tower has
    improved for ``patience`` epochs. Returns the Keras model (best weights in place) and info.

    A custom loop around one traced training step: the data is small, so ``model.fit``'s
    per-epoch machinery would cost more than the arithmetic.
    """
    tf = _tf(TF_THREADS)
    tf.keras.utils.set_random_seed(config.seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # pragma: no cover - older TF
        pass
    model = build_keras_mlp(X_train, config)
    K = max(1, config.ensemble)
    layers = _tower_layers(model)
    opt = tf.keras.optimizers.Adam(config.learning_rate)
    y_train = np.asarray(y_train, dtype="float32").reshape(-1, 1)
    w = np.ones_like(y_train)
    pos = float(np.mean(y_train))
    if config.balance_classes and 0 < pos < 1:
        w = np.where(y_train == 1, 0.5 / pos, 0.5 / (1 - pos)).astype("float32")
    X_train = np.asarray(X_train, dtype="float32")
    variables = model.trainable_variables
    F = X_train.shape[1]

    @tf.function(input_signature=[tf.TensorSpec([None, F], tf.float32),
                                  tf.TensorSpec([None, 1], tf.float32),
                                  tf.TensorSpec([None, 1], tf.float32)])
    def step(xb, yb, wb):
        with tf.GradientTape() as tape:
            z = model(xb, training=True)
            loss = tf.nn.sigmoid_cross_entropy_with_logits(tf.broadcast_to(yb, tf.shape(z)), z)
            # Sum over towers of each tower's mean loss: every tower gets its own gradient.
            total = tf.reduce_sum(tf.reduce_mean(loss * wb, axis=0)) + tf.add_n(model.losses)
        opt.apply_gradients(zip(tape.gradient(total, variables), variables))

    @tf.function(input_signature=[tf.TensorSpec([None, F], tf.float32)])
    def predict(x):
        return model(x, training=False)

    rng = np.random.default_rng(config.seed)
    X_val32 = tf.constant(np.asarray(X_val, dtype="float32"))
    n, bs = len(y_train), int(config.batch_size)
    best = np.full(K, -np.inf)
    best_epoch = np.zeros(K, dtype=int)
    stale = np.zeros(K, dtype=int)
    best_weights = [[v.copy() for v in layer.get_weights()] for layer in layers]
    epochs_run = 0
    for epoch in range(config.max_epochs):
        perm = rng.permutation(n)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            step(X_train[idx], y_train[idx], w[idx])
        epochs_run = epoch + 1
        z_val = predict(X_val32).numpy()
        improved = np.array([roc_auc(y_val, z_val[:, k]) for k in range(K)])
        better = improved > best
        if better.any():
            for layer, saved in zip(layers, best_weights):
                for arr, new in zip(saved, layer.get_weights()):
                    arr[better] = new[better]  # weights are (towers, ...): copy those towers
        best = np.where(better, improved, best)
        best_epoch = np.where(better, epoch + 1, best_epoch)
        stale = np.where(better, 0, stale + 1)
        if stale.min() >= config.patience:
            break
    for layer, saved in zip(layers, best_weights):
        layer.set_weights(saved)
    logger.info("MLP: %d towers, %d epochs run, best epochs %s, validation AUC %.4f-%.4f",
                K, epochs_run, best_epoch.tolist(), best.min(), best.max())
    return model, {"epochs_run": epochs_run, "best_epoch": int(np.median(best_epoch)),
                   "members": best_epoch.tolist()}


@dataclass
class NumpyMLP:
    """The exported forward pass: preprocessing plus dense layers, as numpy arrays."""

    mean: np.ndarray
    std: np.ndarray
    kernels: list[np.ndarray]
    biases: list[np.ndarray]

    def logit(self, X: np.ndarray) -> np.ndarray:
        h = (signed_log1p(np.asarray(X, dtype=np.float64)) - self.mean) / self.std
        last = len(self.kernels) - 1
        for i, (k, b) in enumerate(zip(self.kernels, self.biases)):
            h = h @ k + b
            if i < last:
                np.maximum(h, 0.0, out=h)
        return h[..., 0]


def _normalisation(model) -> tuple[np.ndarray, np.ndarray]:
    norm = model.get_layer("normalise")
    mean = np.asarray(norm.mean.numpy(), dtype=np.float64).reshape(-1)
    var = np.asarray(norm.variance.numpy(), dtype=np.float64).reshape(-1)
    tf = _tf()
    return mean, np.maximum(np.sqrt(var), tf.keras.backend.epsilon())


def export_keras(model) -> "NumpyMLP | EnsembleMLP":
    """The numpy forward pass of a model from ``build_keras_mlp``: one net per tower."""
    mean, std = _normalisation(model)
    weights = [layer.get_weights() for layer in _tower_layers(model)]
    towers = weights[0][0].shape[0]
    members = [NumpyMLP(mean, std, [k[t].astype(np.float64) for k, _ in weights],
                        [b[t, 0].astype(np.float64) for _, b in weights])
               for t in range(towers)]
    return members[0] if towers == 1 else EnsembleMLP(members)


@dataclass
class EnsembleMLP:
    """Several exported nets (different initialisations); the logit is their mean.

    The forward pass runs all members at once: the normalisation folded into the first-layer
    kernels, which sit side by side (one matrix product for every member), later layers as a
    batched product over members, rows in chunks that stay in cache. Scoring 8 members costs
    about as much as one net 8 times as wide."""

    members: list[NumpyMLP]
    chunk_rows: int = 4096

    def __post_init__(self):
        self._stacked = None

    def _stack(self):
        if self._stacked is None:
            m0 = self.members[0]
            same_pre = all(np.array_equal(m.mean, m0.mean) and np.array_equal(m.std, m0.std)
                           for m in self.members)
            same_shape = all([k.shape for k in m.kernels] == [k.shape for k in m0.kernels]
                             for m in self.members)
            if not (same_pre and same_shape):
                self._stacked = False
            else:
                k1 = np.concatenate([m.kernels[0] for m in self.members], axis=1)
                b1 = np.concatenate([m.biases[0] for m in self.members])
                # (slog(x) - mean) / std @ k1 + b1  ==  slog(x) @ (k1 / std) + (b1 - mean/std @ k1)
                k1_folded = k1 / m0.std[:, None]
                b1_folded = b1 - (m0.mean / m0.std) @ k1
                rest = [(np.stack([m.kernels[i] for m in self.members]),
                         np.stack([m.biases[i] for m in self.members])[:, None, :])
                        for i in range(1, len(m0.kernels))]
                self._stacked = (k1_folded, b1_folded, rest)
        return self._stacked

    def logit(self, X: np.ndarray) -> np.ndarray:
        stacked = self._stack()
        if stacked is False:
            return np.mean([m.logit(X) for m in self.members], axis=0)
        X = np.asarray(X, dtype=np.float64)
        lead = X.shape[:-1]
        X = X.reshape(-1, X.shape[-1])
        out = np.empty(len(X))
        for lo in range(0, len(X), self.chunk_rows):
            out[lo:lo + self.chunk_rows] = self._logit_chunk(X[lo:lo + self.chunk_rows], stacked)
        return out.reshape(lead)

    def occluded_logits(self, x: np.ndarray, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Logits of the row ``x`` and of ``x`` with ``x[cols[j]]`` set to ``values[j]``, one row
        per j: ``[z(x), z(x_0), z(x_1), ...]``. The first layer is linear in each input, so an
        occluded row's pre-activation is x's plus one scaled kernel row: no full product per row."""
        stacked = self._stack()
        x = np.asarray(x, dtype=np.float64)
        if stacked is False:
            rows = np.repeat(x.reshape(1, -1), len(cols) + 1, axis=0)
            rows[np.arange(1, len(cols) + 1), cols] = values
            return self.logit(rows)
        k1, b1, rest = stacked
        s = signed_log1p(x)
        a0 = s @ k1 + b1
        delta = signed_log1p(np.asarray(values, dtype=np.float64)) - s[cols]
        h = np.vstack([a0[None, :], a0 + delta[:, None] * k1[cols]])
        return self._after_first_layer(h, rest)

    def _logit_chunk(self, X, stacked):
        k1, b1, rest = stacked
        return self._after_first_layer(signed_log1p(X) @ k1 + b1, rest)

    def _after_first_layer(self, h, rest):
        M = len(self.members)
        if not rest:  # no hidden layer: the first product already gave the logits
            return h.mean(axis=1)
        np.maximum(h, 0.0, out=h)
        # (rows, members * units) -> (members, rows, units)
        h = np.ascontiguousarray(h.reshape(len(h), M, -1).transpose(1, 0, 2))
        for i, (k, b) in enumerate(rest):
            h = np.matmul(h, k) + b
            if i < len(rest) - 1:
                np.maximum(h, 0.0, out=h)
        return h[..., 0].mean(axis=0)


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
        return self.probability_from_logit(self.logit(X))

    def occluded_logits(self, x: np.ndarray, cand: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``[logit(x), logit(x with x[cand[0]] = values[0]), ...]`` for one feature row; every
        ``cand`` must be a used feature."""
        x = np.asarray(x, dtype=np.float64)
        if isinstance(self.mlp, EnsembleMLP):
            pos = np.searchsorted(self.used, cand)  # ``used`` is sorted
            return self.mlp.occluded_logits(x[self.used], pos, values)
        rows = np.repeat(x.reshape(1, -1), len(cand) + 1, axis=0)
        rows[np.arange(1, len(cand) + 1), cand] = values
        return self.logit(rows)

    def probability_from_logit(self, z):
        """Platt-calibrated probability of the ensemble logit."""
        return _sigmoid(self.platt_a * z + self.platt_b)

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
