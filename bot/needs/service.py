"""One conversation turn of need capture: extract, merge with the conversation's open need, ask
once for a missing key detail, match the catalogue, log the need, say what to answer.

The action calls :func:`capture` and keeps ``CaptureResult.need`` in a slot to pass back as
``previous_need`` next turn (without it the open need is read from the needs table). Writes go
through :func:`log_need`. A turn tries the database once (through the process's circuit breaker,
so a database that just failed is not tried again for a few seconds); when it is down the record
is appended to the :class:`Outbox` and the turn goes on. The turn never imports queued records:
:func:`drain_outbox` does, from a background task (the action server's) or a command.
"""
from __future__ import annotations

from types import MappingProxyType

import hashlib
import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import ContextManager

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from bot import audit
from bot.insights import facets as insight_facets
from bot.needs.need import Need
from bot.needs.outbox import BadRecord, DrainResult, Outbox
from bot.needs.pipeline import NeedExtractor, has_need_cue
from bot.redact import redact
from bot.needs.vocab import load_vocab
from bot.store import catalogue
from bot.store.breaker import CircuitBreaker
from bot.store.db import session_scope
from bot.store.errors import StoreUnavailable
from bot.store.models import Need as NeedRow

log = logging.getLogger(__name__)

MAX_CARDS = 3
_FIELDS = ("product", "category", "attributes", "colour", "size", "brand", "price_min",
           "price_max", "currency", "quantity", "recipient", "occasion", "needed_by")
QUESTIONS = MappingProxyType({"size": "What size do you need?"})
# What a failed database call on a turn looks like: the driver's error, or the breaker's.
_DB_DOWN = (SQLAlchemyError, StoreUnavailable)
_RECORD_TYPES = MappingProxyType({
    "conversation_id": str, "need_seq": int, "turn": int, "text": str,
    "last_message_key": str, "status": str, "now": str,
})


def _guarded(breaker: CircuitBreaker | None) -> ContextManager:
    """One database call through the breaker (fails fast while it is open)."""
    return breaker.guard() if breaker is not None else nullcontext()


@dataclass
class CaptureResult:
    kind: str  # "none" | "question" | "products" | "passed_on"
    text: str = ""
    need: dict | None = None  # the accumulated need (keep it for the next turn)
    products: list[dict] = field(default_factory=list)  # cards: id, name, price, currency, url, image
    buttons: list[dict] = field(default_factory=list)
    question: str | None = None  # the field asked about
    status: str | None = None  # matched / unmet
    queued: bool = False  # the DB was down: the record waits in the outbox
    logged: list[int] = field(default_factory=list)  # need_seq values written this turn


def message_key(conversation_id: str, turn: int, text: str) -> str:
    return hashlib.sha256(f"{conversation_id}\x1f{turn}\x1f{text}".encode()).hexdigest()


def _need_dict(need: Need) -> dict:
    data = need.to_dict()
    return {k: data[k] for k in _FIELDS + ("confidence",)}


def merge(previous: dict, new: dict) -> dict:
    """A later detail refines the open need: new values replace old ones, attributes add up."""
    merged = dict(previous)
    for key in _FIELDS:
        value = new.get(key)
        if key == "attributes":
            merged[key] = list(dict.fromkeys((previous.get(key) or []) + (value or [])))
        elif value not in (None, [], ""):
            merged[key] = value
    merged["confidence"] = max(previous.get("confidence") or 0, new.get("confidence") or 0)
    return merged


def _same_need(previous: dict, new: dict) -> bool:
    if not previous.get("product"):
        return True
    if previous.get("category") and previous.get("category") == new.get("category"):
        return True
    return previous["product"].split()[-1] == (new.get("product") or "").split()[-1]


