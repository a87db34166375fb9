"""The one way to reach the shop's services: a :class:`Services` object per process.

Each process (action server, storefront, a command) builds one ``Services`` from the one
:class:`~bot.settings.Settings` when it starts and hands it down: to every action, to the web
handlers (an app key), to the command handlers. It holds the shop database engine, the clock, the
need extractor, the needs outbox and the propensity scorer. Nothing else in ``bot/`` or
``propensity/`` keeps process state at module level, so tests build a ``Services`` on a test
database instead of patching globals, and two of them never share anything by accident.

The heavy parts (the spaCy need extractor, the propensity model) load on first use under a lock,
so two first callers never load them twice; a server calls :meth:`Services.warm` at start so that
no chat turn pays for the load.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.settings import Settings
from bot.store.breaker import CircuitBreaker
from bot.store.db import describe_error, make_engine, session_scope
from bot.store.errors import StoreUnavailable

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from bot.limits import LimitStore
    from bot.needs.outbox import Outbox
    from bot.needs.pipeline import NeedExtractor
    from propensity.scoring import PropensityService

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now as naive UTC, like the timestamps in the shop database."""
    return datetime.utcnow()


class Services:
    """Engine, clock, need extractor, outbox and propensity scorer of one process."""

    def __init__(self, settings: Settings, *, engine: Engine | None = None,
                 clock: Clock | None = None, extractor: "NeedExtractor | None" = None,
                 propensity: "PropensityService | None" = None,
                 registry_root: Path | None = None, breaker: CircuitBreaker | None = None):
        self.settings = settings
        self._owns_engine = engine is None
        self.engine = engine if engine is not None else make_engine(settings.database_url)
        self.clock: Clock = clock or system_clock
        # This process's view of whether the shop database answers (fail fast while it doesn't).
        self.breaker = breaker or CircuitBreaker(settings.db_breaker_seconds)
        self._extractor = extractor
        self._propensity = propensity
        self._registry_root = registry_root
        self._outbox: "Outbox | None" = None
        self._limits: "LimitStore | None" = None
        self._lock = threading.Lock()

    # --- time and units of work -------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    @contextmanager
    def unit_of_work(self, *, write: bool = False) -> Iterator[Session]:
        """One short transaction on the shop database; driver errors become StoreUnavailable.

        ``write=True`` when the unit reads rows and changes them by what it read (cancel,
        refund, return, address): on SQLite it holds the write lock from the start, so
        concurrent requests for the same order run one after the other. While the circuit
        breaker is open (a connection failed in the last few seconds) it fails at once.
        """
        with self.breaker.guard():
            try:
                with session_scope(self.engine, write=write) as session:
                    yield session
            except SQLAlchemyError as err:
                log.error("shop database error: %s", describe_error(err))
                raise StoreUnavailable(str(err.__class__.__name__)) from err

    # --- the heavy parts, loaded once -------------------------------------------------------

    @property
    def extractor(self) -> "NeedExtractor":
        if self._extractor is None:
            with self._lock:
                if self._extractor is None:
                    from bot.needs.pipeline import NeedExtractor

                    self._extractor = NeedExtractor()
        return self._extractor

    @property
    def propensity(self) -> "PropensityService":
        if self._propensity is None:
            with self._lock:
                if self._propensity is None:
                    from propensity.registry import Registry
                    from propensity.scoring import PropensityService

                    self._propensity = PropensityService(self.engine,
                                                         Registry(self._registry_root))
        return self._propensity

    @property
    def limits(self) -> "LimitStore":
        """Hit counters shared by every process (shop database, or Redis when configured)."""
        if self._limits is None:
            from bot.limits import limit_store

            self._limits = limit_store(self.engine, self.settings.redis_url, now=self._unix_now)
        return self._limits

    def _unix_now(self) -> float:
        return self.clock().replace(tzinfo=timezone.utc).timestamp()

    @property
    def outbox(self) -> "Outbox":
        if self._outbox is None:
            from bot.needs.outbox import Outbox

            self._outbox = Outbox(self.settings.needs_outbox)
        return self._outbox

    def warm(self) -> "Services":
        """Load the need extractor and the propensity model now (server start), not on the
        first chat turn that needs them."""
        self.extractor.extract("warm-up: a pair of walking boots")
        try:
            self.propensity.warm()
        except Exception:  # noqa: BLE001 - no model yet: the chat goes on unscored
            log.warning("propensity model not loaded at start", exc_info=True)
        return self

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    @classmethod
    def from_env(cls, environ: dict | None = None, **kwargs) -> "Services":
        return cls(Settings.from_env(environ), **kwargs)
