"""bot.staff.accounts: add, list, disable, passwords, authenticate, lock-out, roles."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot import audit
from bot.staff import accounts
from bot.store.db import session_scope
from bot.store.models import Staff
from tests.staff.conftest import PASSWORD


def _add(services, email="Sam@Example-Shop.co.uk", role="agent", password=PASSWORD):
    return accounts.add(services, email=email, name="Sam Agent", role=role, password=password)


def test_add_lower_cases_the_email_and_stores_only_an_argon2_hash(staff_services, engine):
    view = _add(staff_services)
    assert view.email == "sam@example-shop.co.uk" and view.role == "agent" and view.active
    with session_scope(engine) as s:
        row = s.execute(select(Staff)).scalar_one()
        assert row.password_hash.startswith("$argon2id$")
        assert PASSWORD not in row.password_hash
        assert row.failed_logins == 0 and row.locked_until is None


def test_duplicate_email_short_password_and_bad_role_are_refused(staff_services):
    _add(staff_services)
    with pytest.raises(accounts.StaffExists):
        _add(staff_services, email="SAM@example-shop.co.uk")
    with pytest.raises(accounts.WeakPassword):
        _add(staff_services, email="b@example.com", password="short-pass")
    with pytest.raises(accounts.StaffError):
        _add(staff_services, email="c@example.com", role="admin")
    with pytest.raises(accounts.StaffError):
        _add(staff_services, email="not-an-email")
    assert [v.email for v in accounts.list_staff(staff_services)] == ["sam@example-shop.co.uk"]


def test_authenticate_right_wrong_unknown_disabled(staff_services, clock):
    _add(staff_services)
    view = accounts.authenticate(staff_services, " SAM@example-shop.co.uk", PASSWORD, "10.0.0.1")
    assert view.last_login_at == clock.now
    with pytest.raises(accounts.LoginFailed) as wrong:
        accounts.authenticate(staff_services, "sam@example-shop.co.uk", PASSWORD + "x")
    assert wrong.value.reason == "wrong"
    with pytest.raises(accounts.LoginFailed) as unknown:
        accounts.authenticate(staff_services, "nobody@example-shop.co.uk", PASSWORD)
    assert unknown.value.reason == "unknown"
    assert str(unknown.value) == str(wrong.value)  # people are told the same thing
    accounts.disable(staff_services, "sam@example-shop.co.uk")
    with pytest.raises(accounts.LoginFailed) as disabled:
        accounts.authenticate(staff_services, "sam@example-shop.co.uk", PASSWORD)
    assert disabled.value.reason == "disabled"


def test_a_success_resets_the_failure_count(staff_services, engine):
    _add(staff_services)
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        with pytest.raises(accounts.LoginFailed):
            accounts.authenticate(staff_services, "sam@example-shop.co.uk", "wrong password!")
    accounts.authenticate(staff_services, "sam@example-shop.co.uk", PASSWORD)
    with session_scope(engine) as s:
        assert s.execute(select(Staff.failed_logins)).scalar_one() == 0


def test_lock_out_after_repeated_failures_with_an_audit_record(staff_services, engine, clock):
    _add(staff_services)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with pytest.raises(accounts.LoginFailed) as failed:
            accounts.authenticate(staff_services, "sam@example-shop.co.uk", "wrong password!")
        assert failed.value.reason == "wrong"
    # Locked: even the right password is refused, the same way.
    with pytest.raises(accounts.LoginFailed) as locked:
        accounts.authenticate(staff_services, "sam@example-shop.co.uk", PASSWORD)
    assert locked.value.reason == "locked"
    with session_scope(engine) as s:
        records = audit.recent(s, action="staff_login_locked")
    assert len(records) == 1
    assert records[0].subject.startswith("staff:")
    assert records[0].detail["failed_logins"] == accounts.MAX_FAILED_LOGINS
    assert PASSWORD not in json.dumps(records[0].detail)
    clock.advance(minutes=accounts.LOCK_MINUTES, seconds=1)
    assert accounts.authenticate(staff_services, "sam@example-shop.co.uk", PASSWORD).active


def test_setting_a_password_lifts_a_lock(staff_services):
    _add(staff_services)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with pytest.raises(accounts.LoginFailed):
            accounts.authenticate(staff_services, "sam@example-shop.co.uk", "wrong password!")
    accounts.set_password(staff_services, "sam@example-shop.co.uk", "a brand new password")
    accounts.authenticate(staff_services, "sam@example-shop.co.uk", "a brand new password")
    with pytest.raises(accounts.WeakPassword):
        accounts.set_password(staff_services, "sam@example-shop.co.uk", "tiny")
    with pytest.raises(accounts.StaffNotFound):
        accounts.set_password(staff_services, "nobody@example.com", "a brand new password")


def test_one_client_address_is_refused_after_many_failures(staff_services):
    _add(staff_services)
    for _ in range(accounts.ADDRESS_RULE.limit):
        with pytest.raises(accounts.LoginFailed):
            accounts.authenticate(staff_services, "nobody@example.com", "x", "192.0.2.7")
    with pytest.raises(accounts.LoginFailed) as refused:
        accounts.authenticate(staff_services, "sam@example-shop.co.uk", PASSWORD, "192.0.2.7")
    assert refused.value.reason == "address"
    assert accounts.authenticate(staff_services, "sam@example-shop.co.uk", PASSWORD, "192.0.2.8")


@pytest.mark.parametrize("role, permission, allowed", [
    ("agent", "queue", True), ("agent", "transcripts", True), ("agent", "reports", False),
    ("agent", "insights", False), ("lead", "queue", True), ("lead", "team", True),
    ("lead", "reports", True), ("lead", "insights", True), ("analyst", "insights", True),
    ("analyst", "transcripts", False),
    ("analyst", "queue", False), ("nobody", "queue", False),
])
def test_role_permissions(role, permission, allowed):
    assert accounts.can(role, permission) is allowed
