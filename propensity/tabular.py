"""Tabular mode: one labelled row per example (e.g. the Online Shoppers sessions).

Text and boolean columns, and integer columns with few distinct values (codes such as Browser or
Region), become categorical inputs with learned embeddings (and only that: a code is not a
quantity); the other numeric columns go through signed log1p and normalisation inside the Keras
model, and a numeric column that is zero on at least ``ZERO_SHARE`` of the fitting rows (page
values, durations) also gets a ">0" indicator. A stratified 80/20 split, early stopping and Platt
calibration on a stratified slice of the training part, ``ENSEMBLE`` seeds averaged (logits), the
same baselines beside it (on the raw columns, as before). These choices were made on a split of
the training 80% only (docs/propensity.md).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from propensity.evaluate import metrics
from propensity.model import MLPConfig, fit_platt, signed_log1p

logger = logging.getLogger(__name__)

MAX_CODE_LEVELS = 30
ZERO_SHARE = 0.2
ENSEMBLE = 5
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})


def read_table(path: str | Path, label: str) -> tuple[pd.DataFrame, np.ndarray]:
    df = pd.read_csv(path)
    if label not in df.columns:
        raise ValueError(f"{path}: no label column {label!r}; columns are {', '.join(df.columns)}")
    raw = df.pop(label).astype(str).str.strip().str.lower()
    bad = ~raw.isin(_TRUE | _FALSE)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"{path}: line {i + 2}: label {raw.iloc[i]!r} is not true/false or 1/0")
    return df, raw.isin(_TRUE).to_numpy(int)


def held_out_split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training, held-out) row indices: the stratified 80/20 split of ``benchmark_table``."""
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=seed)


