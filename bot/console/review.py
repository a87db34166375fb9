"""Review of what the bot understood: staff corrections, the review inbox, training data export.

- :func:`inbox`: the shopper messages of the last days the bot understood least (lowest intent
  confidence first) that nobody has reviewed yet.
- :func:`correct`: an agent or lead says of one shopper message (a ``user`` event of the tracker
  store) "the intent is X", "it states this product need" or "understood correctly". The text,
  predicted intent and confidence are read from the event itself, never taken from the request;
  the text is kept in words (training data needs them) but redacted (:func:`bot.redact.redact`),
  so no email, phone or card number becomes training data. A second correction of the same
  message by the same person replaces their pending one.
- :func:`decide`: a lead approves or rejects a pending correction (audited).
- :func:`export`: approved intent corrections as Rasa NLU YAML (``nlu_data/reviewed/`` by
  default; never the hand-written files), approved need corrections as gold JSON lines in the
  format of the need extractor's evaluation sets (``{"id", "text", "gold"}``).
"""
from __future__ import annotations

import heapq
import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from bot import audit
from bot.console.transcript import (
    EVENTS,
    Guess,
    TrackerUnavailable,
    event_data,
    event_time,
    intent_guesses,
    is_shopper_text,
    understanding,
)
from bot.redact import redact
from bot.settings import REPO_ROOT, VAR_DIR
from bot.staff.accounts import can
from bot.store.models import CORRECTION_KINDS, CORRECTION_STATUSES, ReviewCorrection, Staff

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from bot.services import Services

log = logging.getLogger(__name__)

DOMAIN_PATH = REPO_ROOT / "domain.yml"
NLU_DIR = REPO_ROOT / "nlu_data"
REVIEWED_DIR = NLU_DIR / "reviewed"
DEFAULT_RASA_OUT = REVIEWED_DIR / "review_corrections.yml"
DEFAULT_NEEDS_OUT = VAR_DIR / "review" / "need_corrections.jsonl"
EXPORT_FORMATS = ("rasa", "needs")
RASA_VERSION = "3.1"
MAX_TEXT_CHARS = 4000
MAX_INBOX_DAYS = 90
_BATCH = 1000

# The gold need of shared/examples/needs_examples.jsonl (a test checks the keys against it):
# these keys hold lists of strings, the prices are numbers, the quantity an integer.
NEED_KEYS = ("product", "category", "attributes", "colour", "size", "brand", "price_min",
             "price_max", "currency", "quantity", "recipient", "occasion", "needed_by")
NEED_LIST_KEYS = frozenset({"product", "attributes", "colour", "size", "brand", "recipient",
                            "occasion"})
NEED_TEXT_KEYS = frozenset({"category", "currency", "needed_by"})
_MAX_VALUE_CHARS = 200
_MAX_VALUES = 20
_MAX_PRICE = Decimal("10000000")
# Rasa reads "[words](entity)", "[words]{...}" and "[words][...]" in an example as an entity
# annotation (rasa.shared.nlu.training_data.entities_parser.ENTITY_REGEX).
_ANNOTATION = re.compile(r"\[[^\]]+?\](?:\([^:)]+?(?::[^)]+)?\)|\{[^}]+?\}|\[.*?\])")
_SPACES = re.compile(r"\s+")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


class ReviewError(ValueError):
    """A review request that cannot be done; the message is safe to show to staff."""


class CorrectionNotFound(ReviewError):
    pass


class AlreadyDecided(ReviewError):
    """The correction was approved or rejected before."""


@dataclass(frozen=True)
class CorrectionView:
    id: int
    conversation_id: str
    event_id: int
    text: str
    kind: str
    predicted_intent: str | None
    confidence: float | None
    corrected_intent: str | None
    need: Mapping[str, Any] | None
    status: str
    created_by: int
    created_by_name: str
    created_at: datetime
    decided_by: int | None
    decided_by_name: str | None
    decided_at: datetime | None

    def as_dict(self) -> dict:
        return {
            "id": self.id, "conversation_id": self.conversation_id, "event_id": self.event_id,
            "text": self.text, "kind": self.kind, "predicted_intent": self.predicted_intent,
            "confidence": self.confidence, "corrected_intent": self.corrected_intent,
            "need": dict(self.need) if self.need is not None else None, "status": self.status,
            "created_by": self.created_by, "created_by_name": self.created_by_name,
            "created_at": _iso(self.created_at), "decided_by": self.decided_by,
            "decided_by_name": self.decided_by_name, "decided_at": _iso(self.decided_at),
        }


