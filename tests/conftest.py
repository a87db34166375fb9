"""Shared fixtures: a migrated SQLite shop database per test, empty or seeded with the fixture.

The schema is migrated once per session into a template file and copied per test, which is much
faster than running Alembic for every test.
"""
from __future__ import annotations

import shutil

import pytest

from bot.demo.fixtures import FIXTURE_NOW, seed_fixture
from bot.store.db import make_engine, session_scope
from bot.store.schema import upgrade


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(_migrated_template, tmp_path) -> str:
    """URL of a fresh SQLite file migrated to head."""
    path = tmp_path / "shop.db"
    shutil.copyfile(_migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def shop(engine):
    """The engine, seeded with :func:`bot.demo.fixtures.seed_fixture` at ``FIXTURE_NOW``."""
    with session_scope(engine) as session:
        seed_fixture(session, FIXTURE_NOW)
    return engine


UNIT_TEST_SECRET = "unit-test-secret"


@pytest.fixture
def services(shop, db_url, monkeypatch):
    """Support services pointed at the seeded fixture shop, with the clock at FIXTURE_NOW."""
    from bot.support import runtime

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SHOP_IDENTITY_SECRET", UNIT_TEST_SECRET)
    runtime.reset()
    runtime.set_clock(lambda: FIXTURE_NOW)
    yield shop
    runtime.set_clock(None)
    runtime.reset()
