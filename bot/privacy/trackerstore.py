"""Rasa's SQL tracker store as privacy needs it: find a customer's conversations, read their
text, delete conversations and old events.

The table is Rasa 3.6's ``SQLTrackerStore.SQLEvent`` (``events``: ``id, sender_id, type_name,
timestamp, intent_name, action_name, data``), declared once in :mod:`bot.needs.follow`; the
store's URL is found the way the needs follower finds it (``SHOP_TRACKER_URL``, else
``endpoints.yml``). Deletes run in small batches, each its own short transaction, so the Rasa
server's writes never wait long. On SQLite every connection sets ``PRAGMA secure_delete``: a
deleted event's bytes are overwritten with zeros, not left in free pages of the file.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy import create_engine, event, func, inspect, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.identity import VERIFIED_KEY, customer_from_stored_token
from bot.needs.follow import EVENTS, tracker_url_from_endpoints
from bot.settings import Settings

log = logging.getLogger(__name__)

BATCH = 500


class TrackerStoreError(Exception):
    """The tracker store cannot be read or written (server down, locked too long)."""


@dataclass(frozen=True)
class Message:
    conversation_id: str
    timestamp: float | None
    sender: str  # "customer" or "assistant"
    text: str


def tracker_url(settings: Settings) -> str:
    """``SHOP_TRACKER_URL``, else the SQL tracker store of ``endpoints.yml``."""
    return settings.privacy.tracker_url or tracker_url_from_endpoints()


def _chunks(items: Iterable[str], size: int = BATCH) -> Iterator[list[str]]:
    items = sorted(set(items))
    for start in range(0, len(items), size):
        yield items[start:start + size]


def customer_in_metadata(metadata: object, customer_id: int, identity_secret: str,
                         timestamp: float | None) -> bool:
    """Whether a user event's metadata names ``customer_id``: the id the input channel verified
    (``VERIFIED_KEY``), or - in events stored before the channel did that - a signed token
    that verifies as of the message's time."""
    if not isinstance(metadata, dict):
        return False
    verified = metadata.get(VERIFIED_KEY)
    if verified is not None and str(verified).strip() == str(customer_id):
        return True
    return bool(identity_secret) and customer_from_stored_token(
        metadata, identity_secret, now=timestamp) == customer_id


