"""The attack: guessing which email goes with an order number (or which order goes with an email)
by trying again and again, from as many conversations as it takes.

Failed proofs are counted per order number and per email in the shop database, so rotating
sender ids does not help; once either is used up the order answers exactly as an unknown order
does, even to the right email, and staff see one ``ownership_locked`` record per lock.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot import audit
from bot.services import Services
from bot.store.errors import NotAllowed, OrderNotFound, StoreUnavailable
from bot.support import orders
from bot.support.access import Requester

ALICE_EMAIL = "alice@example.com"


def locks(services):
    with services.unit_of_work() as session:
        return audit.recent(session, action="ownership_locked")


def with_settings(services, **changes) -> Services:
    return Services(replace(services.settings, **changes), engine=services.engine,
                    clock=services.clock)


def test_wrong_emails_lock_the_order_even_for_the_right_email(services):
    for n in range(5):  # the default: 5 failed proofs per order number
        with pytest.raises(OrderNotFound):
            orders.order_status(services, "SH-100003", Requester(email=f"guess{n}@example.com"))
    assert len(locks(services)) == 1  # the fifth failure locked the order number
    # The right email now gets the unknown-order answer too, for reads and for writes.
    with pytest.raises(OrderNotFound):
        orders.order_status(services, "SH-100003", Requester(email=ALICE_EMAIL))
    with pytest.raises(OrderNotFound):
        orders.check_return(services, "SH-100003", Requester(email=ALICE_EMAIL))
    # A signed-in owner is not affected.
    assert orders.order_status(services, "SH-100003", Requester(customer_id=1)).status == "shipped"
    # Another order with the right email still answers (the email itself is not locked).
    assert orders.order_status(services, "SH-100002", Requester(email=ALICE_EMAIL)).number


def test_the_lock_is_audited_once_and_names_no_email(services):
    for n in range(9):
        with pytest.raises(OrderNotFound):
            orders.order_status(services, "SH-100003", Requester(email=f"guess{n}@example.com"))
    records = locks(services)
    assert len(records) == 1  # once per lock, however many tries follow
    assert (records[0].subject, records[0].detail["by"], records[0].detail["failed_proofs"]) == (
        "SH-100003", "order", 5)
    assert "example.com" not in repr(records[0])


def test_one_email_trying_many_order_numbers_is_locked(services):
    for n in range(5):
        with pytest.raises(OrderNotFound):
            orders.order_status(services, f"SH-9000{n:02d}", Requester(email=ALICE_EMAIL))
    # Alice's own orders by email now answer as unknown ones...
    with pytest.raises(OrderNotFound):
        orders.order_status(services, "SH-100002", Requester(email=ALICE_EMAIL))
    with pytest.raises(OrderNotFound):
        orders.cancel_order(services, "SH-100002", Requester(email=ALICE_EMAIL))
    # ... nothing was cancelled, and signed in she is not limited.
    assert orders.order_status(services, "SH-100002", Requester(customer_id=1)).status == "paid"
    record, = locks(services)
    assert record.detail["by"] == "email" and record.subject.startswith("email:")
    assert "alice" not in record.subject


def test_only_failed_proofs_count(services):
    for _ in range(20):
        orders.order_status(services, "SH-100003", Requester(email=ALICE_EMAIL))
    with pytest.raises(NotAllowed):  # a refusal is not a failed proof either
        orders.check_cancellable(services, "SH-100003", Requester(email=ALICE_EMAIL))
    with pytest.raises(OrderNotFound):  # no email offered: no proof made, nothing counted
        orders.order_status(services, "SH-100003", Requester())
    for n in range(4):
        with pytest.raises(OrderNotFound):
            orders.order_status(services, "SH-100003", Requester(email=f"x{n}@example.com"))
    assert orders.order_status(services, "SH-100003", Requester(email=ALICE_EMAIL)).number
    assert locks(services) == []


def test_the_limit_and_window_are_settings(services):
    strict = with_settings(services, ownership_attempts=2, ownership_window_seconds=60)
    for n in range(2):
        with pytest.raises(OrderNotFound):
            orders.order_status(strict, "SH-100003", Requester(email=f"g{n}@example.com"))
    with pytest.raises(OrderNotFound):
        orders.order_status(strict, "SH-100003", Requester(email=ALICE_EMAIL))
    # A minute later (the next window) the owner's proof works again.
    later = Services(strict.settings, engine=services.engine,
                     clock=lambda: services.now() + timedelta(minutes=1))
    assert orders.order_status(later, "SH-100003", Requester(email=ALICE_EMAIL)).number


def test_unreachable_counters_fail_closed(services, monkeypatch):
    class Broken:
        def exceeded(self, rule, key):
            raise ConnectionError("redis down")

        hit = exceeded

    monkeypatch.setattr(services, "_limits", Broken())
    with pytest.raises(StoreUnavailable):
        orders.order_status(services, "SH-100003", Requester(email=ALICE_EMAIL))
    assert orders.order_status(services, "SH-100003", Requester(customer_id=1)).number
