"""Write generated rows (``{table name: [row dict, ...]}``) with bulk Core inserts."""
from __future__ import annotations

import csv
import io
import logging
from typing import Mapping, Sequence

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from bot.store.models import Base

log = logging.getLogger(__name__)

Rows = Mapping[str, Sequence[dict]]

# Rows per INSERT statement: keeps memory flat and stays under driver parameter limits.
CHUNK = 5000
# On PostgreSQL, tables this big go through COPY: psycopg2's executemany renders every row in
# Python (about 30 s for the demo's events on our 2 shared cores), COPY takes a few seconds.
COPY_THRESHOLD = 20_000
NULL = "\\N"


def write_rows(session: Session, rows: Rows) -> dict[str, int]:
    """Insert ``rows`` parents first and return the row count written per table.

    Rows carry explicit primary keys (so children can point at parents without a round trip);
    on PostgreSQL the id sequences are moved past them afterwards so later inserts don't collide.
    """
    unknown = set(rows) - set(Base.metadata.tables)
    if unknown:
        raise ValueError(f"unknown tables: {sorted(unknown)}")
    counts: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        table_rows = rows.get(table.name)
        if not table_rows:
            continue
        if len(table_rows) >= COPY_THRESHOLD and _can_copy(session):
            _copy(session, table, table_rows)
        else:
            for start in range(0, len(table_rows), CHUNK):
                session.execute(insert(table), list(table_rows[start : start + CHUNK]))
        counts[table.name] = len(table_rows)
        log.debug("inserted %d rows into %s", len(table_rows), table.name)
    sync_sequences(session, counts)
    return counts


def _can_copy(session: Session) -> bool:
    bind = session.get_bind()
    return bind.dialect.name == "postgresql" and bind.dialect.driver == "psycopg2"


def _copy(session: Session, table, rows: Sequence[dict]) -> None:
    """COPY ``rows`` into ``table`` inside the session's transaction (CSV; None -> NULL)."""
    columns = [c.name for c in table.columns if c.name in rows[0]]
    buf = io.StringIO()
    # None is written as the NULL marker \N, so empty strings stay empty strings.
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow([NULL if v is None else v for v in (row[c] for c in columns)])
    buf.seek(0)
    cursor = session.connection().connection.cursor()
    try:
        cursor.copy_expert(
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
            buf,
        )
    finally:
        cursor.close()


def sync_sequences(session: Session, table_names) -> None:
    """Move PostgreSQL serial sequences past the highest id (no-op on other databases)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in table_names:
        table = Base.metadata.tables[name]
        if "id" not in table.c:
            continue
        max_id = session.execute(select(func.max(table.c.id))).scalar()
        if max_id is None:
            continue
        session.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :value)"),
            {"table": name, "value": max_id},
        )
