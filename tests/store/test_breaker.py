"""The circuit breaker on its own, with a fake clock: closed -> open -> half open -> closed/open,
and which errors count as the database being unreachable."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from bot.store.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    CircuitBreaker,
    CircuitOpen,
    is_connection_failure,
)
from bot.store.errors import NotAllowed, StoreUnavailable


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class PgError(Exception):
    def __init__(self, pgcode):
        super().__init__("x")
        self.pgcode = pgcode


def connect_failure():
    return OperationalError(None, None, Exception("could not connect to server"))


def test_a_connection_failure_opens_it_and_calls_fail_fast_until_the_cool_down():
    clock = Clock()
    breaker = CircuitBreaker(5, clock=clock)
    breaker.before_call()
    breaker.failure()
    assert breaker.state == OPEN
    clock.t += 4.9
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    assert issubclass(CircuitOpen, StoreUnavailable)  # callers already answer it politely


def test_after_the_cool_down_one_probe_goes_through_and_its_success_closes_it():
    clock = Clock()
    breaker = CircuitBreaker(5, clock=clock)
    breaker.failure()
    clock.t += 5
    assert breaker.state == HALF_OPEN
    breaker.before_call()  # the probe
    with pytest.raises(CircuitOpen):  # others still fail fast while it runs
        breaker.before_call()
    breaker.success()
    assert breaker.state == CLOSED
    breaker.before_call()
    breaker.before_call()


def test_a_failed_probe_opens_it_for_another_cool_down():
    clock = Clock()
    breaker = CircuitBreaker(5, clock=clock)
    breaker.failure()
    clock.t += 5
    breaker.before_call()
    breaker.failure()
    clock.t += 3
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    clock.t += 2
    breaker.before_call()


def test_a_probe_that_never_reports_is_replaced_after_a_cool_down():
    clock = Clock()
    breaker = CircuitBreaker(5, clock=clock)
    breaker.failure()
    clock.t += 5
    breaker.before_call()  # this probe hangs
    clock.t += 4
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    clock.t += 1
    breaker.before_call()  # a new probe


@pytest.mark.parametrize("error,counts", [
    (connect_failure(), True),  # raised while connecting (no statement)
    (InterfaceError("SELECT 1", {}, Exception("connection already closed")), True),
    (OperationalError("SELECT 1", {}, PgError("08006")), True),  # connection failure
    (OperationalError("SELECT 1", {}, PgError("57P01")), True),  # admin shutdown
    (OperationalError("UPDATE x", {}, PgError("40001")), False),  # serialization failure
    (OperationalError("UPDATE x", {}, PgError("40P01")), False),  # deadlock: a lost race
    (OperationalError("UPDATE x", {}, Exception("database is locked")), False),  # SQLite busy
    (IntegrityError("INSERT x", {}, Exception("UNIQUE constraint failed")), False),
    (NotAllowed("already_cancelled"), False),
    (ValueError("bug"), False),
])
def test_only_connection_level_failures_count(error, counts):
    assert is_connection_failure(error) is counts


def test_a_disconnect_detected_by_sqlalchemy_counts():
    err = OperationalError("SELECT 1", {}, Exception("server closed the connection"),
                           connection_invalidated=True)
    assert is_connection_failure(err)


@pytest.mark.parametrize("error,state", [
    (connect_failure(), OPEN),
    (IntegrityError("INSERT x", {}, Exception("UNIQUE")), CLOSED),
    (NotAllowed("already_cancelled"), CLOSED),
])
def test_guard_reports_how_the_call_went(error, state):
    breaker = CircuitBreaker(5, clock=Clock())
    with pytest.raises(type(error)):
        with breaker.guard():
            raise error
    assert breaker.state == state


def test_guard_sees_the_database_error_behind_store_unavailable():
    breaker = CircuitBreaker(5, clock=Clock())
    with pytest.raises(StoreUnavailable):
        with breaker.guard():
            try:
                raise connect_failure()
            except OperationalError as err:
                raise StoreUnavailable("OperationalError") from err
    assert breaker.state == OPEN


def test_an_application_error_during_the_probe_closes_it():
    clock = Clock()
    breaker = CircuitBreaker(5, clock=clock)
    breaker.failure()
    clock.t += 5
    with pytest.raises(NotAllowed):
        with breaker.guard():
            raise NotAllowed("already_shipped")  # the database answered
    assert breaker.state == CLOSED
