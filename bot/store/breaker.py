"""A circuit breaker for the shop database: a dead database should cost one turn a timeout,
not every turn.

After a connection-level failure the breaker *opens*: for ``cooldown_seconds`` every call fails
at once with :class:`CircuitOpen` (a :class:`~bot.store.errors.StoreUnavailable`, so callers
already answer it politely). Then it is *half open*: one call is let through as a probe; its
success closes the breaker, its failure opens it for another cool-down. Calls made while the probe
runs still fail fast, and a probe that never reports back (a hung thread) is replaced after one
more cool-down.

Only connection-level failures count (:func:`is_connection_failure`): an application error, a
lost race's integrity error or a busy SQLite lock means the database answered.

One breaker per process (``Services``); it holds no data other processes need, only this
process's view of whether its connection works.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.store.errors import StoreUnavailable

log = logging.getLogger(__name__)

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

# PostgreSQL SQLSTATEs that mean "no usable connection": class 08 (connection exception),
# operator intervention (admin shutdown, crash shutdown, cannot connect now) and too many
# connections. Serialization failures and deadlocks (also OperationalError in psycopg2) are
# not among them: they are a lost race, and the database is fine.
_PG_CONNECTION_STATES = ("57P01", "57P02", "57P03", "53300")


class CircuitOpen(StoreUnavailable):
    """The breaker is open: the database failed recently, so this call was not attempted."""


def is_connection_failure(err: BaseException) -> bool:
    """True when ``err`` says the database could not be reached (not that it said no)."""
    if not isinstance(err, DBAPIError):
        return False
    if err.connection_invalidated or isinstance(err, InterfaceError):
        return True
    if not isinstance(err, OperationalError):
        return False
    code = getattr(err.orig, "pgcode", None)
    if code:
        return code.startswith("08") or code in _PG_CONNECTION_STATES
    # An OperationalError without a statement was raised while connecting ("could not connect
    # to server", "unable to open database file"); with one it is e.g. SQLite's "database is
    # locked", which is contention, not an outage.
    return err.statement is None


class CircuitBreaker:
    """Closed -> open (on a failure) -> half open (after the cool-down) -> closed or open.

    Thread-safe; ``clock`` is injectable (a monotonic seconds counter) for tests.
    """

    def __init__(self, cooldown_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._opened_at = 0.0
        self._probe_started: float | None = None

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == OPEN and self._cooled_down():
                return HALF_OPEN
            return self._state

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self.cooldown_seconds

    def before_call(self) -> None:
        """Raise :class:`CircuitOpen` unless this call may go to the database."""
        with self._lock:
            if self._state == CLOSED:
                return
            now = self._clock()
            if self._state == OPEN and self._cooled_down():
                self._state = HALF_OPEN
                self._probe_started = None
            if self._state == HALF_OPEN:
                stale = (self._probe_started is not None
                         and now - self._probe_started >= self.cooldown_seconds)
                if self._probe_started is None or stale:
                    self._probe_started = now
                    return  # this call is the probe
            raise CircuitOpen("shop database unavailable (circuit open)")

    def success(self) -> None:
        with self._lock:
            if self._state != CLOSED:
                log.info("shop database reachable again: circuit closed")
            self._state = CLOSED
            self._probe_started = None

    def failure(self) -> None:
        with self._lock:
            if self._state == CLOSED:
                log.warning("shop database unreachable: failing fast for %.0f s",
                            self.cooldown_seconds)
            self._state = OPEN
            self._opened_at = self._clock()
            self._probe_started = None

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run the block as one call: fail fast while open, report how it went.

        Only a connection-level failure counts against the database; any other exception
        (including a domain error raised after reading the database) means it answered.
        """
        self.before_call()
        try:
            yield
        except Exception as err:
            cause = err.__cause__ if isinstance(err, StoreUnavailable) else err
            if is_connection_failure(cause):
                self.failure()
            elif isinstance(err, StoreUnavailable) and not isinstance(cause, DBAPIError):
                self.release()  # e.g. a nested breaker's CircuitOpen: no news either way
            else:
                self.success()
            raise
        except BaseException:  # interrupted: no news either way
            self.release()
            raise
        self.success()

    def release(self) -> None:
        """End a call that learnt nothing about the database (frees the probe slot)."""
        with self._lock:
            self._probe_started = None
