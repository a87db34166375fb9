"""Limits counted in the shop database: shared by every process, surviving restarts."""
from __future__ import annotations

import os
import threading
import uuid

import pytest

from sqlalchemy import func, select

from bot.limits import DatabaseLimits, FailOpen, Rule, hashed
from bot.store.db import make_engine, session_scope
from bot.store.models import RateLimitHit

RULE = Rule("test", limit=3, window_seconds=60)


class Clock:
    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_hits_within_the_limit_pass_then_stop(engine):
    limits = DatabaseLimits(engine, now=Clock())
    assert [limits.hit(RULE, "a") for _ in range(5)] == [True, True, True, False, False]
    assert limits.hit(RULE, "b")  # other keys are counted apart


def test_a_new_window_starts_afresh(engine):
    clock = Clock()
    limits = DatabaseLimits(engine, now=clock)
    for _ in range(3):
        limits.hit(RULE, "a")
    assert limits.exceeded(RULE, "a")
    clock.t += 60
    assert not limits.exceeded(RULE, "a")
    assert limits.hit(RULE, "a")


def test_exceeded_counts_nothing(engine):
    limits = DatabaseLimits(engine, now=Clock())
    for _ in range(10):
        assert not limits.exceeded(RULE, "a")
    assert limits.hit(RULE, "a")


def test_counts_survive_a_restart_and_are_shared_between_engines(db_url, engine):
    clock = Clock()
    DatabaseLimits(engine, now=clock).hit(RULE, "a")
    other = make_engine(db_url)  # another process's engine on the same database
    try:
        second = DatabaseLimits(other, now=clock)
        second.hit(RULE, "a")
        second.hit(RULE, "a")
        assert not second.hit(RULE, "a")
        assert not DatabaseLimits(engine, now=clock).hit(RULE, "a")
    finally:
        other.dispose()


def test_concurrent_hits_are_all_counted(engine):
    limits = DatabaseLimits(engine, now=Clock())
    rule = Rule("burst", limit=10, window_seconds=60)
    results: list[bool] = []
    lock = threading.Lock()

    def go():
        ok = limits.hit(rule, "k")
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=go) for _ in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 10


def test_keys_are_stored_hashed_and_purged_after_their_window(engine):
    clock = Clock()
    limits = DatabaseLimits(engine, now=clock)
    limits.hit(RULE, "someone@example.com")
    with session_scope(engine) as s:
        keys = s.execute(select(RateLimitHit.key)).scalars().all()
    assert keys == [hashed(RULE, "someone@example.com")]
    assert "example" not in keys[0]
    assert limits.purge() == 0
    clock.t += 61
    assert limits.purge() == 1
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(RateLimitHit)).scalar() == 0


def test_fail_open_allows_when_the_store_is_down(tmp_path):
    dead = make_engine(f"sqlite:///{tmp_path}")  # a directory: cannot be opened
    try:
        limits = FailOpen(DatabaseLimits(dead, now=Clock()))
        assert limits.hit(RULE, "a")
        assert not limits.exceeded(RULE, "a")
    finally:
        dead.dispose()


def test_services_share_one_store(services):
    assert services.limits is services.limits
    assert services.limits.hit(RULE, "x")


REDIS_URL = os.environ.get("SHOP_TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="SHOP_TEST_REDIS_URL not set (scripts/with_redis.sh)")
def test_redis_counts_like_the_database_and_is_shared():
    from bot.limits import RedisLimits

    clock = Clock(2_000_000.0 + uuid.uuid4().int % 1000 * 60)  # a fresh window per run
    first, second = RedisLimits(REDIS_URL, now=clock), RedisLimits(REDIS_URL, now=clock)
    key = uuid.uuid4().hex
    assert [first.hit(RULE, key), second.hit(RULE, key), first.hit(RULE, key)] == [True] * 3
    assert second.exceeded(RULE, key) and not second.hit(RULE, key)
    clock.t += 60
    assert not first.exceeded(RULE, key)


def test_redis_down_fails_open():
    from bot.limits import RedisLimits

    dead = FailOpen(RedisLimits(f"redis://127.0.0.1:{_closed_port()}/0", now=Clock()))
    assert dead.hit(RULE, "a")
    assert not dead.exceeded(RULE, "a")


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PG_URL = os.environ.get("SHOP_TEST_POSTGRES_URL")


@pytest.mark.skipif(not PG_URL, reason="SHOP_TEST_POSTGRES_URL not set")
def test_postgres_upsert_counts_concurrent_hits():
    from sqlalchemy import text

    from bot.store.schema import upgrade

    engine = make_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(PG_URL)
        limits = DatabaseLimits(engine, now=Clock())
        rule = Rule("pg", limit=10, window_seconds=60)
        results: list[bool] = []
        threads = [threading.Thread(target=lambda: results.append(limits.hit(rule, "k")))
                   for _ in range(25)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(True) == 10
    finally:
        engine.dispose()
