"""Staff tests: services on an empty migrated shop database with a clock the test can move."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.demo.fixtures import FIXTURE_NOW
from bot.services import Services
from bot.settings import Settings

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self):
        self.now = FIXTURE_NOW

    def __call__(self):
        return self.now

    def advance(self, **kwargs):
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def staff_services(db_url, engine, clock, tmp_path):
    settings = Settings(database_url=db_url, identity_secret="staff-test-secret",
                        needs_outbox=tmp_path / "outbox.jsonl")
    return Services(settings, engine=engine, clock=clock)
