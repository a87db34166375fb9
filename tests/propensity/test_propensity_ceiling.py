"""The ceiling diagnostic's own input: the weekly purchase history it adds to the features."""
from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from bot.settings import REPO_ROOT


@pytest.fixture(scope="module")
def ceiling():
    spec = importlib.util.spec_from_file_location(
        "propensity_ceiling", REPO_ROOT / "benchmarks" / "propensity_ceiling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_weekly_history_counts_purchase_days_and_spend_before_the_cutoff_only(ceiling):
    cutoff = pd.Timestamp("2024-03-01")
    ev = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b", "b"],
        "timestamp": pd.to_datetime(["2024-02-28 09:00", "2024-02-28 15:00", "2024-02-20 12:00",
                                     "2024-03-01 00:00", "2022-01-01 10:00", "2024-02-29 10:00"]),
        "amount": [10.0, 5.0, 2.0, 99.0, 7.0, 1.0],
        "event_type": ["purchase"] * 5 + ["view"],
    })
    H = ceiling.weekly_history(ev, cutoff, pd.Index(["a", "b", "c"]))
    weeks = ceiling.WEEKS
    assert H.shape == (3, 2 * weeks)
    # a: one purchase day (two orders) in the last week, one the week before; the order on the
    # cutoff day is not history.
    assert H[0, :2].tolist() == [1, 1] and H[0, :weeks].sum() == 2
    assert H[0, weeks:weeks + 2].tolist() == [15.0, 2.0] and H[0, weeks:].sum() == 17.0
    # b: a purchase two years back lands in the oldest week; a view is not a purchase.
    assert H[1, weeks - 1] == 1 and H[1, -1] == 7.0 and H[1].sum() == 8.0
    assert not H[2].any()  # no history at all
