"""Fixtures for the propensity tests; the synthetic shop lives in propensity_synthetic.py."""
from __future__ import annotations

import pandas as pd
import pytest
from propensity_synthetic import START, TINY, synthetic_events


@pytest.fixture(scope="session")
def events() -> pd.DataFrame:
    return synthetic_events()


@pytest.fixture(scope="session")
def cutoffs():
    train = [START + pd.Timedelta(days=d) for d in (150, 180, 210)]
    test = START + pd.Timedelta(days=250)
    return train, test


@pytest.fixture(scope="session")
def experiment(events, cutoffs):
    from propensity.train import run_experiment

    train, test = cutoffs
    return run_experiment(events, train, test, config=TINY)