def _record(conversation_id, customer_id, turn, text, need, seq, key, status, matched,
            version, now, new: bool = False) -> dict:
    return {
        "conversation_id": conversation_id, "need_seq": seq, "new": new,
        "customer_id": customer_id,
        "turn": turn, "text": redact(text)[:4000], "last_message_key": key,
        **{k: need.get(k) for k in _FIELDS}, "confidence": need.get("confidence") or 0,
        "matched_product_ids": matched, "status": status, "extractor_version": version,
        "now": now.isoformat(),
    }


def log_need(engine: Engine, record: dict) -> None:
    """Insert or update the need row (conversation, need_seq); a repeated message is a no-op."""
    now = datetime.fromisoformat(record["now"])
    values = {
        "customer_id": record["customer_id"], "turn": record["turn"], "text": record["text"],
        "last_message_key": record["last_message_key"],
        "product": record["product"], "category": record["category"],
        "attributes": json.dumps(record["attributes"] or []),
        "colour": json.dumps(_as_list(record["colour"])),
        "size": json.dumps(_as_list(record["size"])),
        "brand": record["brand"], "currency": record["currency"],
        "price_min": _decimal(record["price_min"]), "price_max": _decimal(record["price_max"]),
        "quantity": record["quantity"], "recipient": record["recipient"],
        "occasion": record["occasion"],
        "needed_by": date.fromisoformat(record["needed_by"]) if record["needed_by"] else None,
        "confidence": _decimal(record["confidence"]),
        "matched_product_ids": json.dumps(record["matched_product_ids"]),
        "status": record["status"], "extractor_version": record["extractor_version"],
        "updated_at": now,
    }
    for attempt in range(2):
        try:
            with session_scope(engine) as session:
                seq = record["need_seq"]
                row = _need_row(session, record["conversation_id"], seq)
                if (row is not None and record.get("new")
                        and row.last_message_key != record["last_message_key"]):
                    # Turn numbers restart with each Rasa session, so a new need can meet an
                    # earlier session's row at the same number: never overwrite it.
                    seq = _seq_for_new_need(session, record)
                    row = _need_row(session, record["conversation_id"], seq)
                if row is None:
                    row = NeedRow(conversation_id=record["conversation_id"],
                                  need_seq=seq, created_at=now, **values)
                    session.add(row)
                elif row.last_message_key != record["last_message_key"]:
                    for key, value in values.items():
                        setattr(row, key, value)
                insight_facets.sync(session, [row])  # the insights' facets and rollup
            return seq
        except IntegrityError:  # a concurrent retry inserted it first: update instead
            if attempt:
                raise
    return record["need_seq"]  # pragma: no cover - the loop returns or raises


def _need_row(session, conversation_id: str, seq: int):
    return session.execute(select(NeedRow).where(
        NeedRow.conversation_id == conversation_id,
        NeedRow.need_seq == seq)).scalar_one_or_none()