@dataclass(frozen=True)
class InboxItem:
    event_id: int
    conversation_id: str
    at: datetime
    text: str
    intent: Guess | None
    runner_up: Guess | None
    confidence: float  # how sure NLU was (for nlu_fallback: the best real intent's confidence)

    def as_dict(self) -> dict:
        guess = (lambda g: None if g is None else {"name": g.name, "confidence": g.confidence})
        return {"event_id": self.event_id, "conversation_id": self.conversation_id,
                "at": _iso(self.at), "text": self.text, "intent": guess(self.intent),
                "runner_up": guess(self.runner_up), "confidence": self.confidence}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


# --- the domain's intents ---------------------------------------------------------------------

@lru_cache(maxsize=4)
def domain_intents(path: Path = DOMAIN_PATH) -> tuple[str, ...]:
    """The intents of the Rasa domain file, sorted (a pure function of a file in the repo)."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    names = []
    for item in raw.get("intents") or []:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict):  # "- greet: {use_entities: []}"
            names.extend(str(k) for k in item)
    return tuple(sorted(set(names)))


# --- needs ------------------------------------------------------------------------------------

def validate_need(raw: Any) -> dict:
    """``raw`` as a gold need (only the fields that have a value), or :class:`ReviewError`.

    List fields take a list of strings or one comma-separated string; strings are redacted."""
    if not isinstance(raw, Mapping):
        raise ReviewError("the need must be an object of need fields")
    unknown = sorted(str(k) for k in raw if k not in NEED_KEYS)
    if unknown:
        raise ReviewError(f"unknown need field(s): {', '.join(unknown)[:200]} "
                          f"(allowed: {', '.join(NEED_KEYS)})")
    need: dict[str, Any] = {}
    for key in NEED_KEYS:
        value = raw.get(key)
        if value is None or value == "" or value == []:
            continue
        if key in NEED_LIST_KEYS:
            values = _strings(key, value)
            if values:
                need[key] = values
        elif key in ("price_min", "price_max"):
            need[key] = _price(key, value)
        elif key == "quantity":
            need[key] = _quantity(value)
        elif key == "currency":
            code = _text(key, value)
            if not _CURRENCY.fullmatch(code):
                raise ReviewError("currency must be a three-letter ISO code such as GBP")
            need[key] = code.upper()
        elif key == "needed_by":
            try:
                need[key] = date.fromisoformat(_text(key, value)).isoformat()
            except ValueError:
                raise ReviewError("needed_by must be a date (YYYY-MM-DD)") from None
        else:
            need[key] = redact(_text(key, value))[:80]
    if not need:
        raise ReviewError("say at least one thing about the need (a product, a category...)")
    if need.get("price_min") is not None and need.get("price_max") is not None \
            and need["price_min"] > need["price_max"]:
        raise ReviewError("price_min is more than price_max")
    return need


def _text(key: str, value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ReviewError(f"{key} must be text")
    said = _SPACES.sub(" ", str(value)).strip()
    if len(said) > _MAX_VALUE_CHARS:
        raise ReviewError(f"{key} is too long (at most {_MAX_VALUE_CHARS} characters)")
    return said


def _strings(key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ReviewError(f"{key} must be text or a list of texts")
    if len(items) > _MAX_VALUES:
        raise ReviewError(f"{key}: at most {_MAX_VALUES} values")
    found = [redact(_text(key, item)) for item in items]
    return list(dict.fromkeys(v for v in found if v))


def _price(key: str, value: Any) -> int | float:
    if isinstance(value, bool):
        raise ReviewError(f"{key} must be a number")
    try:
        number = Decimal(str(value).strip().lstrip("£$€"))
    except (InvalidOperation, ValueError):
        raise ReviewError(f"{key} must be a number") from None
    if not number.is_finite() or number < 0 or number > _MAX_PRICE:
        raise ReviewError(f"{key} must be a positive amount")
    number = number.quantize(Decimal("0.01"))
    return int(number) if number == number.to_integral_value() else float(number)


def _quantity(value: Any) -> int:
    if isinstance(value, bool):
        raise ReviewError("quantity must be a whole number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 1 <= value <= 10000:
        raise ReviewError("quantity must be a whole number from 1 to 10000")
    return value


# --- the tracker event ------------------------------------------------------------------------

@dataclass(frozen=True)
class ShopperEvent:
    event_id: int
    conversation_id: str
    at: datetime
    text: str
    intent: Guess | None
    runner_up: Guess | None
    confidence: float


def _strict_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ReviewError("event_id must be a positive whole number")
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit() and len(value) <= 12):
            raise ReviewError("event_id must be a positive whole number")
        value = int(value)
    if value <= 0:
        raise ReviewError("event_id must be a positive whole number")
    return value


def shopper_event(tracker: Engine, conversation_id: str, event_id: Any) -> ShopperEvent:
    """The ``user`` event ``event_id`` of ``conversation_id``, or :class:`ReviewError`."""
    event_id = _strict_id(event_id)
    if not isinstance(conversation_id, str) or not conversation_id or \
            len(conversation_id) > 255:
        raise ReviewError("conversation_id is missing")
    try:
        with tracker.connect() as conn:
            row = conn.execute(select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.type_name,
                                      EVENTS.c.timestamp, EVENTS.c.data)
                               .where(EVENTS.c.id == event_id)).first()
    except SQLAlchemyError as err:
        raise TrackerUnavailable(f"the conversation store cannot be read "
                                 f"({err.__class__.__name__})") from err
    if row is None or row.sender_id != conversation_id:
        raise ReviewError(f"event {event_id} is not a message of conversation "
                          f"{conversation_id[:80]}")
    if row.type_name != "user":
        raise ReviewError(f"event {event_id} is not a shopper message (it is a "
                          f"{row.type_name} event)")
    data = event_data(row.data)
    at = event_time(row.timestamp, data) if data is not None else None
    if data is None or at is None or not isinstance(data.get("text"), str):
        raise ReviewError(f"event {event_id} cannot be read (malformed)")
    if not is_shopper_text(data["text"]):
        raise ReviewError("only messages the shopper typed can be reviewed (not buttons)")
    intent, runner_up = intent_guesses(data.get("parse_data"))
    return ShopperEvent(event_id, conversation_id, at, data["text"], intent, runner_up,
                        understanding(data.get("parse_data")) or 0.0)


# --- corrections ------------------------------------------------------------------------------

def _reviewer(session, staff_id: Any, permission: str, what: str) -> Staff:
    staff = session.get(Staff, staff_id) if isinstance(staff_id, int) else None
    if staff is None or not staff.active:
        raise ReviewError("unknown or disabled staff account")
    if not can(staff.role, permission):
        raise ReviewError(f"a {staff.role} may not {what}")
    return staff


def correct(services: "Services", *, staff_id: int, conversation_id: str, event_id: int,
            kind: str, corrected_intent: str | None = None, need: Mapping | None = None,
            tracker: Engine) -> int:
    """Record (or replace) ``staff_id``'s pending correction of one shopper message; returns
    the correction's id."""
    if kind not in CORRECTION_KINDS:
        raise ReviewError(f"kind must be one of {', '.join(CORRECTION_KINDS)}")
    intent_value = need_json = None
    if kind == "intent":
        if not isinstance(corrected_intent, str) or corrected_intent not in domain_intents():
            raise ReviewError("corrected_intent must be one of the domain's intents")
        intent_value = corrected_intent
    elif kind == "need":
        need_json = json.dumps(validate_need(need), sort_keys=True)
    event = shopper_event(tracker, conversation_id, event_id)
    now = services.now()
    with services.unit_of_work(write=True) as session:
        _reviewer(session, staff_id, "review", "review messages")
        row = session.execute(select(ReviewCorrection).where(
            ReviewCorrection.conversation_id == event.conversation_id,
            ReviewCorrection.event_id == event.event_id,
            ReviewCorrection.created_by == staff_id,
            ReviewCorrection.status == "pending")).scalars().first()
        if row is None:
            row = ReviewCorrection(conversation_id=event.conversation_id,
                                   event_id=event.event_id, created_by=staff_id,
                                   status="pending")
            session.add(row)
        row.text = redact(event.text)[:MAX_TEXT_CHARS]
        row.kind = kind
        row.predicted_intent = event.intent.name if event.intent else None
        row.confidence = event.intent.confidence if event.intent else None
        row.corrected_intent = intent_value
        row.need = need_json
        row.created_at = now
        session.flush()
        return int(row.id)


