"""Limits that hold across processes and restarts: hits counted per key in fixed time windows,
kept in the shop database (table ``rate_limits``) or in Redis when ``REDIS_URL`` is set.

A limit is a :class:`Rule` (how many hits per how many seconds). Callers either count a hit and
learn whether it was within the limit (:meth:`LimitStore.hit`, for message rates), or look
before they act and count only failures (:meth:`LimitStore.exceeded` then :meth:`LimitStore.hit`,
for ownership proofs: only wrong guesses count).

Keys are hashed before they are stored (an email or an order number never sits in the table in
clear), and rows past their window are deleted by :meth:`LimitStore.purge` (the retention job).
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from sqlalchemy import delete, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.store.db import session_scope
from bot.store.models import RateLimitHit

log = logging.getLogger(__name__)

Now = Callable[[], float]


@dataclass(frozen=True)
class Rule:
    """At most ``limit`` hits per ``window_seconds`` for one key."""

    name: str
    limit: int
    window_seconds: int


def hashed(rule: Rule, key: str) -> str:
    """The stored form of ``key`` under ``rule``: a SHA-256 hex digest (64 characters)."""
    return hashlib.sha256(f"{rule.name}\x00{key}".encode()).hexdigest()


def _window(rule: Rule, now: float) -> int:
    return int(now // rule.window_seconds) * rule.window_seconds


class LimitStore(Protocol):
    def hit(self, rule: Rule, key: str) -> bool:
        """Count one hit for ``key``; True when it is within the limit (the hit is counted
        either way, so hammering a locked key keeps it locked)."""

    def exceeded(self, rule: Rule, key: str) -> bool:
        """True when ``key`` has used up its hits in the current window (counts nothing)."""

    def purge(self) -> int:
        """Delete counters whose window has passed; the number removed."""


# One statement per hit, the same on SQLite (3.35+) and PostgreSQL: building and compiling
# SQLAlchemy's dialect ``insert().on_conflict_do_update()`` on every hit (it is not cached) cost
# more than the write itself, on the chat's hot path (two hits per message). A text() statement
# is compiled once and cached by SQLAlchemy.
_UPSERT_SQL = (
    f"INSERT INTO {RateLimitHit.__tablename__} (key, window_start, hits, expires_at) "
    "VALUES (:key, :window_start, :add, :expires_at) "
    "ON CONFLICT (key, window_start) DO UPDATE "
    f"SET hits = {RateLimitHit.__tablename__}.hits + excluded.hits "
    "RETURNING hits"
)


class DatabaseLimits:
    """Counters in the shop database: one upsert per hit (``INSERT ... ON CONFLICT ...
    RETURNING``)."""

    def __init__(self, engine: Engine, now: Now = time.time):
        self.engine = engine
        self._now = now
        if engine.dialect.name not in ("postgresql", "sqlite"):  # pragma: no cover
            raise ValueError(f"no upsert for {engine.dialect.name}")

    def _count(self, rule: Rule, key: str, add: int) -> int:
        now = self._now()
        start = _window(rule, now)
        digest = hashed(rule, key)
        with self.engine.begin() as conn:
            if add:
                hits = conn.execute(text(_UPSERT_SQL), {
                    "key": digest, "window_start": start, "add": add,
                    "expires_at": start + rule.window_seconds,
                }).scalar()
            else:
                hits = conn.execute(
                    select(RateLimitHit.hits).where(RateLimitHit.key == digest,
                                                    RateLimitHit.window_start == start)
                ).scalar()
        return int(hits or 0)

    def hit(self, rule: Rule, key: str) -> bool:
        return self._count(rule, key, 1) <= rule.limit

    def exceeded(self, rule: Rule, key: str) -> bool:
        return self._count(rule, key, 0) >= rule.limit

    def purge(self) -> int:
        with session_scope(self.engine) as session:
            result = session.execute(
                delete(RateLimitHit).where(RateLimitHit.expires_at < int(self._now()))
            )
            return int(result.rowcount or 0)


class RedisLimits:
    """Counters in Redis (``INCR`` + ``EXPIRE``): for several processes without a shared
    database write per message. Keys expire by themselves, so :meth:`purge` has nothing to do."""

    def __init__(self, url: str, now: Now = time.time, prefix: str = "shop:limit:"):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._now = now
        self.prefix = prefix

    def _key(self, rule: Rule, key: str) -> str:
        return f"{self.prefix}{hashed(rule, key)}:{_window(rule, self._now())}"

    def hit(self, rule: Rule, key: str) -> bool:
        name = self._key(rule, key)
        pipe = self.client.pipeline()
        pipe.incr(name)
        pipe.expire(name, rule.window_seconds + 1)
        hits, _ = pipe.execute()
        return int(hits) <= rule.limit

    def exceeded(self, rule: Rule, key: str) -> bool:
        return int(self.client.get(self._key(rule, key)) or 0) >= rule.limit

    def purge(self) -> int:
        return 0


class FailOpen:
    """A store whose failures allow the hit (logged): a limit must not take the chat down with
    a database or Redis outage. Used for message rates; ownership checks read the shop database
    anyway, so they fail with it."""

    def __init__(self, store: LimitStore):
        self.store = store

    def hit(self, rule: Rule, key: str) -> bool:
        try:
            return self.store.hit(rule, key)
        except (SQLAlchemyError, OSError, ConnectionError) as err:
            log.warning("limit store unavailable (%s): allowing", err.__class__.__name__)
            return True
        except Exception as err:  # noqa: BLE001 - redis errors are not OSError subclasses
            log.warning("limit store failed (%s): allowing", err.__class__.__name__)
            return True

    def exceeded(self, rule: Rule, key: str) -> bool:
        try:
            return self.store.exceeded(rule, key)
        except Exception as err:  # noqa: BLE001 - see hit()
            log.warning("limit store failed (%s): allowing", err.__class__.__name__)
            return False

    def purge(self) -> int:
        return self.store.purge()


def limit_store(engine: Engine, redis_url: str = "", now: Now = time.time) -> LimitStore:
    """Redis when a URL is configured, else the shop database."""
    if redis_url:
        return RedisLimits(redis_url, now=now)
    return DatabaseLimits(engine, now=now)
