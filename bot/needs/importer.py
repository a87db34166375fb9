"""``python -m bot needs import``: a log of shoppers' messages into the needs table.

Each line of the input is one message (contract in ``shared/DESIGN.md``)::

    {"id": "msg-17", "created_at": "2026-05-01T14:03:00Z", "text": "...", "customer_id": 42}

``customer_id`` is optional. Every message goes through the production extractor
(:class:`bot.needs.pipeline.NeedExtractor`, ``nlp.pipe`` in batches; dates such as "by Friday"
are read from the message's own day), each need is matched against the catalogue with the chat's
rules (:mod:`bot.store.fit`, over one :class:`bot.store.catalogue.CatalogueSnapshot` read at the
start) and stored as if stated at ``created_at`` (``created_at`` = ``updated_at`` = that time):
conversation ``import:<id>``, ``need_seq`` 100, 101, ... for the message's needs, ``source_id``
``<id>:<index>``, text redacted like the chat's. A message states no need, one or several.

Idempotent on ``id``: a line whose conversation is already in the table (or whose id came
earlier in the same input) is counted as ``already_imported`` and not extracted again. A message
with no need writes nothing, so importing it again finds nothing to skip and counts it again as
``without_need``.

A bad line (not UTF-8, not JSON, not an object, a missing field, an id that is not a string or a
whole number or is longer than :data:`MAX_ID_CHARS`, a date that is not ISO-8601 or is in the
future, a text longer than :data:`MAX_TEXT_CHARS`, a customer that does not exist or was
erased) is reported with its line number and skipped; the rest is imported. Writes go in
batches, one transaction each; if a batch is refused (another import wrote the same ids at the
same moment) it is written again line by line, each line in a savepoint, so a line is written
whole or not at all.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.insights import facets as insight_facets
from bot.needs.pipeline import NeedExtractor
from bot.needs.service import NEED_FIELDS, message_key, record_values
from bot.needs.vocab import load_vocab
from bot.redact import redact
from bot.store.catalogue import CatalogueSnapshot
from bot.store.db import session_scope
from bot.store.models import Customer, Need

MAX_TEXT_CHARS = 10_000
MAX_LINE_CHARS = 1_000_000  # a longer line is not even parsed
MAX_ID_CHARS = 100
CONVERSATION_PREFIX = "import:"
SEQ_BASE = 100  # the message is the conversation's first turn: need_seq 100, 101, ...
BATCH = 500
_ECHO = 40  # how much of a bad value a report repeats


@dataclass(frozen=True)
class Line:
    number: int
    id: str
    created_at: datetime  # naive UTC
    text: str
    customer_id: int | None


@dataclass(frozen=True)
class BadLine:
    number: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.number}: {self.reason}"


@dataclass
class ImportStats:
    lines: int = 0  # non-blank lines read
    imported: int = 0  # lines written (with at least one need)
    needs: int = 0  # need rows written
    without_need: int = 0  # good lines stating no product need (nothing written)
    already_imported: int = 0  # lines whose id was imported before (or came earlier)
    skipped: int = 0  # bad lines
    seconds: float = 0.0
    statuses: dict = field(default_factory=dict)  # status -> needs written

    def as_dict(self) -> dict:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        data["messages_per_second"] = (round(self.lines / self.seconds, 1)
                                       if self.seconds > 0 else None)
        return data


def _echo(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return repr(text[:_ECHO] + ("..." if len(text) > _ECHO else ""))


def parse_time(value) -> datetime:
    """An ISO-8601 date or date and time (``Z`` or an offset; none: UTC) as naive UTC."""
    if not isinstance(value, str) or not 10 <= len(value.strip()) <= 40:
        raise ValueError
    text = value.strip()
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    when = datetime.fromisoformat(text)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when


def parse_line(number: int, raw: bytes | str, now: datetime) -> Line | BadLine | None:
    """One input line: a :class:`Line`, a :class:`BadLine` saying why not, or None (blank)."""
    if len(raw) > MAX_LINE_CHARS:
        return BadLine(number, f"line longer than {MAX_LINE_CHARS} characters")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return BadLine(number, "not UTF-8 text")
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        return BadLine(number, f"not JSON ({err.msg})")
    except RecursionError:
        return BadLine(number, "not JSON (nested too deeply)")
    if not isinstance(data, dict):
        return BadLine(number, "not a JSON object")
    for key in ("id", "created_at", "text"):
        if key not in data or data[key] is None:
            return BadLine(number, f"missing field: {key}")
    ident = data["id"]
    if isinstance(ident, bool) or not isinstance(ident, (str, int)):
        return BadLine(number, "id must be a string or a whole number")
    ident = str(ident).strip()
    if not ident:
        return BadLine(number, "id is empty")
    if len(ident) > MAX_ID_CHARS:
        return BadLine(number, f"id is longer than {MAX_ID_CHARS} characters")
    try:
        created = parse_time(data["created_at"])
    except (TypeError, ValueError, OverflowError):
        return BadLine(number, f"created_at is not an ISO-8601 date and time: "
                               f"{_echo(data['created_at'])}")
    if created > now:
        return BadLine(number, f"created_at is in the future: {_echo(data['created_at'])}")
    text = data["text"]
    if not isinstance(text, str):
        return BadLine(number, "text must be a string")
    if len(text) > MAX_TEXT_CHARS:
        return BadLine(number, f"text is longer than {MAX_TEXT_CHARS} characters "
                               f"({len(text)})")
    customer = data.get("customer_id")
    if customer is not None:
        if isinstance(customer, str) and customer.strip().isdigit():
            customer = int(customer.strip())
        if isinstance(customer, bool) or not isinstance(customer, int) or not \
                0 < customer < 2**31:
            return BadLine(number, f"customer_id must be a whole number: {_echo(customer)}")
    return Line(number, ident, created, text, customer)


def conversation_id(line_id: str) -> str:
    return f"{CONVERSATION_PREFIX}{line_id}"


class _Importer:
    def __init__(self, engine: Engine, extractor: NeedExtractor, now: datetime, *,
                 is_demo: bool, on_error: Callable[[BadLine], None]):
        self.engine = engine
        self.extractor = extractor
        self.now = now
        self.is_demo = is_demo
        self.on_error = on_error
        self.stats = ImportStats()
        self.seen: set[str] = set()
        self.customers: dict[int, bool] = {}  # id -> may be imported (exists, not erased)
        self.vocab = load_vocab()
        with session_scope(engine) as session:
            self.catalogue = CatalogueSnapshot.load(session)

    def bad(self, bad: BadLine) -> None:
        self.stats.skipped += 1
        self.on_error(bad)

    def _check_customers(self, lines: list[Line]) -> list[Line]:
        wanted = sorted({ln.customer_id for ln in lines if ln.customer_id is not None}
                        - set(self.customers))
        if wanted:
            with session_scope(self.engine) as session:
                found = dict(session.execute(select(Customer.id, Customer.erased_at)
                                             .where(Customer.id.in_(wanted))).all())
            for cid in wanted:
                self.customers[cid] = cid in found and found[cid] is None
        good = []
        for line in lines:
            if line.customer_id is not None and not self.customers[line.customer_id]:
                self.bad(BadLine(line.number, f"unknown customer {line.customer_id}"))
            else:
                good.append(line)
        return good

    def _new(self, lines: list[Line]) -> list[Line]:
        """The lines not imported before (in the table, or earlier in this input)."""
        fresh = []
        for line in lines:
            if line.id in self.seen:
                self.stats.already_imported += 1
            else:
                self.seen.add(line.id)
                fresh.append(line)
        if not fresh:
            return []
        with session_scope(self.engine) as session:
            done = set(session.execute(select(Need.conversation_id).where(
                Need.conversation_id.in_([conversation_id(ln.id) for ln in fresh]))
            ).scalars())
        self.stats.already_imported += sum(conversation_id(ln.id) in done for ln in fresh)
        return [ln for ln in fresh if conversation_id(ln.id) not in done]

    def _rows(self, line: Line, needs) -> list[dict]:
        cid = conversation_id(line.id)
        text = redact(line.text)[:4000]
        rows = []
        for index, need in enumerate(needs):
            data = {k: getattr(need, k) for k in NEED_FIELDS}  # not asdict(): no deep copies
            data["confidence"] = need.confidence
            match = self.catalogue.assess(data, self.vocab)
            record = {"customer_id": line.customer_id, "turn": 1, "text": text,
                      "last_message_key": message_key(cid, 1, line.text),
                      **{k: data.get(k) for k in NEED_FIELDS},
                      "confidence": data.get("confidence") or 0,
                      "matched_product_ids": match.product_ids, "status": match.status,
                      "extractor_version": self.extractor.version,
                      "now": line.created_at.isoformat()}
            rows.append({**record_values(record), "conversation_id": cid,
                         "need_seq": SEQ_BASE + index, "created_at": line.created_at,
                         "is_demo": self.is_demo, "source_id": f"{line.id}:{index}"})
        return rows

    def batch(self, lines: list[Line]) -> None:
        lines = self._new(self._check_customers(lines))
        if not lines:
            return
        extracted = self.extractor.extract_many([ln.text for ln in lines],
                                                days=[ln.created_at.date() for ln in lines])
        per_line = []
        for line, needs in zip(lines, extracted):
            if needs:
                per_line.append((line, self._rows(line, needs)))
            else:
                self.stats.without_need += 1
        if not per_line:
            return
        try:
            with session_scope(self.engine) as session:
                written = [row for _, rows in per_line for row in rows]
                session.execute(insert(Need), written)
                _sync_facets(session, written)
            for _, rows in per_line:
                self._written(rows)
        except IntegrityError:  # another import wrote some of these ids meanwhile
            self._line_by_line(per_line)

    def _line_by_line(self, per_line: list[tuple[Line, list[dict]]]) -> None:
        with session_scope(self.engine) as session:
            for _line, rows in per_line:
                try:
                    with session.begin_nested():
                        session.execute(insert(Need), rows)
                        _sync_facets(session, rows)
                except IntegrityError:
                    self.stats.already_imported += 1
                    continue
                self._written(rows)

    def _written(self, rows: list[dict]) -> None:
        self.stats.imported += 1
        self.stats.needs += len(rows)
        for row in rows:
            self.stats.statuses[row["status"]] = self.stats.statuses.get(row["status"], 0) + 1


def _sync_facets(session, rows: list[dict]) -> None:
    """The insights' facets and rollup of the needs just inserted, in the same transaction."""
    source_ids = [row["source_id"] for row in rows]
    ids = [need_id for chunk in range(0, len(source_ids), 500) for need_id in session.execute(
        select(Need.id).where(Need.source_id.in_(source_ids[chunk:chunk + 500]))).scalars()]
    insight_facets.sync(session, ids)


def import_lines(engine: Engine, extractor: NeedExtractor, lines: Iterable[bytes | str], *,
                 now: datetime, is_demo: bool = False, batch_size: int = BATCH,
                 on_error: Callable[[BadLine], None] = lambda bad: None) -> ImportStats:
    """Import message lines (module docstring); ``on_error`` hears of each bad line."""
    started = time.perf_counter()
    importer = _Importer(engine, extractor, now, is_demo=is_demo, on_error=on_error)
    pending: list[Line] = []
    for number, raw in enumerate(lines, start=1):
        parsed = parse_line(number, raw, now)
        if parsed is None:
            continue
        importer.stats.lines += 1
        if isinstance(parsed, BadLine):
            importer.bad(parsed)
            continue
        pending.append(parsed)
        if len(pending) >= batch_size:
            importer.batch(pending)
            pending = []
    if pending:
        importer.batch(pending)
    importer.stats.seconds = time.perf_counter() - started
    return importer.stats


def read_lines(path) -> Iterator[bytes]:
    """The raw lines of a file (``-``: standard input), without their line ends."""
    import sys

    handle = sys.stdin.buffer if str(path) == "-" else open(path, "rb")
    try:
        for raw in handle:
            yield raw.rstrip(b"\r\n")
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