def decide(services: "Services", *, lead_id: int, correction_id: int,
           approve: bool) -> CorrectionView:
    """A lead approves or rejects a pending correction (with an audit record)."""
    now = services.now()
    with services.unit_of_work(write=True) as session:
        lead = _reviewer(session, lead_id, "corrections", "approve corrections")
        row = session.get(ReviewCorrection, correction_id) \
            if isinstance(correction_id, int) else None
        if row is None:
            raise CorrectionNotFound(f"no correction {correction_id}")
        if row.status != "pending":
            raise AlreadyDecided(f"correction {correction_id} was already {row.status}")
        row.status = "approved" if approve else "rejected"
        row.decided_by = lead.id
        row.decided_at = now
        audit.record(session, now=now, actor=f"staff:{lead.email}", action="review_decided",
                     subject=f"correction:{row.id}",
                     detail={"decision": row.status, "kind": row.kind,
                             "conversation_id": row.conversation_id, "event_id": row.event_id,
                             "corrected_intent": row.corrected_intent,
                             "created_by": row.created_by})
        session.flush()
        return _one(session, row.id)


def _query():
    author, decider = aliased(Staff), aliased(Staff)
    return (select(ReviewCorrection, author.name, decider.name)
            .join(author, author.id == ReviewCorrection.created_by)
            .outerjoin(decider, decider.id == ReviewCorrection.decided_by))


