"""Alembic environment for the shop database.

The URL comes, in order of preference, from ``config.attributes["url"]`` (set by
:func:`bot.store.schema.upgrade`), ``alembic -x url=...``, or ``Settings.from_env()``.
Logging is configured from alembic.ini only when run from the ``alembic`` command line, so the
programmatic upgrade leaves the caller's logging alone.
"""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from bot.settings import Settings
from bot.store.db import make_engine
from bot.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    return url or Settings.from_env().database_url


def _configure_logging() -> None:
    if config.config_file_name is not None and not config.attributes.get("skip_logging_config"):
        fileConfig(config.config_file_name, disable_existing_loggers=False)


def _context_options(url: str) -> dict:
    # SQLite cannot ALTER most things in place; batch mode makes future revisions portable.
    return {
        "target_metadata": target_metadata,
        "render_as_batch": url.startswith("sqlite"),
        "compare_type": True,
    }


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_context_options(url)
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **_context_options(str(connection.engine.url)))
        with context.begin_transaction():
            context.run_migrations()
        return
    url = _url()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, **_context_options(url))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()  # nothing left open after a one-shot migration


_configure_logging()
if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
