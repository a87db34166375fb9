"""Needs stated in any turn, captured off the chat's hot path.

In the chat only ``action_product_search`` captures needs. A shopper also states needs inside
other intents ("shame you don't have it in size 14", a wish in a complaint, a product named in a
delivery question). Running extraction on every turn inside the action server would add a
custom-action round trip to every turn, so instead :class:`NeedFollower` follows the conversation
events Rasa already stores in its SQL tracker store (``endpoints.yml``: ``tracker_store`` type
SQL) and captures needs from them a second or so later:

- it reads ``user`` events after the last processed event id (a checkpoint in our table
  ``need_follow_checkpoints``) from Rasa 3.6's ``events`` table (``id, sender_id, type_name,
  timestamp, intent_name, action_name, data``; ``data`` is the event's JSON with ``text`` and
  ``metadata``), over a read-only connection with short statements, so Rasa's writes never wait;
- it skips a turn in which ``action_product_search`` ran: the action already captured it;
- it captures the rest with :func:`bot.needs.service.capture`, so redaction, idempotency, the
  outbox for a down database, accumulation into the conversation's open need and catalogue
  matching are the in-chat ones. The customer id is the one the chat channel verified and stored
  in the message metadata (``bot.identity.VERIFIED_KEY``), else anonymous.

Rasa saves a turn (the user event and the actions it caused) in one commit, so when the user
event is visible, the actions are too; a turn still without its closing ``action_listen`` (events
appended over the HTTP API) is processed once it is ``settle_seconds`` old.

``turn`` is the message's number among the conversation's user messages (all sessions), and a
need first stated in a followed turn gets ``need_seq = turn * 100 + 50 + index``: the action's
needs use ``turn * 100 + index``, so the two never write each other's rows.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import yaml
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, func
from sqlalchemy import select
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.identity import customer_from_metadata
from bot.needs.outbox import Outbox
from bot.needs.service import capture
from bot.settings import REPO_ROOT
from bot.store.db import session_scope
from bot.store.models import NeedFollowCheckpoint

log = logging.getLogger(__name__)

# The action that captures needs in the chat (actions/names.py ACTION_PRODUCT_SEARCH; a test
# pins the two together). Turns in which it ran are not captured again.
CAPTURING_ACTIONS = frozenset({"action_product_search"})
FOLLOW_SEQ_OFFSET = 50
ENDPOINTS_PATH = REPO_ROOT / "endpoints.yml"
MAX_ATTEMPTS = 3  # an event whose capture keeps failing (not a DB outage) is skipped after this

# Rasa 3.6 ``SQLTrackerStore.SQLEvent`` (rasa/core/tracker_store.py), read-only here.
_tracker_metadata = MetaData()
EVENTS = Table(
    "events", _tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


class TrackerUnavailable(Exception):
    """The tracker store cannot be read (not created yet, server down, no events table)."""


class NotASqlTrackerStore(ValueError):
    """endpoints.yml configures a tracker store the follower cannot read."""


def tracker_url_from_endpoints(path: Path = ENDPOINTS_PATH, root: Path = REPO_ROOT) -> str:
    """The SQLAlchemy URL of the SQL tracker store configured in ``endpoints.yml``, built the way
    Rasa's ``SQLTrackerStore.get_db_url`` builds it (a relative SQLite path is relative to the
    project folder, where Rasa runs)."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    store = raw.get("tracker_store") or {}
    if str(store.get("type", "")).lower() != "sql":
        raise NotASqlTrackerStore(f"{path}: tracker_store type is {store.get('type')!r}, not SQL")

    def value(key, default=None):
        said = store.get(key, default)
        return os.path.expandvars(said) if isinstance(said, str) else said

    dialect = value("dialect", "sqlite")
    db = value("db", "rasa.db")
    host = value("url") or value("host")
    if host and "://" in str(host):
        return str(host)
    if dialect.startswith("sqlite"):
        db_path = Path(db)
        return f"sqlite:///{db_path if db_path.is_absolute() else (root / db_path)}"
    port = value("port")
    return URL.create(dialect, username=value("username"), password=value("password"),
                      host=host, port=int(port) if port else None,
                      database=value("login_db") or db,
                      query=value("query") or {}).render_as_string(hide_password=False)


def tracker_engine(url: str) -> Engine:
    """An engine that only reads the tracker store (SQLite: opened read-only, never WAL'd)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database and \
            parsed.database != ":memory:":
        path = Path(parsed.database).resolve()
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", future=True,
                             connect_args={"timeout": 5, "check_same_thread": False})
    return create_engine(url, future=True, pool_pre_ping=True)


def source_name(url: str) -> str:
    """The checkpoint's key for a tracker store: its URL without the password."""
    return make_url(url).render_as_string(hide_password=True)[:255]


@dataclass(frozen=True)
class UserEvent:
    id: int
    sender_id: str
    timestamp: float
    text: str
    metadata: dict