def _view(row: ReviewCorrection, author: str, decider: str | None) -> CorrectionView:
    need = json.loads(row.need) if row.need else None
    return CorrectionView(
        id=row.id, conversation_id=row.conversation_id, event_id=row.event_id, text=row.text,
        kind=row.kind, predicted_intent=row.predicted_intent, confidence=row.confidence,
        corrected_intent=row.corrected_intent, need=need if isinstance(need, dict) else None,
        status=row.status, created_by=row.created_by, created_by_name=author,
        created_at=row.created_at, decided_by=row.decided_by, decided_by_name=decider,
        decided_at=row.decided_at)


def _one(session, correction_id: int) -> CorrectionView:
    found = session.execute(_query().where(ReviewCorrection.id == correction_id)).first()
    return _view(*found)


def get(services: "Services", correction_id: int) -> CorrectionView:
    with services.unit_of_work() as session:
        if session.get(ReviewCorrection, correction_id) is None:
            raise CorrectionNotFound(f"no correction {correction_id}")
        return _one(session, correction_id)


def list_corrections(services: "Services", status: str | None = None,
                     limit: int = 200) -> list[CorrectionView]:
    """Corrections, newest first, optionally of one status."""
    if status is not None and status not in CORRECTION_STATUSES:
        raise ReviewError(f"status must be one of {', '.join(CORRECTION_STATUSES)}")
    query = _query()
    if status is not None:
        query = query.where(ReviewCorrection.status == status)
    query = query.order_by(ReviewCorrection.created_at.desc(), ReviewCorrection.id.desc())
    with services.unit_of_work() as session:
        return [_view(*row) for row in session.execute(query.limit(max(1, limit))).all()]


def pending(services: "Services", limit: int = 100) -> list[CorrectionView]:
    """Corrections waiting for a lead, oldest first."""
    query = (_query().where(ReviewCorrection.status == "pending")
             .order_by(ReviewCorrection.created_at, ReviewCorrection.id).limit(max(1, limit)))
    with services.unit_of_work() as session:
        return [_view(*row) for row in session.execute(query).all()]


# --- the inbox --------------------------------------------------------------------------------