def split_columns(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(numeric, categorical) column names; low-cardinality integer codes are in both."""
    numeric, categorical = [], []
    for c in df.columns:
        s = df[c]
        if s.dtype == bool or s.dtype == object:
            categorical.append(c)
        else:
            numeric.append(c)
            if pd.api.types.is_integer_dtype(s) and s.nunique() <= MAX_CODE_LEVELS:
                categorical.append(c)
    return numeric, categorical


def mlp_numeric(df: pd.DataFrame, numeric: list[str], categorical: list[str],
                rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """MLP numeric inputs: numeric columns that are not codes, plus a >0 indicator for each
    column that is zero on at least ZERO_SHARE of ``rows`` (the fitting rows)."""
    cols = [c for c in numeric if c not in categorical]
    X = df[cols].to_numpy(float)
    zero_share = (X[rows] == 0).mean(axis=0)
    ind = [j for j in range(len(cols)) if zero_share[j] >= ZERO_SHARE]
    names = cols + [f"{cols[j]}>0" for j in ind]
    return np.column_stack([X] + [(X[:, j] > 0).astype(float) for j in ind]), names


def _fit_mlp(Xn_tr, Xc_tr, y_tr, Xn_va, Xc_va, y_va, vocab_sizes, config: MLPConfig):
    from propensity.model import _tf

    tf = _tf()
    tf.keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    num_in = tf.keras.Input(shape=(Xn_tr.shape[1],), name="numeric")
    norm = tf.keras.layers.Normalization()
    norm.adapt(signed_log1p(Xn_tr).astype("float32"))
    parts = [norm(num_in)]
    cat_in = tf.keras.Input(shape=(Xc_tr.shape[1],), dtype="int32", name="categorical")
    for j, size in enumerate(vocab_sizes):
        col = tf.keras.layers.Lambda(lambda t, j=j: t[:, j])(cat_in)
        emb = tf.keras.layers.Embedding(size + 1, min(8, (size + 2) // 2))(col)
        parts.append(emb)
    h = tf.keras.layers.Concatenate()(parts)
    reg = tf.keras.regularizers.l2(config.l2)
    for units in config.hidden:
        h = tf.keras.layers.Dense(units, activation="relu", kernel_regularizer=reg)(h)
        h = tf.keras.layers.Dropout(config.dropout)(h)
    out = tf.keras.layers.Dense(1)(h)
    model = tf.keras.Model([num_in, cat_in], out)
    model.compile(optimizer=tf.keras.optimizers.Adam(config.learning_rate),
                  loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.AUC(name="auc", from_logits=True)])
    pos = y_tr.mean()
    stop = tf.keras.callbacks.EarlyStopping(monitor="val_auc", mode="max",
                                            patience=config.patience, restore_best_weights=True)
    model.fit([signed_log1p(Xn_tr).astype("float32"), Xc_tr], y_tr.astype("float32"),
              validation_data=([signed_log1p(Xn_va).astype("float32"), Xc_va], y_va.astype("float32")),
              epochs=config.max_epochs, batch_size=config.batch_size, verbose=0,
              class_weight={0: 0.5 / (1 - pos), 1: 0.5 / pos}, callbacks=[stop])
    return model


def benchmark_table(path: str | Path, label: str, *, seed: int = 7,
                    config: MLPConfig | None = None, ensemble: int = ENSEMBLE) -> dict:
    """Stratified 80/20 split; MLP vs logistic regression vs gradient boosting (contract JSON)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    config = config or MLPConfig(hidden=(64, 32), dropout=0.2, l2=1e-4, learning_rate=2e-3,
                                 batch_size=256, max_epochs=80, patience=8,
                                 seed=seed)
    t0 = time.perf_counter()
    df, y = read_table(path, label)
    numeric, categorical = split_columns(df)
    # Categories learned on the training split only; unseen ones map to 0.
    idx_tr, idx_te = held_out_split(y, seed)
    idx_fit, idx_val = train_test_split(idx_tr, test_size=0.15, stratify=y[idx_tr],
                                        random_state=seed)
    codes, sizes = [], []
    for c in categorical:
        vocab = {v: i + 1 for i, v in enumerate(pd.unique(df[c].iloc[idx_fit].astype(str)))}
        codes.append(df[c].astype(str).map(vocab).fillna(0).to_numpy(np.int32))
        sizes.append(len(vocab))
    Xc = np.stack(codes, axis=1) if codes else np.zeros((len(df), 0), np.int32)
    Xn = df[numeric].to_numpy(float)
    Xm, _ = mlp_numeric(df, numeric, categorical, idx_fit)
    t_features = time.perf_counter() - t0

    t1 = time.perf_counter()
    from dataclasses import replace

    models = [_fit_mlp(Xm[idx_fit], Xc[idx_fit], y[idx_fit], Xm[idx_val], Xc[idx_val], y[idx_val],
                       sizes, replace(config, seed=config.seed + 1000 * k))
              for k in range(ensemble)]

    def logits(idx):
        inputs = [signed_log1p(Xm[idx]).astype("float32"), Xc[idx]]
        return np.mean([m(inputs, training=False).numpy()[:, 0] for m in models], axis=0)

    a, b = fit_platt(logits(idx_val), y[idx_val])
    p_mlp = 1 / (1 + np.exp(-(a * logits(idx_te) + b)))

    pre = ColumnTransformer([
        ("num", make_pipeline(FunctionTransformer(signed_log1p), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore"), [c for c in categorical]),
    ])
    frame = df.copy()
    for c in categorical:
        frame[c] = frame[c].astype(str)
    frame_num = frame.copy()
    for c in numeric:
        frame_num[c] = df[c].astype(float)
    logreg = make_pipeline(pre, LogisticRegression(max_iter=3000)).fit(frame_num.iloc[idx_tr], y[idx_tr])
    gbm_X = np.column_stack([Xn, Xc]) if len(categorical) else Xn
    cat_mask = [False] * Xn.shape[1] + [True] * Xc.shape[1]
    gbm = HistGradientBoostingClassifier(random_state=seed,
                                         categorical_features=cat_mask if any(cat_mask) else None)
    gbm.fit(gbm_X[idx_tr], y[idx_tr])
    t_train = time.perf_counter() - t1
    y_te = y[idx_te]
    scores = {"mlp": p_mlp, "logreg": logreg.predict_proba(frame_num.iloc[idx_te])[:, 1],
              "gbm": gbm.predict_proba(gbm_X[idx_te])[:, 1]}
    return {
        "rows": {"train": int(len(idx_tr)), "test": int(len(idx_te))},
        "positive_rate": round(float(y_te.mean()), 6),
        "models": {k: {m: round(v, 6) for m, v in metrics(y_te, p).items()} for k, p in scores.items()},
        "seconds": {"features": round(t_features, 3), "train": round(t_train, 3)},
    }
