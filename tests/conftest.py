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
from service_helpers import LazyExtractor, make_services


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


@pytest.fixture(scope="session")
def lazy_extractor():
    return LazyExtractor()


@pytest.fixture(scope="session")
def extractor(lazy_extractor):
    """The shipped need pipeline; `python -m bot needs train --if-stale` builds it (make test
    does)."""
    lazy_extractor.version  # loads it, or skips the test when the model is missing
    return lazy_extractor


@pytest.fixture
def services(shop, db_url, tmp_path, lazy_extractor):
    """The process's services on the seeded fixture shop, with the clock at FIXTURE_NOW and the
    outbox in the test's folder."""
    return make_services(db_url, shop, tmp_path, lazy_extractor)


@pytest.fixture
def db_down(tmp_path, lazy_extractor):
    """Services whose shop database cannot be opened (the URL points at a directory)."""
    url = f"sqlite:///{tmp_path}"
    engine = make_engine(url)
    yield make_services(url, engine, tmp_path, lazy_extractor)
    engine.dispose()