def inbox(services: "Services", tracker: Engine, *, days: int = 7,
          limit: int = 50) -> list[InboxItem]:
    """The shopper messages of the last ``days`` days NLU was least sure about, lowest
    confidence first (newest first among equals), leaving out the ones anybody corrected or
    confirmed, button payloads and empty messages. Raises :class:`TrackerUnavailable`."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_INBOX_DAYS:
        raise ReviewError(f"days must be from 1 to {MAX_INBOX_DAYS}")
    limit = max(1, min(int(limit), 500))
    since = (services.now() - timedelta(days=days)).replace(tzinfo=timezone.utc).timestamp()
    in_window = (EVENTS.c.type_name == "user") & (EVENTS.c.timestamp >= since)
    lowest: list[tuple] = []  # a heap of the `limit` lowest, as (-confidence, id, item)
    try:
        with tracker.connect() as conn:
            first = conn.execute(select(func.min(EVENTS.c.id)).where(in_window)).scalar()
            if first is None:
                return []
            with services.unit_of_work() as session:
                reviewed = set(session.execute(
                    select(ReviewCorrection.conversation_id, ReviewCorrection.event_id)
                    .where(ReviewCorrection.event_id >= first)).all())
            cursor = first - 1
            while True:
                rows = conn.execute(
                    select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.timestamp, EVENTS.c.data)
                    .where(in_window, EVENTS.c.id > cursor)
                    .order_by(EVENTS.c.id).limit(_BATCH)).all()
                for row in rows:
                    cursor = int(row.id)
                    if (row.sender_id, int(row.id)) in reviewed:
                        continue
                    item = _inbox_item(row)
                    if item is None:
                        continue
                    entry = (-item.confidence, item.event_id, item)
                    if len(lowest) < limit:
                        heapq.heappush(lowest, entry)
                    elif entry[:2] > lowest[0][:2]:
                        heapq.heapreplace(lowest, entry)
                if len(rows) < _BATCH:
                    break
    except SQLAlchemyError as err:
        raise TrackerUnavailable(f"the conversation store cannot be read "
                                 f"({err.__class__.__name__})") from err
    return [entry[2] for entry in sorted(lowest, key=lambda e: (-e[0], -e[1]))]


def _inbox_item(row) -> InboxItem | None:
    data = event_data(row.data)
    at = event_time(row.timestamp, data) if data is not None else None
    if data is None or at is None or not is_shopper_text(data.get("text")):
        return None
    parse_data = data.get("parse_data")
    intent, runner_up = intent_guesses(parse_data)
    confidence = understanding(parse_data)
    return InboxItem(int(row.id), row.sender_id, at, data["text"][:MAX_TEXT_CHARS], intent,
                     runner_up, 0.0 if confidence is None else round(confidence, 4))


# --- export -----------------------------------------------------------------------------------

class _Literal(str):
    """A string YAML writes as a literal block (``|``) when it can."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|"))


def training_text(text: str) -> str:
    """``text`` as one Rasa example line: whitespace collapsed (an example is one line), and
    square brackets Rasa would read as an entity annotation turned into parentheses."""
    said = _SPACES.sub(" ", text).strip()
    if _ANNOTATION.search(said):
        said = said.replace("[", "(").replace("]", ")")
    return said


def _normal(text: str) -> str:
    return _SPACES.sub(" ", _ANNOTATION.sub(lambda m: m.group(0)[1:m.group(0).index("]")],
                                            text)).strip().lower()


def hand_written_examples(nlu_dir: Path = NLU_DIR,
                          exclude: tuple[Path, ...] = ()) -> dict[str, str]:
    """The examples of the hand-written NLU files under ``nlu_dir`` (normalised text ->
    intent), leaving out ``nlu_dir/reviewed`` and the files or folders in ``exclude``: reviewed
    texts they already have are not exported again (``rasa data validate`` warns about a text
    under two intents, and ``make test`` fails on warnings)."""
    found: dict[str, str] = {}
    skipped = [(Path(nlu_dir) / "reviewed").resolve(), *(Path(p).resolve() for p in exclude)]
    for path in sorted(Path(nlu_dir).rglob("*.yml")):
        if any(path.resolve().is_relative_to(s) for s in skipped):
            continue
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        items = raw.get("nlu") if isinstance(raw, dict) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("intent"), str):
                continue
            examples = item.get("examples")
            for line in examples.splitlines() if isinstance(examples, str) else []:
                line = line.strip()
                if line.startswith("-"):
                    found.setdefault(_normal(line[1:]), item["intent"])
    return found


