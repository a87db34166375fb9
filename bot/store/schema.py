"""Run the shop database's Alembic migrations from Python (tests, CLI, demo data)."""
from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.settings import REPO_ROOT
from bot.store.db import make_engine

log = logging.getLogger(__name__)

ALEMBIC_INI = REPO_ROOT / "alembic.ini"


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that works from any working directory."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(REPO_ROOT / "bot" / "store" / "migrations"))
    config.attributes["url"] = url
    # Programmatic callers own their logging; alembic.ini's config is for the alembic CLI.
    config.attributes["skip_logging_config"] = True
    return config


def head_revision() -> str:
    """The newest revision id in the migrations folder."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at (``None`` when never migrated)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``; a no-op when it is already there."""
    log.info("migrating database to %s", revision)
    command.upgrade(alembic_config(url), revision)
