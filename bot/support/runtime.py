"""Process-wide settings, clock and units of work for the support services.

Settings are read from the environment once, on first use (never at import); tests change the
environment and call :func:`reset`.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Iterator

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.settings import Settings
from bot.store.db import get_engine, session_scope
from bot.store.errors import StoreUnavailable

log = logging.getLogger(__name__)

_settings: Settings | None = None


def get_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def reset() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    global _settings
    _settings = None


_clock: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """Now as naive UTC, like the timestamps in the shop database."""
    return _clock() if _clock is not None else datetime.utcnow()


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Make :func:`utcnow` use ``clock`` (tests pin it to the fixture's time); None restores."""
    global _clock
    _clock = clock


@contextmanager
def unit_of_work(settings: Settings | None = None) -> Iterator[Session]:
    """One short transaction on the shop database; driver errors become StoreUnavailable."""
    settings = settings or get_settings()
    try:
        with session_scope(get_engine(settings.database_url)) as session:
            yield session
    except SQLAlchemyError as err:
        log.error("shop database error: %s", err.__class__.__name__, exc_info=True)
        raise StoreUnavailable(str(err.__class__.__name__)) from err