def _seq_for_new_need(session, record: dict) -> int:
    """This message's row if it was logged before (a retry), else a number after all others.

    The index of the need within its message (``seq % 100``) is kept, so the several needs of one
    message stay apart and a retry finds each of them again.
    """
    index = record["need_seq"] % 100
    rows = session.execute(select(NeedRow.need_seq, NeedRow.last_message_key).where(
        NeedRow.conversation_id == record["conversation_id"])).all()
    for seq, key in rows:
        if key == record["last_message_key"] and seq % 100 == index:
            return seq
    return (max(seq for seq, _ in rows) // 100 + 1) * 100 + index


def check_record(record: dict) -> None:
    """Raise :class:`BadRecord` unless ``record`` looks like what :func:`_record` writes."""
    for key, kind in _RECORD_TYPES.items():
        value = record.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise BadRecord(f"{key} missing or not {kind.__name__}")
    try:
        datetime.fromisoformat(record["now"])
    except ValueError:
        raise BadRecord("now is not an ISO time") from None
    if record["status"] not in ("matched", "unmet"):
        raise BadRecord("unknown status")


def drain_outbox(engine: Engine, outbox: Outbox, *, breaker: CircuitBreaker | None = None,
                 now: datetime | None = None) -> DrainResult:
    """Import the records queued while the database was down (background task or command).

    Each record is written in its own transaction and is idempotent (its message key), so a
    drain resumed after a crash duplicates nothing. A record that can never be imported is
    quarantined; a database that is (still) down stops the drain with everything kept. Lines
    quarantined and not yet reported become one ``outbox_quarantine`` audit record.
    """
    def write(record: dict) -> None:
        check_record(record)
        try:
            with _guarded(breaker):
                log_need(engine, record)
        except (IntegrityError, DataError) as err:  # refused as invalid, not unavailable
            raise BadRecord(err.__class__.__name__) from err
        except (KeyError, TypeError, ValueError, ArithmeticError) as err:
            raise BadRecord(f"{err.__class__.__name__}: {err}") from err

    result = outbox.drain(write)
    if result.imported or result.quarantined:
        log.info("needs outbox: imported %s, quarantined %s", result.imported,
                 result.quarantined)
    _report_quarantine(engine, outbox, breaker, now or datetime.utcnow())
    return result


def _report_quarantine(engine: Engine, outbox: Outbox, breaker: CircuitBreaker | None,
                       now: datetime) -> None:
    unreported = outbox.unreported_quarantine()
    if not unreported:
        return
    try:
        with _guarded(breaker), session_scope(engine) as session:
            audit.record(session, now=now, actor="job", action="outbox_quarantine",
                         subject=outbox.quarantine_path.name,
                         detail={"lines": unreported, "total": outbox.quarantined()})
    except _DB_DOWN:
        log.warning("needs outbox: %s quarantined lines not reported yet (database unavailable)",
                    unreported)
        return
    outbox.mark_reported(unreported)


def _as_list(value) -> list:
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _decimal(value):
    return None if value is None else Decimal(str(value))


def _open_need(engine: Engine, conversation_id: str, as_of: datetime | None = None,
               breaker: CircuitBreaker | None = None) -> dict | None:
    """The conversation's most recently updated need (as it stood at ``as_of`` when given)."""
    query = select(NeedRow).where(NeedRow.conversation_id == conversation_id)
    if as_of is not None:
        query = query.where(NeedRow.updated_at <= as_of)
    with _guarded(breaker), session_scope(engine) as session:
        row = session.execute(query.order_by(NeedRow.updated_at.desc(), NeedRow.need_seq.desc())
                              .limit(1)).scalar_one_or_none()
        if row is None:
            return None
        need = {k: getattr(row, k) for k in _FIELDS}
        for key in ("attributes", "colour", "size"):
            need[key] = json.loads(need[key] or "[]")
        for key in ("price_min", "price_max"):
            need[key] = float(need[key]) if need[key] is not None else None
        need["needed_by"] = row.needed_by.isoformat() if row.needed_by else None
        need["confidence"] = float(row.confidence)
        need["_seq"] = row.need_seq
        need["_asked"] = []
        return need


def match_products(engine: Engine, need: dict, limit: int = MAX_CARDS,
                   breaker: CircuitBreaker | None = None) -> list[dict]:
    """Cards of the active, in-stock products meeting the need (:mod:`bot.store.catalogue`)."""
    with _guarded(breaker), session_scope(engine) as session:
        return catalogue.match_products(session, need, load_vocab(), limit)


def _needs_question(need: dict, asked: list[str]) -> str | None:
    if not need.get("product") or not need.get("category") or "size" in asked:
        return None
    category = load_vocab().taxonomy.category(need["category"])
    if category.sizes and not need.get("size"):
        return "size"
    return None


def capture(conversation_id: str, customer_id: int | None, turn: int, text: str,
            previous_need: dict | None = None, *, engine: Engine,
            outbox: Outbox, extractor: NeedExtractor,
            now: datetime | None = None, ask: bool = True, seq_base: int | None = None,
            open_as_of: datetime | None = None,
            detail_needs_cue: bool = False,
            breaker: CircuitBreaker | None = None) -> CaptureResult:
    """Handle one shopper message for need capture; never raises on bad input or a down DB.

    The database is tried once per turn (``breaker``: not at all while it is open); after the
    first failure the turn's records go to the outbox without another attempt.

    The keyword options are for captures made away from the chat (``follow.py``): ``ask=False``
    never asks a question (nobody would read it) and always matches; ``seq_base`` numbers new
    needs ``seq_base + index`` instead of ``turn * 100 + index``; ``open_as_of`` reads the open
    need as it stood at that time; ``detail_needs_cue`` keeps a detail without a product ("in
    size 14") only when the message has a need cue ("shame you don't have it in size 14").
    """
    now = now or datetime.utcnow()
    text = text if isinstance(text, str) else ""
    db_up = True
    needs = [_need_dict(n) for n in extractor.extract(text)]
    if detail_needs_cue and not any(n.get("product") for n in needs) and not has_need_cue(text):
        needs = []
    if not needs:
        return CaptureResult(kind="none", need=previous_need)
    if previous_need is None and db_up:
        try:
            previous_need = _open_need(engine, conversation_id, open_as_of, breaker)
        except _DB_DOWN:
            db_up = False
    key = message_key(conversation_id, turn, text)
    asked = list((previous_need or {}).get("_asked") or [])
    states: list[tuple[int, dict, bool]] = []  # (need_seq, need, is it a new need?)
    for index, new in enumerate(needs):
        if previous_need and index == 0 and (not new.get("product") or
                                             _same_need(previous_need, new)):
            states.append((previous_need["_seq"], merge(previous_need, new), False))
        elif new.get("product"):
            states.append(((turn * 100 if seq_base is None else seq_base) + index, new, True))
            asked = [] if index == 0 else asked
    if not states:  # a detail with no need open to attach it to
        return CaptureResult(kind="none", need=previous_need)
    seq, primary, _ = states[0]
    question = _needs_question(primary, asked) if ask else None
    result = CaptureResult(kind="question", question=question) if question else None
    logged, queued = [], False
    for index, (need_seq, state, is_new) in enumerate(states):
        matched: list[dict] = []
        if db_up and not (question and index == 0):
            try:
                matched = match_products(engine, state, breaker=breaker)
            except _DB_DOWN:
                db_up = False
        if index == 0:
            primary_cards = matched
        status = "matched" if matched else "unmet"
        record = _record(conversation_id, customer_id, turn, text, state, need_seq, key, status,
                         [c["id"] for c in matched], extractor.version, now, new=is_new)
        try:
            if not db_up:
                raise StoreUnavailable("database unavailable earlier in this turn")
            with _guarded(breaker):
                need_seq = log_need(engine, record)
            if index == 0:
                seq = need_seq
        except _DB_DOWN:
            db_up = False
            log.warning("needs DB unavailable; queued need %s/%s", conversation_id, need_seq)
            outbox.append(record)
            queued = True
        logged.append(need_seq)
    state_out = {**primary, "_seq": seq, "_asked": asked + ([question] if question else [])}
    if result is not None:
        result.text = QUESTIONS[question]
    elif primary_cards:
        result = CaptureResult(kind="products", status="matched", products=primary_cards,
                               text=f"Here's what I found for {primary.get('product')}:",
                               buttons=[{"title": "Something else", "payload": "/product_search"},
                                        {"title": "That's all, thanks", "payload": "/thank"}])
    else:
        thing = primary.get("product") or "that"
        result = CaptureResult(
            kind="passed_on", status="unmet",
            text=(f"Sorry, we don't have {thing} matching that right now. I've passed your "
                  "request on to our buying team."))
    result.need = state_out
    result.queued = queued
    result.logged = logged
    return result
