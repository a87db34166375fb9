"""The attack: the same money request sent many times at once (double-clicked "yes", a replayed
webhook, two tabs), hoping two of them pass the "still open?" check before either writes.

Twenty threads, each with its own engine (as separate action-server processes would be), start
together on one order. Exactly one acts; the others get the refusal the order's new state gives,
never a database error. Runs on a SQLite file and, under ``scripts/with_postgres.sh``, on
PostgreSQL.
"""
from __future__ import annotations

import os
import threading
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update

from bot.demo.fixtures import FIXTURE_NOW, seed_fixture
from bot.store.db import make_engine, session_scope
from bot.store.errors import NotAllowed
from bot.store.models import Order, Refund, Return
from bot.store.schema import upgrade
from bot.support import orders
from bot.support.access import Requester
from service_helpers import make_services

N = 20
ALICE = Requester(customer_id=1)
ALICE_BY_EMAIL = Requester(email="alice@example.com")
PG_URL = os.environ.get("SHOP_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def shop_url(request, db_url):
    """A seeded fixture shop on a SQLite file, or on the throwaway PostgreSQL database."""
    if request.param == "sqlite":
        url = db_url
    else:
        if not PG_URL:
            pytest.skip("SHOP_TEST_POSTGRES_URL not set (run under scripts/with_postgres.sh)")
        url = PG_URL
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        seed_fixture(session, FIXTURE_NOW)
    engine.dispose()
    return url


def race(url, tmp_path, call, n=N):
    """Run ``call(services)`` in ``n`` threads released at once; results or exceptions."""
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n
    engines = [make_engine(url) for _ in range(n)]

    def worker(i):
        services = make_services(url, engines[i], tmp_path, None)
        barrier.wait()
        try:
            outcomes[i] = call(services)
        except Exception as err:  # noqa: BLE001 - collected and asserted on
            outcomes[i] = err

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for engine in engines:
        engine.dispose()
    return outcomes


def kinds(outcomes):
    return Counter(o.reason if isinstance(o, NotAllowed) else
                   type(o).__name__ for o in outcomes)


def rows(url, model, number):
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            order = s.execute(select(Order).where(Order.number == number)).scalar_one()
            found = s.execute(select(model).where(model.order_id == order.id)).scalars().all()
            return order.status, [(r.status, r.amount if model is Refund else r.reason)
                                  for r in found]
    finally:
        engine.dispose()


def test_twenty_cancellations_cancel_once_and_refund_once(shop_url, tmp_path):
    outcomes = race(shop_url, tmp_path,
                    lambda s: orders.cancel_order(s, "SH-100002", ALICE_BY_EMAIL))
    assert kinds(outcomes) == {"CancelResult": 1, "already_cancelled": N - 1}
    status, refunds = rows(shop_url, Refund, "SH-100002")
    assert status == "cancelled" and refunds == [("pending", Decimal("89.99"))]


def test_twenty_refund_requests_make_one_refund(shop_url, tmp_path):
    # A cancelled order whose automatic refund failed: the shopper may ask for one again.
    services = make_services(shop_url, make_engine(shop_url), tmp_path, None)
    orders.cancel_order(services, "SH-100002", ALICE)
    with services.unit_of_work() as s:
        s.execute(update(Refund).values(status="failed"))
    services.engine.dispose()
    outcomes = race(shop_url, tmp_path, lambda s: orders.request_refund(s, "SH-100002", ALICE))
    assert kinds(outcomes) == {"RefundView": 1, "refund_exists": N - 1}
    status, refunds = rows(shop_url, Refund, "SH-100002")
    assert sorted(refunds) == [("failed", Decimal("89.99")), ("pending", Decimal("89.99"))]


def test_twenty_return_requests_open_one_return(shop_url, tmp_path):
    outcomes = race(shop_url, tmp_path, lambda s: orders.create_return(s, "SH-100004", ALICE))
    assert kinds(outcomes) == {"ReturnResult": 1, "return_exists": N - 1}
    status, returns = rows(shop_url, Return, "SH-100004")
    assert status == "delivered" and [r[0] for r in returns] == ["requested"]


def test_address_change_racing_a_cancellation_never_changes_a_cancelled_order(shop_url,
                                                                               tmp_path):
    def either(services, i=iter(range(N))):
        if next(i) % 2:
            return orders.cancel_order(services, "SH-100001", ALICE)
        return orders.change_address(services, "SH-100001", ALICE, "5 Mill Lane, York YO1 7HH")

    outcomes = race(shop_url, tmp_path, either)
    counts = kinds(outcomes)
    assert counts["CancelResult"] == 1 and counts["already_cancelled"] == N - 1 - counts["OrderView"]
    assert set(counts) <= {"CancelResult", "OrderView", "already_cancelled"}
    # Every address change that succeeded happened before the cancellation.
    views = [o for o in outcomes if type(o).__name__ == "OrderView"]
    assert all(v.status in ("placed", "paid") for v in views)


def test_failed_proofs_from_many_processes_share_one_lock(shop_url, tmp_path):
    """Each guess from its own engine (another action server): the counters are in the shop
    database, so the fifth wrong email locks the order for every process."""
    from bot.store.errors import OrderNotFound

    outcomes = race(shop_url, tmp_path, lambda s: orders.order_status(
        s, "SH-100003", Requester(email=f"guess-{threading.get_ident()}@example.com")), n=5)
    assert kinds(outcomes) == {"OrderNotFound": 5}
    services = make_services(shop_url, make_engine(shop_url), tmp_path, None)
    with pytest.raises(OrderNotFound):
        orders.order_status(services, "SH-100003", ALICE_BY_EMAIL)
    assert orders.order_status(services, "SH-100003", ALICE).status == "shipped"
    services.engine.dispose()
