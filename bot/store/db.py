"""Engine and session helpers. A process makes its one engine when it starts (bot.services)
and opens one short session per unit of work.

Every engine hides SQL parameters from its error messages (``hide_parameters``: an exception or
a log line must not carry an email, an address or an order number) and gives up on a connection
quickly: PostgreSQL after :data:`PG_CONNECT_TIMEOUT` seconds, a busy SQLite file after
:data:`SQLITE_BUSY_TIMEOUT`. The circuit breaker (:mod:`bot.store.breaker`) then keeps the next
turns from waiting for the same dead database.

A write unit of work (``session_scope(engine, write=True)``) on SQLite begins with
``BEGIN IMMEDIATE``: it takes SQLite's one write lock before its first read, so two writers of the
same order queue up (each within the busy timeout) instead of both reading "still open" and both
acting on it. We emit that BEGIN ourselves (SQLAlchemy's pysqlite recipe: the driver's own
implicit BEGIN comes only before the first INSERT/UPDATE and is never IMMEDIATE). Other units keep
the driver's behaviour on purpose: with our own deferred BEGIN for every unit, a unit that reads
and then writes would fail at once with SQLITE_BUSY (not wait) whenever another connection wrote
in between, which the driver's late BEGIN avoids. On PostgreSQL a write unit locks the order row
(``SELECT ... FOR UPDATE``); both then use conditional updates with a row-count check.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

# Seconds to wait for a PostgreSQL connection before the turn is told the shop is unreachable.
PG_CONNECT_TIMEOUT = 3
# Seconds a SQLite statement waits for another process's write lock (writes take milliseconds;
# a lock held longer is a stuck process, and a shopper should not wait for it).
SQLITE_BUSY_TIMEOUT = 5.0
# Seconds to wait for a free connection from a PostgreSQL engine's pool.
POOL_TIMEOUT = 10
# Execution option of a connection whose transaction writes (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "shop_write"


def make_engine(url: str, *, connect_timeout: float = PG_CONNECT_TIMEOUT,
                busy_timeout: float = SQLITE_BUSY_TIMEOUT) -> Engine:
    """Create an engine for ``url`` (SQLite files get their folder and foreign keys on)."""
    sqlite = url.startswith("sqlite")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict = {"future": True, "pool_pre_ping": True, "hide_parameters": True}
    if sqlite:
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout}
        if ":memory:" not in url:
            # SQLAlchemy 1.4 opens a new connection per checkout for SQLite files (NullPool);
            # pooling saves about a millisecond on every chat turn that touches the shop DB.
            kwargs["poolclass"] = QueuePool
    elif url.startswith("postgresql"):
        kwargs["connect_args"] = {"connect_timeout": max(1, int(connect_timeout))}
        kwargs["pool_timeout"] = POOL_TIMEOUT
    engine = create_engine(url, **kwargs)
    if sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            if conn.get_execution_options().get(WRITE_OPTION):
                # The driver must not BEGIN on its own inside ours (None: we do it).
                conn.connection.dbapi_connection.isolation_level = None
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "checkin")
        def _sqlite_checkin(dbapi_conn, _record):
            # Back to the driver's own (deferred) BEGIN for the connection's next user.
            if dbapi_conn is not None and dbapi_conn.isolation_level is None:
                dbapi_conn.isolation_level = ""

    return engine


def describe_error(err: BaseException) -> str:
    """A log line for a database error without any value from the data: the error class, the
    driver's class and SQLSTATE, and the statement with its placeholders. (The driver's own
    message is left out: PostgreSQL's DETAIL quotes the offending row, e.g. a duplicate email.)
    """
    orig = getattr(err, "orig", None)
    parts = [err.__class__.__name__]
    if orig is not None:
        parts.append(f"from {orig.__class__.__name__}")
        code = getattr(orig, "pgcode", None)
        if code:
            parts.append(f"sqlstate {code}")
        elif orig.__class__.__module__.startswith("sqlite3"):
            # SQLite's messages name no values ("database is locked", "no such table: x").
            parts.append(f"({str(orig)[:120]})")
    statement = getattr(err, "statement", None)
    if statement:
        parts.append("in: " + " ".join(str(statement).split())[:300])
    return " ".join(parts)


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One transaction: commits on success, rolls back on error.

    ``write=True`` for a unit of work that reads and then changes rows it read (an order's
    status, its refunds): on SQLite it holds the write lock from its first statement.
    """
    with Session(engine, future=True, expire_on_commit=False) as session, session.begin():
        if write:
            session.connection(execution_options={WRITE_OPTION: True})
        yield session
