"""Engine hygiene and the breaker wired into ``Services.unit_of_work``.

- an error's text and the log carry no SQL parameter (an email here);
- a PostgreSQL server that never answers costs a few seconds, not minutes;
- after a connection failure the next units of work fail at once without touching the database,
  until a probe after the cool-down finds it back;
- a SQLite write unit holds the write lock from its first statement, and the conditional update
  refuses a change based on a stale read.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from bot.demo.fixtures import FIXTURE_NOW
from bot.services import Services
from bot.settings import Settings
from bot.store import queries
from bot.store.breaker import CLOSED, OPEN, CircuitBreaker, CircuitOpen
from bot.store.db import make_engine, session_scope
from bot.store.errors import StoreUnavailable
from bot.store.models import Customer, Order
from bot.store.schema import upgrade

SECRET_EMAIL = "very.private.person@example.org"
PG_URL = os.environ.get("SHOP_TEST_POSTGRES_URL")


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _duplicate_customer(services):
    with services.unit_of_work() as session:
        session.add(Customer(email=SECRET_EMAIL, first_name="A", last_name="B",
                             created_at=datetime(2026, 1, 1)))
    with services.unit_of_work() as session:
        session.add(Customer(email=SECRET_EMAIL, first_name="C", last_name="D",
                             created_at=datetime(2026, 1, 1)))


def test_errors_and_logs_carry_no_sql_parameters(services, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreUnavailable) as err:
        _duplicate_customer(services)
    cause = err.value.__cause__
    assert isinstance(cause, IntegrityError)
    assert "parameters hidden" in str(cause)
    assert SECRET_EMAIL not in str(cause) and SECRET_EMAIL not in str(err.value)
    assert "shop database error: IntegrityError" in caplog.text
    assert SECRET_EMAIL not in caplog.text
    assert services.breaker.state == CLOSED  # an integrity error is no outage


@pytest.mark.skipif(not PG_URL, reason="SHOP_TEST_POSTGRES_URL not set")
def test_postgres_errors_in_the_log_carry_no_values(tmp_path, caplog):
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(PG_URL)
    services = Services(Settings(PG_URL, "s"), engine=engine)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(StoreUnavailable) as err:
            _duplicate_customer(services)
        # PostgreSQL's own message quotes the row (DETAIL: Key (email)=(...)); the SQLAlchemy
        # part hides the parameters, and our log line leaves the driver's message out.
        assert "parameters hidden" in str(err.value.__cause__)
        assert "sqlstate 23505" in caplog.text
        assert SECRET_EMAIL not in caplog.text and SECRET_EMAIL not in str(err.value)
    finally:
        engine.dispose()


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never says a word (a hung database host)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


def test_a_database_that_never_answers_is_given_up_on_quickly(silent_server):
    url = f"postgresql://shop@127.0.0.1:{silent_server}/shop"
    clock = Clock()
    services = Services(Settings(url, "s"), breaker=CircuitBreaker(5, clock=clock))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        with services.unit_of_work() as session:
            session.execute(text("SELECT 1"))
    assert time.monotonic() - started < 8  # connect_timeout (3 s), not the OS's minutes
    assert services.breaker.state == OPEN
    started = time.monotonic()
    for _ in range(20):  # the next turns do not wait again
        with pytest.raises(CircuitOpen):
            with services.unit_of_work() as session:
                session.execute(text("SELECT 1"))
    assert time.monotonic() - started < 0.5
    services.close()


def test_a_dead_database_is_not_tried_again_until_the_probe(tmp_path):
    path = tmp_path / "shop.db"
    path.mkdir()  # a folder where the database file should be: it cannot be opened
    url = f"sqlite:///{path}"
    clock = Clock()
    services = Services(Settings(url, "s"), breaker=CircuitBreaker(5, clock=clock))
    attempts = []
    event.listen(services.engine, "do_connect", lambda *a: attempts.append(1))

    def one_unit():
        with services.unit_of_work() as session:
            return session.execute(text("SELECT 1")).scalar()

    with pytest.raises(StoreUnavailable):
        one_unit()
    assert len(attempts) == 1 and services.breaker.state == OPEN
    for _ in range(10):
        with pytest.raises(CircuitOpen):
            one_unit()
    assert len(attempts) == 1  # failed fast, the database was not touched
    path.rmdir()  # the database is back
    clock.t += 5
    assert one_unit() == 1  # the probe
    assert services.breaker.state == CLOSED
    services.close()


def test_domain_errors_inside_a_unit_of_work_do_not_trip_it(services):
    from bot.store.errors import NotAllowed, OrderNotFound

    for error in (NotAllowed("already_shipped"), OrderNotFound("SH-1"), ValueError("bug")):
        with pytest.raises(type(error)):
            with services.unit_of_work():
                raise error
    assert services.breaker.state == CLOSED


def test_a_sqlite_write_unit_holds_the_write_lock_from_its_first_statement(shop):
    inside = threading.Event()
    release = threading.Event()
    order = []

    def first():
        with session_scope(shop, write=True) as s:
            s.execute(select(Order.id)).first()  # only a read so far
            inside.set()
            release.wait(5)
            order.append("first")

    def second():
        inside.wait(5)
        with session_scope(shop, write=True) as s:
            s.execute(select(Order.id)).first()
            order.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    assert order == []  # the second write unit waits for the first, though it only read
    release.set()
    for t in threads:
        t.join(10)
    assert order == ["first", "second"]


def test_a_conditional_update_refuses_a_change_based_on_a_stale_read(shop):
    with session_scope(shop) as stale:
        order = stale.execute(select(Order).where(Order.number == "SH-100002")).scalar_one()
        assert order.status == "paid"
        with session_scope(shop) as other:  # someone else cancels meanwhile
            other_order = other.execute(select(Order).where(Order.number == "SH-100002")
                                        ).scalar_one()
            assert queries.update_order_if(other, other_order, statuses=("placed", "paid"),
                                           values={"status": "cancelled"})
        assert not queries.update_order_if(stale, order, statuses=("placed", "paid"),
                                           values={"status": "cancelled",
                                                   "updated_at": FIXTURE_NOW})
        assert order.status == "cancelled"  # refreshed with what is really there