class TrackerStore:
    """One tracker store (an engine of its own: it is not the shop database)."""

    def __init__(self, url: str):
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.drivername.startswith("sqlite")
        # A SQLite store Rasa has not created yet is not created here either (nor an in-memory
        # one, which no other process could see).
        self.missing = self.is_sqlite and (parsed.database in (None, "", ":memory:")
                                           or not Path(parsed.database).exists())
        kwargs: dict = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 15, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine | None = None if self.missing else create_engine(url, **kwargs)
        if self.engine is not None and self.is_sqlite:

            @event.listens_for(self.engine, "connect")
            def _secure_delete(dbapi_conn, _record):  # pragma: no cover - trivial
                cursor = dbapi_conn.cursor()
                cursor.execute("PRAGMA secure_delete=ON")
                cursor.close()

    @classmethod
    def from_settings(cls, settings: Settings) -> "TrackerStore":
        return cls(tracker_url(settings))

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def __enter__(self) -> "TrackerStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def has_events(self) -> bool:
        """False while Rasa has not created its store (no file, no ``events`` table)."""
        if self.engine is None:
            return False
        try:
            return inspect(self.engine).has_table("events")
        except SQLAlchemyError as err:
            raise TrackerStoreError(err.__class__.__name__) from err

    # --- reading ----------------------------------------------------------------------------

    def conversations_of_customer(self, customer_id: int, identity_secret: str = "") -> set[str]:
        """Every conversation in which a user message carries ``customer_id`` (module doc)."""
        if not self.has_events():
            return set()
        found: set[str] = set()
        stmt = (select(EVENTS.c.sender_id, EVENTS.c.timestamp, EVENTS.c.data)
                .where(EVENTS.c.type_name == "user")
                .where(EVENTS.c.data.like(f'%"{VERIFIED_KEY}"%')
                       | EVENTS.c.data.like('%"customer_token"%')))
        try:
            with self.engine.connect() as conn:
                for sender_id, timestamp, data in conn.execute(
                        stmt.execution_options(yield_per=1000)):
                    if sender_id in found:
                        continue
                    try:
                        metadata = (json.loads(data) or {}).get("metadata")
                    except (TypeError, ValueError, AttributeError):
                        continue
                    if customer_in_metadata(metadata, customer_id, identity_secret, timestamp):
                        found.add(sender_id)
        except SQLAlchemyError as err:
            raise TrackerStoreError(err.__class__.__name__) from err
        return found

    def latest_timestamp(self, conversation_ids: Iterable[str]) -> float | None:
        """The newest event time over the conversations (None: they have no events)."""
        if not self.has_events():
            return None
        latest = None
        try:
            with self.engine.connect() as conn:
                for chunk in _chunks(conversation_ids):
                    value = conn.execute(select(func.max(EVENTS.c.timestamp))
                                         .where(EVENTS.c.sender_id.in_(chunk))).scalar()
                    if value is not None and (latest is None or value > latest):
                        latest = float(value)
        except SQLAlchemyError as err:
            raise TrackerStoreError(err.__class__.__name__) from err
        return latest

    def messages(self, conversation_ids: Iterable[str]) -> list[Message]:
        """What the customer and the assistant said in the conversations, oldest first."""
        if not self.has_events():
            return []
        out: list[Message] = []
        try:
            with self.engine.connect() as conn:
                for chunk in _chunks(conversation_ids):
                    rows = conn.execute(
                        select(EVENTS.c.sender_id, EVENTS.c.timestamp, EVENTS.c.type_name,
                               EVENTS.c.data)
                        .where(EVENTS.c.sender_id.in_(chunk),
                               EVENTS.c.type_name.in_(("user", "bot")))
                        .order_by(EVENTS.c.id))
                    for sender_id, timestamp, type_name, data in rows:
                        try:
                            text = (json.loads(data) or {}).get("text")
                        except (TypeError, ValueError, AttributeError):
                            continue
                        if isinstance(text, str) and text:
                            out.append(Message(sender_id, timestamp,
                                               "customer" if type_name == "user" else "assistant",
                                               text))
        except SQLAlchemyError as err:
            raise TrackerStoreError(err.__class__.__name__) from err
        out.sort(key=lambda m: (m.conversation_id, m.timestamp or 0))
        return out

    # --- deleting ---------------------------------------------------------------------------

    def _delete_batches(self, where) -> tuple[int, set[str]]:
        deleted, senders = 0, set()
        while True:
            with self.engine.begin() as conn:
                rows = conn.execute(select(EVENTS.c.id, EVENTS.c.sender_id).where(where)
                                    .order_by(EVENTS.c.id).limit(BATCH)).all()
                if not rows:
                    return deleted, senders
                conn.execute(EVENTS.delete().where(EVENTS.c.id.in_([r.id for r in rows])))
            deleted += len(rows)
            senders.update(r.sender_id for r in rows)

    def delete_conversations(self, conversation_ids: Iterable[str]) -> int:
        """Delete every event of the conversations; returns how many."""
        if not self.has_events():
            return 0
        total = 0
        try:
            for chunk in _chunks(conversation_ids):
                total += self._delete_batches(EVENTS.c.sender_id.in_(chunk))[0]
        except SQLAlchemyError as err:
            raise TrackerStoreError(err.__class__.__name__) from err
        return total

    def _old_events(self, cutoff: float, active_since: float):
        active = select(EVENTS.c.sender_id).where(EVENTS.c.timestamp >= active_since)
        return (EVENTS.c.timestamp < cutoff) & EVENTS.c.sender_id.not_in(active.scalar_subquery())

    def count_before(self, cutoff: float, active_since: float) -> tuple[int, int]:
        """(events, conversations) that :meth:`delete_before` would delete."""
        if not self.has_events():
            return 0, 0
        where = self._old_events(cutoff, active_since)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(select(func.count(), func.count(EVENTS.c.sender_id.distinct()))
                                   .where(where)).one()
        except SQLAlchemyError as err:
            raise TrackerStoreError(err.__class__.__name__) from err
        return int(row[0]), int(row[1])

    def delete_before(self, cutoff: float, active_since: float) -> tuple[int, int]:
        """Delete events older than ``cutoff`` (unix seconds) of conversations with no event
        since ``active_since``: Rasa keeps a conversation it is working on in memory and would
        write back what we deleted (see :mod:`bot.privacy.erasure`). Returns (events,
        conversations)."""
        if not self.has_events():
            return 0, 0
        try:
            deleted, senders = self._delete_batches(self._old_events(cutoff, active_since))
        except SQLAlchemyError as err:
            raise TrackerStoreError(err.__class__.__name__) from err
        return deleted, len(senders)

    def housekeeping(self) -> None:
        """SQLite in WAL mode: fold the log into the file and truncate it, so no copy of a
        deleted page stays in ``-wal``. (Deleted bytes in the file itself are zeroed by
        ``secure_delete``.)"""
        if self.engine is not None and self.is_sqlite:
            sqlite_checkpoint(self.engine)


def sqlite_checkpoint(engine: Engine) -> None:
    """``PRAGMA wal_checkpoint(TRUNCATE)`` on a SQLite database in WAL mode (else nothing)."""
    try:
        with engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            if str(mode).lower() != "wal":
                return
            busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            if busy:
                log.warning("WAL checkpoint of %s was blocked by a reader; it completes at a "
                            "later checkpoint", engine.url.render_as_string(hide_password=True))
    except SQLAlchemyError as err:
        log.warning("WAL checkpoint failed: %s", err.__class__.__name__)
