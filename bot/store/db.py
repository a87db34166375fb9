"""Engine and session helpers. A process makes its one engine when it starts (bot.services)
and opens one short session per unit of work."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` (SQLite files get their folder and foreign keys on)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict = {"future": True, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        if ":memory:" not in url:
            # SQLAlchemy 1.4 opens a new connection per checkout for SQLite files (NullPool);
            # pooling saves about a millisecond on every chat turn that touches the shop DB.
            kwargs["poolclass"] = QueuePool
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commits on success, rolls back on error."""
    with Session(engine, future=True, expire_on_commit=False) as session, session.begin():
        yield session