@dataclass(frozen=True)
class Turn:
    event: UserEvent | None  # None: the row is malformed
    number: int = 0  # the message's number among the conversation's user messages
    actions: tuple[str, ...] = ()
    complete: bool = True  # its closing action_listen (or a later user message) is stored


@dataclass
class FollowStats:
    events: int = 0  # user events read
    captured: int = 0  # events that logged (or queued) at least one need
    handled_in_chat: int = 0  # turns action_product_search already captured
    malformed: int = 0
    failed: int = 0
    queued: int = 0  # needs that went to the outbox (shop DB down)
    needs_logged: list[tuple[str, int]] = field(default_factory=list)


def parse_event(row) -> UserEvent | None:
    """A ``user`` row as an event, or None when it is malformed (bad JSON, no text...)."""
    try:
        data = json.loads(row.data) if isinstance(row.data, (str, bytes)) else None
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(row.sender_id, str) or not row.sender_id:
        return None
    text = data.get("text")
    if not isinstance(text, str):
        return None
    metadata = data.get("metadata")
    stamp = row.timestamp if isinstance(row.timestamp, (int, float)) else data.get("timestamp")
    if not isinstance(stamp, (int, float)) or stamp != stamp:  # NaN
        return None
    return UserEvent(int(row.id), row.sender_id, float(stamp), text,
                     metadata if isinstance(metadata, dict) else {})


def _is_shopper_text(text: str) -> bool:
    said = text.strip()
    # "/product_search" and other button payloads, Rasa's triggered intents
    return bool(said) and not said.startswith("/") and not said.startswith("EXTERNAL: ")


