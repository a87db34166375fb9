"""Building the process's Services in tests: on a test database, with the fixture's clock."""
from __future__ import annotations

import threading

import pytest

from bot.demo.fixtures import FIXTURE_NOW

UNIT_TEST_SECRET = "unit-test-secret"


class LazyExtractor:
    """The shipped need pipeline, loaded when a test first extracts (one per test session):
    most tests that build services never extract a need."""

    def __init__(self):
        self._loaded = None
        self._lock = threading.Lock()

    def __getattr__(self, name):
        with self._lock:
            if self._loaded is None:
                from bot.needs.pipeline import NeedExtractor
                from bot.needs.train import is_stale, model_dir

                if is_stale():
                    pytest.skip("need model missing or stale: run `python -m bot needs train`")
                self._loaded = NeedExtractor(model_dir())
        return getattr(self._loaded, name)


def make_services(db_url: str, engine, tmp_path, extractor, propensity=None, **settings):
    from bot.services import Services
    from bot.settings import Settings

    config = Settings(database_url=db_url, identity_secret=UNIT_TEST_SECRET,
                      needs_outbox=tmp_path / "outbox.jsonl", **settings)
    return Services(config, engine=engine, clock=lambda: FIXTURE_NOW, extractor=extractor,
                    propensity=propensity, registry_root=tmp_path / "registry")
