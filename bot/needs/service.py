"""One conversation turn of need capture: extract, merge with the conversation's open need (or
with the same need stated earlier in the conversation), ask once for a missing key detail, match
the catalogue, log the need with its status, say what to answer.

The status is the need's as it stood when the shopper asked (``bot.store.fit``): ``matched``,
``unmet:<reason>``, or ``pending`` while the bot waits for an answer to its question (or could
not read the catalogue: the database was down). :func:`bot.needs.records.settle_pending` settles
the pending needs of conversations that went quiet.

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
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import ContextManager

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from bot import audit
from bot.insights import facets as insight_facets
from bot.needs.need import Need
from bot.needs.outbox import BadRecord, DrainResult, Outbox
from bot.needs.pipeline import NeedExtractor, has_follow_up_cue, has_need_cue
from bot.redact import redact
from bot.needs.vocab import load_vocab
from bot.store import catalogue, fit
from bot.store.breaker import CircuitBreaker
from bot.store.db import session_scope
from bot.store.errors import StoreUnavailable
from bot.store.models import NEED_STATUSES, Need as NeedRow

log = logging.getLogger(__name__)

MAX_CARDS = 3
_FIELDS = ("product", "category", "attributes", "colour", "size", "brand", "price_min",
           "price_max", "currency", "quantity", "recipient", "occasion", "needed_by")
NEED_FIELDS = _FIELDS  # the NEED keys a logged need keeps (all but confidence)
LEGACY_UNMET = "unmet"  # the status outbox lines written before migration 0010 may carry
QUESTIONS = MappingProxyType({"size": "What size do you need?"})
# What a failed database call on a turn looks like: the driver's error, or the breaker's.
_DB_DOWN = (SQLAlchemyError, StoreUnavailable)
# "or rust", "and in navy?", "also a 12": another option for the open need
_ALTERNATIVE = re.compile(r"\s*(?:or|and|also|maybe|either|and/or)\b(?!\s+(?:a|an|some)\s+"
                          r"[a-z]+\s+(?:for|too)\b)", re.I)
# a bare size answering "What size do you need?": "10", "a 9.5 please", "size 12", "uk 7"
_BARE_SIZE = re.compile(r"^\s*(?:(?:a|an|size|sz|uk|eu)\s*)?(?P<v>\d{1,2}(?:\.5)?|[sml]|xs|xl|xxl)"
                        r"\s*(?:please|pls|plz|thanks|thx|ta|x)?\s*[.!]*\s*$", re.I)
# How long after a need was last spoken of a detail said without a need cue ("anything under
# 30?") still refines it, in turns the follower captures (not a product search).
FOLLOW_UP_WINDOW = timedelta(minutes=10)
_RECORD_TYPES = MappingProxyType({
    "conversation_id": str, "need_seq": int, "turn": int, "text": str,
    "last_message_key": str, "status": str, "now": str,
})


def _guarded(breaker: CircuitBreaker | None) -> ContextManager:
    """One database call through the breaker (fails fast while it is open)."""
    return breaker.guard() if breaker is not None else nullcontext()


@dataclass
class CaptureResult:
    kind: str  # "none" | "question" | "products" | "unmet" | "queued"
    text: str = ""
    need: dict | None = None  # the accumulated need (keep it for the next turn)
    products: list[dict] = field(default_factory=list)  # cards: id, name, price, currency, url, image
    buttons: list[dict] = field(default_factory=list)
    question: str | None = None  # the field asked about
    status: str | None = None  # the primary need's: matched / pending / unmet:<reason>
    queued: bool = False  # the DB was down: the record waits in the outbox
    logged: list[int] = field(default_factory=list)  # need_seq values written this turn


def message_key(conversation_id: str, turn: int, text: str) -> str:
    return hashlib.sha256(f"{conversation_id}\x1f{turn}\x1f{text}".encode()).hexdigest()


def _need_dict(need: Need) -> dict:
    data = need.to_dict()
    return {k: data[k] for k in _FIELDS + ("confidence",)}


def merge(previous: dict, new: dict, *, alternative: bool = False) -> dict:
    """A later detail refines the open need: new values replace old ones, attributes add up;
    an alternative ("or rust", "and in a 12?": ``alternative``) adds colours and sizes too."""
    merged = dict(previous)
    adding = ("attributes", "colour", "size") if alternative else ("attributes",)
    for key in _FIELDS:
        value = new.get(key)
        if key in adding:
            merged[key] = list(dict.fromkeys(_as_list(previous.get(key)) + _as_list(value)))
        elif value not in (None, [], ""):
            merged[key] = value
    merged["confidence"] = max(previous.get("confidence") or 0, new.get("confidence") or 0)
    return merged


def adds_alternative(text: str) -> bool:
    """A follow-up that offers another option rather than a change: "or rust", "and navy?",
    "also in a 12"."""
    return bool(_ALTERNATIVE.match(text or ""))


def follow_up_size(text: str, open_need: dict | None) -> list[str] | None:
    """The answer to the bot's size question when it is a bare size ("10", "a 9.5 please"):
    out of context the extractor cannot tell a size from a count."""
    if not open_need or "size" not in (open_need.get("_asked") or []):
        return None
    match = _BARE_SIZE.match(text or "")
    return [match.group("v").upper()] if match else None


def recently_open(open_need: dict | None, when: datetime) -> bool:
    """The open need was stated or refined within :data:`FOLLOW_UP_WINDOW` before ``when``."""
    updated = (open_need or {}).get("_updated")
    return isinstance(updated, datetime) and timedelta(0) <= when - updated <= FOLLOW_UP_WINDOW


def same_product(a: dict, b: dict) -> bool:
    """Both name a product, and it is the same one: the same head word ("boots", "hiking
    boots") or the same taxonomy type ("hoover", "vacuum cleaner")."""
    if not a.get("product") or not b.get("product"):
        return False
    types = load_vocab().product_types
    ka, kb = fit.kind_of(a, types), fit.kind_of(b, types)
    return bool(ka.stem and ka.stem == kb.stem) or bool(ka.ptype and ka.ptype == kb.ptype)


def _same_need(previous: dict, new: dict) -> bool:
    """Does ``new`` go on the open need? When that has no product yet (a gift without one), or
    names the same product. Another product, even of the same category, is another need."""
    return not previous.get("product") or same_product(previous, new)


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


def record_values(record: dict) -> dict:
    """The ``needs`` columns of a record made by :func:`_record` (all but the key, the
    conversation and need_seq, and ``created_at``)."""
    now = datetime.fromisoformat(record["now"])
    return {
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


def log_need(engine: Engine, record: dict) -> int:
    """Insert or update the need row (conversation, need_seq); a repeated message is a no-op.
    Returns the need_seq written (a new need meeting an older session's row moves on)."""
    now = datetime.fromisoformat(record["now"])
    values = record_values(record)
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
    if record["status"] not in NEED_STATUSES:
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
        if record.get("status") == LEGACY_UNMET:  # queued before statuses had reasons
            record = {**record, "status": fit.PENDING}  # settled by records.settle_pending
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


def need_from_row(row: NeedRow) -> dict:
    """A logged need as the NEED dict capture works with (``_seq``: its need_seq)."""
    need = {k: getattr(row, k) for k in _FIELDS}
    for key in ("attributes", "colour", "size"):
        try:
            need[key] = json.loads(need[key] or "[]")
        except ValueError:
            need[key] = []
    for key in ("price_min", "price_max"):
        need[key] = float(need[key]) if need[key] is not None else None
    need["needed_by"] = row.needed_by.isoformat() if row.needed_by else None
    need["confidence"] = float(row.confidence or 0)
    need["_seq"] = row.need_seq
    need["_asked"] = []
    need["_updated"] = row.updated_at
    return need


def _conversation_needs(engine: Engine, conversation_id: str, as_of: datetime | None = None,
                        breaker: CircuitBreaker | None = None) -> list[dict]:
    """The conversation's needs (as they stood at ``as_of`` when given), the most recently
    updated first: the first is the open need."""
    query = select(NeedRow).where(NeedRow.conversation_id == conversation_id)
    if as_of is not None:
        query = query.where(NeedRow.updated_at <= as_of)
    with _guarded(breaker), session_scope(engine) as session:
        rows = session.execute(query.order_by(NeedRow.updated_at.desc(), NeedRow.need_seq.desc())
                               .limit(200)).scalars().all()
        return [need_from_row(row) for row in rows]


def _open_need(engine: Engine, conversation_id: str, as_of: datetime | None = None,
               breaker: CircuitBreaker | None = None) -> dict | None:
    """The conversation's most recently updated need (as it stood at ``as_of`` when given)."""
    needs = _conversation_needs(engine, conversation_id, as_of, breaker)
    return needs[0] if needs else None


def assess(engine: Engine, need: dict, limit: int = MAX_CARDS,
           breaker: CircuitBreaker | None = None) -> catalogue.NeedMatch:
    """The need's status against the catalogue now, with cards of what fits
    (:func:`bot.store.catalogue.assess_need`)."""
    with _guarded(breaker), session_scope(engine) as session:
        return catalogue.assess_need(session, need, load_vocab(), limit)


def match_products(engine: Engine, need: dict, limit: int = MAX_CARDS,
                   breaker: CircuitBreaker | None = None) -> list[dict]:
    """Cards of the active, in-stock products meeting the need (:mod:`bot.store.catalogue`)."""
    return list(assess(engine, need, limit, breaker).cards)


def unmet_text(need: dict, match: catalogue.NeedMatch) -> str:
    """What the bot says about an unmet need: what the catalogue lacks, nothing more."""
    thing = need.get("product")
    status = match.status
    if not thing:
        return "Sorry, I couldn't find anything in our catalogue that fits that right now."
    if status == fit.OUT_OF_STOCK:
        return f"Sorry, we do sell {thing}, but nothing that fits is in stock right now."
    if status == fit.OVER_BUDGET:
        return f"Sorry, we do sell {thing}, but nothing that fits is in your price range."
    if status == fit.SIZE_OR_COLOUR:
        return f"Sorry, we do sell {thing}, but not in that {match.missing or 'size or colour'}."
    return f"Sorry, there's no {thing} in our catalogue right now."


def _detail_beyond_count(need: dict) -> bool:
    """A partial need that says more than a count (a bare "4" may be a rating or an answer)."""
    return any(need.get(k) not in (None, [], "") for k in _FIELDS if k != "quantity")


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
    earlier: list[dict] | None = None  # the conversation's needs, read when first wanted

    def conversation_needs() -> list[dict]:
        nonlocal earlier, db_up
        if earlier is None:
            earlier = []
            if db_up:
                try:
                    earlier = _conversation_needs(engine, conversation_id, open_as_of, breaker)
                except _DB_DOWN:
                    db_up = False
        return earlier

    answer = follow_up_size(text, previous_need)
    if answer is not None:  # "10" answering the size question: a size, not a count
        needs = [{**(needs[0] if needs and not needs[0].get("product") else {}),
                  "size": answer, "quantity": None, "confidence": 0.5}]
    if not needs:
        return CaptureResult(kind="none", need=previous_need)
    if previous_need is None:
        previous_need = next(iter(conversation_needs()), None)
    if detail_needs_cue and not any(n.get("product") for n in needs) and not has_need_cue(text) \
            and not (has_follow_up_cue(text) and recently_open(previous_need, open_as_of or now)
                     and _detail_beyond_count(needs[0])):
        # a detail without a product counts with a need cue ("shame you don't have it in 14"),
        # or said as a follow-up right after the need was spoken of ("anything under 30?",
        # "it's for my nephew"); "medium" answering an order form, or a rating "4", does not
        return CaptureResult(kind="none", need=previous_need)
    key = message_key(conversation_id, turn, text)
    alternative = adds_alternative(text)
    asked = list((previous_need or {}).get("_asked") or [])
    states: list[tuple[int, dict, bool]] = []  # (need_seq, need, is it a new need?)
    for index, new in enumerate(needs):
        if previous_need and index == 0 and (not new.get("product") or
                                             _same_need(previous_need, new)):
            states.append((previous_need["_seq"],
                           merge(previous_need, new, alternative=alternative), False))
            continue
        if not new.get("product"):
            continue
        used = {seq for seq, _, _ in states}
        restated = next((n for n in conversation_needs()
                         if n["_seq"] not in used and same_product(n, new)), None)
        if restated is not None:  # the same need stated again: one record
            states.append((restated["_seq"], merge(restated, new), False))
        else:
            states.append(((turn * 100 if seq_base is None else seq_base) + index, new, True))
        asked = [] if index == 0 else asked
    if not states:  # a detail with no need open to attach it to
        return CaptureResult(kind="none", need=previous_need)
    seq, primary, _ = states[0]
    question = _needs_question(primary, asked) if ask else None
    logged, queued = [], False
    primary_match = catalogue.NeedMatch(fit.PENDING)
    for index, (need_seq, state, is_new) in enumerate(states):
        match = catalogue.NeedMatch(fit.PENDING)  # asked a question, or no catalogue to read
        if db_up and not (question and index == 0):
            try:
                match = assess(engine, state, breaker=breaker)
            except _DB_DOWN:
                db_up = False
        if index == 0:
            primary_match = match
        record = _record(conversation_id, customer_id, turn, text, state, need_seq, key,
                         match.status, match.product_ids, extractor.version, now, new=is_new)
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
    state_out = {**{k: v for k, v in primary.items() if k != "_updated"}, "_seq": seq,
                 "_asked": asked + ([question] if question else [])}
    if question:
        result = CaptureResult(kind="question", question=question, text=QUESTIONS[question],
                               status=fit.PENDING)
    elif primary_match.status == fit.MATCHED:
        result = CaptureResult(kind="products", status=fit.MATCHED,
                               products=list(primary_match.cards),
                               text=f"Here's what I found for {primary.get('product')}:",
                               buttons=[{"title": "Something else", "payload": "/product_search"},
                                        {"title": "That's all, thanks", "payload": "/thank"}])
    elif primary_match.status == fit.PENDING:  # the catalogue could not be read
        result = CaptureResult(kind="queued", status=fit.PENDING)
    else:
        result = CaptureResult(kind="unmet", status=primary_match.status,
                               text=unmet_text(primary, primary_match))
    result.need = state_out
    result.queued = queued
    result.logged = logged
    return result