def _approved(services: "Services", kind: str) -> list[ReviewCorrection]:
    with services.unit_of_work() as session:
        rows = session.execute(select(ReviewCorrection).where(
            ReviewCorrection.status == "approved", ReviewCorrection.kind == kind)
            .order_by(ReviewCorrection.decided_at, ReviewCorrection.id)).scalars().all()
        session.expunge_all()
        return list(rows)


def rasa_examples(services: "Services", nlu_dir: Path = NLU_DIR,
                  exclude: tuple[Path, ...] = ()) -> dict[str, list[str]]:
    """Approved intent corrections as {intent: [texts]}: texts deduplicated (a text approved
    under two intents goes with the later decision), leaving out texts the hand-written data
    already has."""
    known = hand_written_examples(nlu_dir, exclude)
    latest: dict[str, tuple[str, str]] = {}  # normalised text -> (intent, text)
    for row in _approved(services, "intent"):
        text = training_text(row.text)
        if not text or row.corrected_intent not in domain_intents():
            continue
        latest.pop(_normal(text), None)  # the later decision wins (and moves to the end)
        latest[_normal(text)] = (row.corrected_intent, text)
    by_intent: dict[str, list[str]] = {}
    for key, (intent, text) in latest.items():
        if key in known:
            if known[key] != intent:
                log.warning("review export: %r is under %s in the hand-written data, not %s; "
                            "left out", text[:80], known[key], intent)
            continue
        by_intent.setdefault(intent, []).append(text)
    return {intent: by_intent[intent] for intent in sorted(by_intent)}


def rasa_yaml(examples: Mapping[str, list[str]]) -> str:
    doc = {"version": RASA_VERSION, "nlu": [
        {"intent": intent, "examples": _Literal("".join(f"- {t}\n" for t in texts))}
        for intent, texts in examples.items()]}
    header = ("# Written by `python -m bot review export --format rasa` from approved review\n"
              "# corrections. Do not edit: the next export replaces it.\n")
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                              width=100)


def need_records(services: "Services") -> list[dict]:
    """Approved need corrections as gold records ``{"id", "text", "gold"}``."""
    records = []
    for row in _approved(services, "need"):
        try:
            gold = validate_need(json.loads(row.need or "{}"))
        except (ReviewError, ValueError):
            log.warning("review export: correction %s has an unreadable need; left out", row.id)
            continue
        records.append({"id": f"review-{row.id}", "text": row.text, "gold": gold})
    return records


def export(services: "Services", fmt: str, out: Path | None = None, *,
           nlu_dir: Path = NLU_DIR) -> int:
    """Write the approved corrections as training data; returns how many examples.

    ``rasa``: NLU YAML (default :data:`DEFAULT_RASA_OUT`, which ``rasa train --data nlu_data``
    picks up); ``needs``: gold JSON lines (default :data:`DEFAULT_NEEDS_OUT`). The file is
    written whole to a temporary name and then renamed, so a reader never sees half of it."""
    if fmt not in EXPORT_FORMATS:
        raise ReviewError(f"format must be one of {', '.join(EXPORT_FORMATS)}")
    out = Path(out) if out is not None else (DEFAULT_RASA_OUT if fmt == "rasa"
                                             else DEFAULT_NEEDS_OUT)
    if fmt == "rasa":
        if out.suffix not in (".yml", ".yaml"):
            raise ReviewError("a Rasa training data file must end in .yml")
        if out.resolve().is_relative_to(Path(nlu_dir).resolve()) and \
                not out.resolve().is_relative_to((Path(nlu_dir) / "reviewed").resolve()):
            raise ReviewError("reviewed examples go to nlu_data/reviewed/, never among the "
                              "hand-written training files")
        examples = rasa_examples(services, nlu_dir, exclude=(out,))
        body, count = rasa_yaml(examples), sum(len(v) for v in examples.values())
    else:
        records = need_records(services)
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        count = len(records)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".tmp")
    partial.write_text(body, encoding="utf-8")
    partial.replace(out)
    return count

