"""Staff accounts: add, list, disable, set a password, authenticate (with lock-out), role checks.

Every function takes the process's :class:`~bot.services.Services` first. Passwords are hashed
with argon2id (``argon2-cffi``'s defaults) and never logged; a sign-in for an unknown email
verifies against a dummy hash so its timing does not tell which emails have accounts. After
:data:`MAX_FAILED_LOGINS` wrong passwords in a row an account is locked for
:data:`LOCK_MINUTES` (an audit record ``staff_login_locked``); failures are also counted per
client address in the shared limits (:mod:`bot.limits`), so one address cannot try many accounts.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select

from bot import audit
from bot.limits import Rule
from bot.redact import EMAIL
from bot.store.models import STAFF_ROLES, Staff

log = logging.getLogger(__name__)

ROLES = STAFF_ROLES
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this only stops absurd inputs
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
# Failed sign-ins from one client address, whatever the email: past it the address is refused.
ADDRESS_RULE = Rule("staff-login-address", limit=20, window_seconds=15 * 60)
# Verified when the email is unknown (or the account locked) so that the answer takes as long
# as a real check. The hash of a random password nobody knows, with the hasher's parameters.
_DUMMY_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$N/2ispie+u+9K5CqZXdABw$"
               "JRV5Du+AYqBVNOEf8nGOhSVaq+q4tE6s4NjZ+gJvmgA")

# What each role may do. Agents work the queue (take over, reply, review); leads also see every
# agent's work, reports, corrections, models and the product insights; analysts see insights
# only, never transcripts.
PERMISSIONS = MappingProxyType({
    "agent": frozenset({"queue", "transcripts", "review"}),
    "lead": frozenset({"queue", "transcripts", "review", "team", "reports", "corrections",
                       "models", "insights"}),
    "analyst": frozenset({"insights"}),
})


class StaffError(ValueError):
    """A request about staff accounts that cannot be done; the message is safe to show."""


class StaffExists(StaffError):
    pass


class StaffNotFound(StaffError):
    pass


class WeakPassword(StaffError):
    pass


class LoginFailed(Exception):
    """Sign-in refused. ``reason`` is for logs and tests only (``unknown``, ``wrong``,
    ``locked``, ``disabled``, ``address``); people are told the same thing whatever it is."""

    def __init__(self, reason: str):
        super().__init__("email or password is wrong, or the account is locked for a while")
        self.reason = reason


@dataclass(frozen=True)
class StaffView:
    id: int
    email: str
    name: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    locked_until: datetime | None


def can(role: str, permission: str) -> bool:
    """Whether ``role`` may do ``permission`` (see :data:`PERMISSIONS`)."""
    return permission in PERMISSIONS.get(role, frozenset())


def normalise_email(email: str) -> str:
    value = (email or "").strip().lower()
    if len(value) > 254 or not EMAIL.fullmatch(value):
        raise StaffError("not an email address")
    return value


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")


def _view(row: Staff) -> StaffView:
    return StaffView(id=row.id, email=row.email, name=row.name, role=row.role,
                     active=bool(row.active), created_at=row.created_at,
                     last_login_at=row.last_login_at, locked_until=row.locked_until)


def _find(session, email: str) -> Staff | None:
    return session.execute(select(Staff).where(Staff.email == email)).scalar_one_or_none()


def add(services, *, email: str, name: str, role: str, password: str) -> StaffView:
    """A new active account. Raises :class:`StaffError` (bad email, role or name),
    :class:`WeakPassword`, :class:`StaffExists`."""
    email = normalise_email(email)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise StaffError("name must be 1-120 characters")
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    check_password(password)
    hashed = PasswordHasher().hash(password)  # before the write lock: hashing takes a while
    with services.unit_of_work(write=True) as session:
        if _find(session, email) is not None:
            raise StaffExists(f"a staff account for {email} already exists")
        row = Staff(email=email, name=name, role=role, password_hash=hashed, active=True,
                    created_at=services.now(), failed_logins=0)
        session.add(row)
        session.flush()
        return _view(row)


def list_staff(services) -> list[StaffView]:
    with services.unit_of_work() as session:
        rows = session.execute(select(Staff).order_by(Staff.email)).scalars().all()
        return [_view(r) for r in rows]


def count(services, role: str | None = None) -> int:
    """How many accounts there are (of ``role``, when given), active or not."""
    query = select(func.count(Staff.id))
    if role is not None:
        query = query.where(Staff.role == role)
    with services.unit_of_work() as session:
        return int(session.execute(query).scalar_one())


def get(services, staff_id: int) -> StaffView:
    """The account ``staff_id`` (active or not). Raises :class:`StaffNotFound`."""
    with services.unit_of_work() as session:
        row = session.get(Staff, staff_id)
        if row is None:
            raise StaffNotFound("no such staff account")
        return _view(row)


def disable(services, email: str) -> StaffView:
    """The account can no longer sign in (and open sessions stop working on their next request)."""
    email = normalise_email(email)
    with services.unit_of_work(write=True) as session:
        row = _find(session, email)
        if row is None:
            raise StaffNotFound(f"no staff account for {email}")
        row.active = False
        return _view(row)


def set_password(services, email: str, password: str) -> StaffView:
    """A new password; also lifts a lock-out and resets the failure count."""
    email = normalise_email(email)
    check_password(password)
    hashed = PasswordHasher().hash(password)
    with services.unit_of_work(write=True) as session:
        row = _find(session, email)
        if row is None:
            raise StaffNotFound(f"no staff account for {email}")
        row.password_hash = hashed
        row.failed_logins = 0
        row.locked_until = None
        return _view(row)


def _verify(hashed: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(services, email: str, password: str, client: str = "") -> StaffView:
    """The account whose ``email`` and ``password`` these are, now signed in
    (``last_login_at``). Raises :class:`LoginFailed` otherwise; a wrong password counts towards
    the lock-out, and every failure counts against ``client`` (the caller's address)."""
    try:
        email = normalise_email(email)
    except StaffError:
        email = ""
    password = (password or "")[:MAX_PASSWORD_LENGTH]
    limits = services.limits
    address_blocked = bool(client) and limits.exceeded(ADDRESS_RULE, client)
    now = services.now()
    with services.unit_of_work() as session:
        row = _find(session, email) if email else None
        found = None if row is None else (row.id, row.password_hash, bool(row.active),
                                          row.locked_until)
    if found is None or address_blocked or (found[3] is not None and found[3] > now):
        _verify(_DUMMY_HASH, password)  # same time as a real check
        reason = "address" if address_blocked else ("unknown" if found is None else "locked")
        _failed(services, client)
        raise LoginFailed(reason)
    staff_id, hashed, active, _ = found
    ok = _verify(hashed, password)
    if ok and not active:
        _failed(services, client)
        raise LoginFailed("disabled")
    with services.unit_of_work(write=True) as session:
        row = session.get(Staff, staff_id)
        if ok:
            row.failed_logins = 0
            row.locked_until = None
            row.last_login_at = now
            if PasswordHasher().check_needs_rehash(hashed):
                row.password_hash = PasswordHasher().hash(password)
            return _view(row)
        row.failed_logins = (row.failed_logins or 0) + 1
        locked = row.failed_logins >= MAX_FAILED_LOGINS
        if locked:
            row.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            audit.record(session, now=now, actor=f"staff:{row.email}", action="staff_login_locked",
                         subject=f"staff:{row.id}",
                         detail={"failed_logins": row.failed_logins,
                                 "locked_until": row.locked_until.isoformat(timespec="seconds")})
            row.failed_logins = 0
    if locked:
        log.warning("staff account %s locked for %d minutes after %d failed sign-ins",
                    staff_id, LOCK_MINUTES, MAX_FAILED_LOGINS)
    _failed(services, client)
    raise LoginFailed("wrong" if active else "disabled")


def _failed(services, client: str) -> None:
    if client:
        services.limits.hit(ADDRESS_RULE, client)
