"""Small synthetic shops for the propensity tests (seeded, a few hundred customers)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from propensity.model import MLPConfig

START = pd.Timestamp("2024-01-01")
TINY = MLPConfig(hidden=(8,), max_epochs=4, patience=2, batch_size=64, seed=3)


def synthetic_events(n_customers: int = 300, days: int = 300, seed: int = 0) -> pd.DataFrame:
    """Customers buy as Poisson processes with individual rates (some lapse half-way), and
    browse a little before buying: enough structure for a model to learn something."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(1, n_customers + 1):
        rate = rng.gamma(1.0, 1 / 25)  # purchases per day
        lapse = rng.random() < 0.3
        t = rng.uniform(0, 60)
        while t < days:
            if lapse and t > days / 2:
                break
            ts = START + pd.Timedelta(days=float(t))
            rows.append((str(c), ts, round(float(rng.gamma(2, 20)), 2), int(rng.integers(1, 4)),
                         f"p{rng.integers(0, 30)}", f"cat{rng.integers(0, 5)}", "purchase"))
            for _ in range(int(rng.integers(0, 3))):
                vt = ts - pd.Timedelta(hours=float(rng.uniform(1, 48)))
                rows.append((str(c), vt, 0.0, np.nan, f"p{rng.integers(0, 30)}", None, "view"))
            t += rng.exponential(1 / max(rate, 1e-3))
    df = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount", "quantity",
                                     "product_id", "category", "event_type"])
    df["quantity"] = df["quantity"].astype(float)
    return df.sort_values("timestamp", kind="stable").reset_index(drop=True)


