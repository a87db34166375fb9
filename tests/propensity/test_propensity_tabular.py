import numpy as np
import pandas as pd

from propensity.model import MLPConfig
from propensity.tabular import benchmark_table, mlp_numeric, split_columns


def frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    value = np.where(rng.random(n) < 0.7, 0.0, rng.exponential(20, n))  # mostly zero
    df = pd.DataFrame({
        "pages": rng.poisson(5, n),  # many distinct values: numeric only
        "value": value,
        "browser": rng.integers(1, 5, n),  # a code: categorical only for the MLP
        "month": rng.choice(["Feb", "Mar", "Nov"], n),
    })
    label = (value > 0) & (rng.random(n) < 0.8) | (rng.random(n) < 0.05)
    return df, label


def test_mlp_numeric_drops_codes_and_flags_zero_heavy_columns():
    df, _ = frame()
    numeric, categorical = split_columns(df)
    assert "browser" in numeric and "browser" in categorical
    rows = np.arange(300)
    X, names = mlp_numeric(df, numeric, categorical, rows)
    assert "browser" not in names
    assert "value>0" in names and "pages>0" not in names
    j = names.index("value>0")
    np.testing.assert_array_equal(X[:, j], (df["value"].to_numpy() > 0).astype(float))
    # The indicator list is decided on the given rows only.
    only_positive = np.flatnonzero(df["value"].to_numpy() > 0)
    _, names_pos = mlp_numeric(df, numeric, categorical, only_positive)
    assert "value>0" not in names_pos


def test_table_benchmark_contract_json_with_an_ensemble(tmp_path):
    df, label = frame(600)
    df["Revenue"] = np.where(label, "TRUE", "FALSE")
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    out = benchmark_table(path, "Revenue", seed=3, ensemble=2,
                          config=MLPConfig(hidden=(8,), max_epochs=3, patience=2, seed=3))
    assert set(out) == {"rows", "positive_rate", "models", "seconds"}
    assert set(out["models"]) == {"mlp", "logreg", "gbm"}
    assert out["rows"] == {"train": 480, "test": 120}
    assert out["models"]["mlp"]["roc_auc"] > 0.6