class NeedFollower:
    """Reads new ``user`` events from a Rasa SQL tracker store and captures their needs.

    ``poll_once`` processes one batch and returns how many events it consumed; ``run`` polls
    until ``stop`` is set, surviving a down tracker store or shop database (it waits and
    retries; needs captured while the shop database is down wait in the outbox).
    """

    def __init__(self, tracker: Engine, shop: Engine, *, source: str, extractor,
                 outbox: Outbox, batch_size: int = 100,
                 settle_seconds: float = 30.0, start_at_end: bool = False,
                 clock: Callable[[], float] = time.time):
        self.tracker = tracker
        self.shop = shop
        self.source = source
        self.extractor = extractor
        self.outbox = outbox
        self.batch_size = batch_size
        self.settle_seconds = settle_seconds
        self.start_at_end = start_at_end
        self.clock = clock
        self.stats = FollowStats()
        self.checkpoint: int | None = None  # last processed event id (None: not loaded yet)
        self._saved: int | None = None
        self._attempts: dict[int, int] = {}
        self._state = "starting"

    # --- checkpoint (shop database) ---------------------------------------------------------

    def _load_checkpoint(self) -> int:
        with session_scope(self.shop) as session:
            row = session.get(NeedFollowCheckpoint, self.source)
            if row is not None:
                return int(row.last_event_id)
        if self.start_at_end:
            return self._max_event_id()
        return 0

    def _save_checkpoint(self) -> None:
        if self.checkpoint is None or self.checkpoint == self._saved:
            return
        try:
            with session_scope(self.shop) as session:
                row = session.get(NeedFollowCheckpoint, self.source)
                if row is None:
                    session.add(NeedFollowCheckpoint(source=self.source,
                                                     last_event_id=self.checkpoint,
                                                     updated_at=datetime.utcnow()))
                else:
                    row.last_event_id = self.checkpoint
                    row.updated_at = datetime.utcnow()
            self._saved = self.checkpoint
        except SQLAlchemyError as err:
            # Kept in memory; written once the database is back. Should this process stop
            # first, the events since the saved checkpoint are read again and change nothing
            # (captures are idempotent per conversation, turn and text).
            log.warning("needs follower: checkpoint not saved (%s); retrying later",
                        err.__class__.__name__)

    # --- tracker store (read only) ----------------------------------------------------------

    def _max_event_id(self) -> int:
        try:
            with self.tracker.connect() as conn:
                return int(conn.execute(select(func.max(EVENTS.c.id))).scalar() or 0)
        except SQLAlchemyError as err:
            raise TrackerUnavailable(err.__class__.__name__) from err

    def _read_turns(self, after: int) -> list[tuple[int, Turn]]:
        """The next batch of user events after ``after`` with their turn facts, read in a few
        short statements (the connection is closed before any extraction runs)."""
        try:
            with self.tracker.connect() as conn:
                rows = conn.execute(
                    select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.timestamp, EVENTS.c.data)
                    .where(EVENTS.c.id > after, EVENTS.c.type_name == "user")
                    .order_by(EVENTS.c.id).limit(self.batch_size)).all()
                turns = []
                for row in rows:
                    event = parse_event(row)
                    turns.append((int(row.id), self._turn(conn, event) if event else Turn(None)))
                return turns
        except SQLAlchemyError as err:
            raise TrackerUnavailable(err.__class__.__name__) from err

    @staticmethod
    def _turn(conn, event: UserEvent) -> Turn:
        later = conn.execute(
            select(EVENTS.c.type_name, EVENTS.c.action_name)
            .where(EVENTS.c.sender_id == event.sender_id, EVENTS.c.id > event.id)
            .order_by(EVENTS.c.id).limit(200)).all()
        actions, complete = [], False
        for type_name, action_name in later:
            if type_name == "user":
                complete = True
                break
            if type_name == "action":
                if action_name == "action_listen":
                    complete = True
                    break
                actions.append(action_name or "")
        number = conn.execute(
            select(func.count()).select_from(EVENTS)
            .where(EVENTS.c.sender_id == event.sender_id, EVENTS.c.type_name == "user",
                   EVENTS.c.id <= event.id)).scalar()
        return Turn(event, int(number or 1), tuple(actions), complete)

    # --- one event --------------------------------------------------------------------------

    def customer_id(self, event: UserEvent) -> int | None:
        """The customer the chat channel verified for the message, if any."""
        return customer_from_metadata(event.metadata)

    def _capture(self, turn: Turn) -> None:
        event = turn.event
        when = datetime.utcfromtimestamp(event.timestamp)
        result = capture(event.sender_id, self.customer_id(event), turn.number, event.text,
                         engine=self.shop, extractor=self.extractor, outbox=self.outbox,
                         now=when, ask=False,
                         seq_base=turn.number * 100 + FOLLOW_SEQ_OFFSET, open_as_of=when,
                         detail_needs_cue=True)
        if result.logged:
            self.stats.captured += 1
            self.stats.queued += len(result.logged) if result.queued else 0
            self.stats.needs_logged.extend((event.sender_id, s) for s in result.logged)

    def _process(self, event_id: int, turn: Turn) -> bool:
        """Handle one user event; False when it must be tried again on a later poll."""
        if turn.event is None:
            self.stats.malformed += 1
            log.warning("needs follower: skipping malformed tracker event %s", event_id)
            return True
        if CAPTURING_ACTIONS.intersection(turn.actions):
            self.stats.handled_in_chat += 1
            return True
        if not _is_shopper_text(turn.event.text):
            return True
        try:
            self._capture(turn)
        except Exception:  # noqa: BLE001 - one bad event must not stop the follower
            attempts = self._attempts[event_id] = self._attempts.get(event_id, 0) + 1
            if attempts < MAX_ATTEMPTS:
                log.warning("needs follower: event %s failed (attempt %s); retrying later",
                            event_id, attempts, exc_info=True)
                return False
            log.exception("needs follower: giving up on event %s", event_id)
            self.stats.failed += 1
        self._attempts.pop(event_id, None)
        return True

    def poll_once(self, stop: threading.Event | None = None) -> int:
        """Process the next batch of user events; returns how many were consumed.

        Raises :class:`TrackerUnavailable` when the tracker store cannot be read and
        ``SQLAlchemyError`` when the checkpoint cannot be loaded (the shop DB is down)."""
        if self.checkpoint is None:
            self.checkpoint = self._saved = self._load_checkpoint()
        turns = self._read_turns(self.checkpoint)
        if not turns:
            latest = self._max_event_id()
            if latest < self.checkpoint:
                # the tracker store was recreated (ids start again): follow the new one
                log.warning("needs follower: tracker store has fewer events (%s) than the "
                            "checkpoint (%s); starting again from its first event",
                            latest, self.checkpoint)
                self.checkpoint = 0
        consumed = 0
        now = self.clock()
        for event_id, turn in turns:
            if stop is not None and stop.is_set():
                break
            if turn.event is not None and not turn.complete and \
                    now - turn.event.timestamp < self.settle_seconds:
                break  # its actions may not be stored yet; look again on the next poll
            if not self._process(event_id, turn):
                break
            self.stats.events += 1
            self.checkpoint = event_id
            consumed += 1
        self._save_checkpoint()
        return consumed

    def _report(self, state: str) -> None:
        if state != self._state:
            (log.info if state == "ok" else log.warning)("needs follower: %s", state)
            self._state = state

    def run(self, stop: threading.Event, interval: float = 1.0, max_backoff: float = 30.0) -> None:
        """Poll until ``stop`` is set; a down database is waited for with a growing delay."""
        delay = interval
        while not stop.is_set():
            try:
                consumed = self.poll_once(stop)
                self._report("ok")
                delay = interval
                if consumed >= self.batch_size:
                    continue  # more waiting: no pause
            except TrackerUnavailable as err:
                self._report(f"tracker store unavailable ({err}); retrying")
                delay = min(max(delay * 2, interval), max_backoff)
            except SQLAlchemyError as err:
                self._report(f"shop database unavailable ({err.__class__.__name__}); retrying")
                delay = min(max(delay * 2, interval), max_backoff)
            stop.wait(delay)
        self._save_checkpoint()
