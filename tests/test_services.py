"""bot.services.Services: one per process, heavy parts loaded once, nothing shared between two."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from bot.services import Services
from bot.settings import Settings
from bot.store.errors import StoreUnavailable


class SlowExtractor:
    """Counts how often it is built; building takes a while, like loading spaCy."""

    built = 0

    def __init__(self):
        time.sleep(0.05)
        type(self).built += 1
        self.version = "slow-1"
        self.extracted: list[str] = []

    def extract(self, text):
        self.extracted.append(text)
        return []


def test_first_callers_at_once_load_the_extractor_once(monkeypatch, tmp_path):
    import bot.needs.pipeline

    SlowExtractor.built = 0
    monkeypatch.setattr(bot.needs.pipeline, "NeedExtractor", SlowExtractor)
    services = Services(Settings(f"sqlite:///{tmp_path / 'shop.db'}", "s"))
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(services.extractor)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert SlowExtractor.built == 1 and len({id(x) for x in seen}) == 1
    services.close()


class FakePropensity:
    def __init__(self):
        self.warmed = 0

    def warm(self):
        self.warmed += 1


def test_warm_loads_the_extractor_and_the_model_before_any_turn(tmp_path):
    extractor, propensity = SlowExtractor(), FakePropensity()
    services = Services(Settings(f"sqlite:///{tmp_path / 'shop.db'}", "s"), extractor=extractor,
                        propensity=propensity)
    assert services.warm() is services
    assert len(extractor.extracted) == 1 and propensity.warmed == 1


def test_a_missing_model_does_not_stop_the_server_starting(tmp_path):
    class Broken(FakePropensity):
        def warm(self):
            raise FileNotFoundError("no model")

    services = Services(Settings(f"sqlite:///{tmp_path / 'shop.db'}", "s"),
                        extractor=SlowExtractor(), propensity=Broken())
    services.warm()  # logged, not raised


def test_two_services_share_nothing(tmp_path):
    one = Services(Settings(f"sqlite:///{tmp_path / 'a.db'}", "s",
                            needs_outbox=tmp_path / "a.jsonl"))
    two = Services(replace(one.settings, database_url=f"sqlite:///{tmp_path / 'b.db'}",
                           needs_outbox=tmp_path / "b.jsonl"))
    assert one.engine is not two.engine and str(one.engine.url) != str(two.engine.url)
    assert one.outbox.path != two.outbox.path
    assert one.propensity is not two.propensity
    assert one.propensity.engine is one.engine
    one.close()
    two.close()


def test_clock_and_unit_of_work(tmp_path):
    from datetime import datetime

    fixed = datetime(2026, 1, 2, 3, 4, 5)
    down = Services(Settings(f"sqlite:///{tmp_path}", "s"), clock=lambda: fixed)
    assert down.now() == fixed
    with pytest.raises(StoreUnavailable), down.unit_of_work() as session:
        session.execute(__import__("sqlalchemy").text("select 1"))
    down.close()
