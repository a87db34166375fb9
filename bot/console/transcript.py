"""One conversation as the console shows it, read from Rasa's SQL tracker store.

The store is Rasa 3.6's ``events`` table (declared once in :mod:`bot.needs.follow`), read over
the tracker engine the web app keeps (:func:`tracker_engine_for`, built once per app). Each
row's ``data`` is the event's JSON (``Event.as_dict()``):

- ``user`` -> a shopper message with the predicted intent, the runner-up of ``intent_ranking``,
  the entities, and flags for a fallback (``nlu_fallback``) or a low confidence;
- ``bot`` -> a bot message with the response (``metadata.utter_action``) or the action that sent
  it (the latest ``action`` event before it: Rasa stores an action's event before the messages
  it sends); ``data.custom`` of ``type`` ``agent_message`` is what an agent said (``kind`` text)
  or a line the console wrote (joined, handed back, resolved), ``rating_request`` the rating
  question;
- ``pause`` / ``resume`` -> "Bot paused" / "Bot resumed";
- everything else (session starts, slots, ``action_listen``...) is not shown.

Needs: the needs table numbers a conversation's needs ``need_seq`` and keeps, per row, the turn
and ``last_message_key`` (:func:`bot.needs.service.message_key`: conversation, turn, text) of the
message that gave the need its current state. The turn is counted over all sessions by the needs
follower and within the session by the chat's action (Rasa hands the action the current session
only), so a shopper message's key is computed both ways; a need is shown on the message whose
key it holds (a need refined by a later message shows on that later message, with its refined
state), else on the message of its turn.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.needs.follow import EVENTS, TrackerUnavailable, tracker_engine, tracker_url_from_endpoints
from bot.store.models import Need as NeedRow

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from bot.services import Services
    from bot.settings import Settings

log = logging.getLogger(__name__)

LOW_CONFIDENCE = 0.6
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_default_ask_affirmation",
                              "action_default_ask_rephrase", "action_two_stage_fallback"})
AGENT_MESSAGE = "agent_message"
RATING_REQUEST = "rating_request"
SENDERS = ("shopper", "bot", "agent", "system")
SYSTEM_LINES = MappingProxyType({
    "joined": "{name} joined the conversation",
    "handed_back": "{name} handed the conversation back to the bot",
    "resolved": "{name} resolved the conversation",
})
RATING_LINE = "Asked the shopper for a rating"
PAUSE_LINES = MappingProxyType({"pause": "Bot paused", "resume": "Bot resumed"})
_READ_TYPES = ("user", "bot", "action", "pause", "resume", "session_started")
_BATCH = 500
_IN_CHUNK = 500  # conversation ids per IN (...) list
NEED_FIELDS = ("product", "category", "attributes", "colour", "size", "brand", "price_min",
               "price_max", "currency", "quantity", "recipient", "occasion", "needed_by")
_JSON_LIST_FIELDS = ("attributes", "colour", "size")


@dataclass(frozen=True)
class Guess:
    name: str
    confidence: float


@dataclass(frozen=True)
class Message:
    event_id: int
    at: datetime  # naive UTC, from the event's timestamp
    sender: str  # one of SENDERS
    text: str
    intent: Guess | None = None  # shopper: the predicted intent
    runner_up: Guess | None = None  # shopper: second of intent_ranking
    entities: tuple = ()  # shopper: read-only {"entity", "value"} mappings
    needs: tuple = ()  # shopper: read-only need mappings captured from this message
    action: str | None = None  # bot: the response or the action that sent it
    fallback: bool = False
    low_confidence: bool = False
    agent_name: str | None = None
    agent_message_id: int | None = None
    turn: int = field(default=0, compare=False)  # shopper: its number among the user messages

    def as_dict(self) -> dict:
        """Plain JSON-ready data (for the console's JSON endpoints)."""
        guess = (lambda g: None if g is None else {"name": g.name, "confidence": g.confidence})
        return {
            "event_id": self.event_id, "at": self.at.isoformat(timespec="seconds"),
            "sender": self.sender, "text": self.text, "intent": guess(self.intent),
            "runner_up": guess(self.runner_up), "entities": [dict(e) for e in self.entities],
            "needs": [dict(n) for n in self.needs], "action": self.action,
            "fallback": self.fallback, "low_confidence": self.low_confidence,
            "agent_name": self.agent_name, "agent_message_id": self.agent_message_id,
        }


# --- the tracker store ------------------------------------------------------------------------

def tracker_url_for(settings: "Settings") -> str:
    """``SHOP_TRACKER_URL`` (``settings.privacy.tracker_url``), else endpoints.yml's SQL store."""
    return settings.privacy.tracker_url or tracker_url_from_endpoints()


def tracker_engine_for(services: "Services") -> Engine:
    """A read-only engine on the tracker store. The caller keeps it (the web app: once per app,
    disposed when the app stops) and disposes it; nothing is cached here.

    Raises :class:`bot.needs.follow.NotASqlTrackerStore` when endpoints.yml configures another
    kind of tracker store."""
    return tracker_engine(tracker_url_for(services.settings))


def _unavailable(err: SQLAlchemyError) -> TrackerUnavailable:
    log.warning("tracker store unavailable: %s", err.__class__.__name__)
    return TrackerUnavailable(f"the conversation store cannot be read "
                              f"({err.__class__.__name__})")


# --- reading one event ------------------------------------------------------------------------

def event_data(raw: Any) -> dict | None:
    """The event's JSON as a dict, or None when it is not one."""
    try:
        data = json.loads(raw) if isinstance(raw, (str, bytes)) else None
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def event_time(timestamp: Any, data: dict) -> datetime | None:
    stamp = timestamp if isinstance(timestamp, (int, float)) else data.get("timestamp")
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool) or stamp != stamp:
        return None
    try:
        return datetime.utcfromtimestamp(float(stamp))
    except (OverflowError, OSError, ValueError):
        return None


def _guess(raw: Any) -> Guess | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        return None
    confidence = raw.get("confidence")
    if not isinstance(confidence, (int, float)) or isinstance(confidence, bool):
        confidence = 0.0
    return Guess(raw["name"], float(confidence))


def intent_guesses(parse_data: Any) -> tuple[Guess | None, Guess | None]:
    """The predicted intent and the second entry of ``intent_ranking`` (None when absent)."""
    if not isinstance(parse_data, dict):
        return None, None
    ranking = parse_data.get("intent_ranking")
    ranking = [g for g in map(_guess, ranking) if g] if isinstance(ranking, list) else []
    intent = _guess(parse_data.get("intent")) or (ranking[0] if ranking else None)
    return intent, (ranking[1] if len(ranking) > 1 else None)


def understanding(parse_data: Any) -> float | None:
    """How sure NLU was about the message: the predicted intent's confidence, or - when it is
    ``nlu_fallback``, whose confidence is the fallback threshold - the best real intent's."""
    intent, _ = intent_guesses(parse_data)
    if intent is None:
        return None
    if intent.name != FALLBACK_INTENT:
        return intent.confidence
    ranking = parse_data.get("intent_ranking") if isinstance(parse_data, dict) else None
    real = [g for g in map(_guess, ranking or []) if g and g.name != FALLBACK_INTENT] \
        if isinstance(ranking, list) else []
    return max((g.confidence for g in real), default=0.0)


def _entities(parse_data: Any) -> tuple:
    raw = parse_data.get("entities") if isinstance(parse_data, dict) else None
    found = []
    for entity in raw if isinstance(raw, list) else []:
        if isinstance(entity, dict) and isinstance(entity.get("entity"), str):
            found.append(MappingProxyType({"entity": entity["entity"],
                                           "value": entity.get("value")}))
    return tuple(found)


def is_shopper_text(text: Any) -> bool:
    """Something the shopper typed: not empty, not a button payload ("/affirm") nor an intent
    Rasa was told to trigger ("EXTERNAL: ...")."""
    said = text.strip() if isinstance(text, str) else ""
    return bool(said) and not said.startswith("/") and not said.startswith("EXTERNAL: ")


def message_key(conversation_id: str, turn: int, text: str) -> str:
    """The needs table's ``last_message_key`` of a message (the same hash as
    :func:`bot.needs.service.message_key`; a test pins the two together)."""
    return hashlib.sha256(f"{conversation_id}\x1f{turn}\x1f{text}".encode()).hexdigest()


def _shopper(event_id: int, at: datetime, data: dict, turn: int) -> Message:
    parse_data = data.get("parse_data")
    intent, runner_up = intent_guesses(parse_data)
    text = data.get("text") if isinstance(data.get("text"), str) else ""
    return Message(
        event_id=event_id, at=at, sender="shopper", text=text, intent=intent,
        runner_up=runner_up, entities=_entities(parse_data),
        fallback=intent is not None and intent.name == FALLBACK_INTENT,
        low_confidence=intent is not None and intent.confidence < LOW_CONFIDENCE,
        turn=turn)


def _custom(data: dict) -> dict:
    inner = data.get("data")
    custom = inner.get("custom") if isinstance(inner, dict) else None
    return custom if isinstance(custom, dict) else {}


def _bot(event_id: int, at: datetime, data: dict, last_action: str | None) -> Message | None:
    custom = _custom(data)
    text = data.get("text") if isinstance(data.get("text"), str) else ""
    kind_of = custom.get("type")
    if kind_of == AGENT_MESSAGE:
        name = custom.get("from") if isinstance(custom.get("from"), str) else None
        said = custom.get("text") if isinstance(custom.get("text"), str) else ""
        kind = custom.get("kind") or "text"
        ident = custom.get("id")
        ident = ident if isinstance(ident, int) and not isinstance(ident, bool) else None
        if kind == "text":
            return Message(event_id, at, "agent", said or text, agent_name=name,
                           agent_message_id=ident)
        line = said or text or SYSTEM_LINES.get(kind, "{name}: " + str(kind)).format(
            name=name or "An agent")
        return Message(event_id, at, "system", line, agent_name=name, agent_message_id=ident)
    if kind_of == RATING_REQUEST:
        return Message(event_id, at, "system", RATING_LINE)
    if not text:
        text = _describe(custom, data)
    metadata = data.get("metadata")
    response = metadata.get("utter_action") if isinstance(metadata, dict) else None
    return Message(event_id, at, "bot", text,
                   action=response if isinstance(response, str) and response else last_action,
                   fallback=last_action in FALLBACK_ACTIONS)


def _describe(custom: dict, data: dict) -> str:
    """A line for a bot message without text (product cards, an image...)."""
    if isinstance(custom.get("text"), str) and custom["text"]:
        return custom["text"]
    products = custom.get("products")
    if isinstance(products, list) and products:
        names = [p.get("name") for p in products if isinstance(p, dict)
                 and isinstance(p.get("name"), str)]
        return "Products shown: " + ", ".join(names) if names else \
            f"{len(products)} products shown"
    inner = data.get("data") if isinstance(data.get("data"), dict) else {}
    if inner.get("image"):
        return "(an image)"
    return "(a message without text)"


# --- a conversation ---------------------------------------------------------------------------

@dataclass
class _Position:
    """Where the conversation stands just after an event: for turn numbers and actions."""

    turn: int = 0  # user messages so far, all sessions
    session_turn: int = 0  # user messages so far in the current session
    last_action: str | None = None


def _position_at(conn, conversation_id: str, event_id: int) -> _Position:
    if event_id <= 0:
        return _Position()
    mine = (EVENTS.c.sender_id == conversation_id) & (EVENTS.c.id <= event_id)
    users = select(func.count()).select_from(EVENTS).where(mine, EVENTS.c.type_name == "user")
    turn = conn.execute(users).scalar() or 0
    session_start = conn.execute(select(func.max(EVENTS.c.id)).where(
        mine, EVENTS.c.type_name == "session_started")).scalar() or 0
    session_turn = conn.execute(users.where(EVENTS.c.id > session_start)).scalar() or 0
    last_action = conn.execute(select(EVENTS.c.action_name).where(
        mine, EVENTS.c.type_name == "action").order_by(EVENTS.c.id.desc()).limit(1)).scalar()
    return _Position(int(turn), int(session_turn), last_action)


def load(tracker: Engine, conversation_id: str, *, after_event_id: int = 0, limit: int = 2000,
         services: "Services | None" = None) -> list[Message]:
    """The conversation's messages after ``after_event_id``, oldest first, at most ``limit``.

    With ``services`` each shopper message carries the needs captured from it (shop database).
    Raises :class:`TrackerUnavailable` when the tracker store cannot be read."""
    messages: list[Message] = []
    keys: dict[str, Message] = {}  # needs' last_message_key -> the shopper message
    try:
        with tracker.connect() as conn:
            position = _position_at(conn, conversation_id, after_event_id)
            cursor = max(0, int(after_event_id))
            while len(messages) < limit:
                rows = conn.execute(
                    select(EVENTS.c.id, EVENTS.c.type_name, EVENTS.c.timestamp,
                           EVENTS.c.action_name, EVENTS.c.data)
                    .where(EVENTS.c.sender_id == conversation_id, EVENTS.c.id > cursor,
                           EVENTS.c.type_name.in_(_READ_TYPES))
                    .order_by(EVENTS.c.id).limit(_BATCH)).all()
                for row in rows:
                    cursor = int(row.id)
                    message = _message(row, position, conversation_id, keys)
                    if message is not None:
                        messages.append(message)
                        if len(messages) >= limit:
                            break
                if len(rows) < _BATCH:
                    break
    except SQLAlchemyError as err:
        raise _unavailable(err) from err
    if services is not None and keys:
        messages = _with_needs(services, conversation_id, messages, keys)
    return messages


def _message(row, position: _Position, conversation_id: str,
             keys: dict[str, Message]) -> Message | None:
    kind = row.type_name
    if kind == "session_started":
        position.session_turn = 0
        return None
    if kind == "action":
        position.last_action = row.action_name
        return None
    if kind == "user":  # counted even when malformed: the turn numbers must stay right
        position.turn += 1
        position.session_turn += 1
    data = event_data(row.data)
    at = event_time(row.timestamp, data) if data is not None else None
    if data is None or at is None:
        log.debug("skipping malformed tracker event %s", row.id)
        return None
    if kind == "user":
        message = _shopper(int(row.id), at, data, position.turn)
        for turn in {position.turn, position.session_turn}:
            keys[message_key(conversation_id, turn, message.text)] = message
        return message
    if kind == "bot":
        return _bot(int(row.id), at, data, position.last_action)
    return Message(int(row.id), at, "system", PAUSE_LINES[kind])


def need_view(row: NeedRow) -> Mapping[str, Any]:
    """A need row as a small read-only mapping (the NEED keys plus status and need_seq)."""
    need: dict[str, Any] = {}
    for key in NEED_FIELDS:
        value = getattr(row, key)
        if key in _JSON_LIST_FIELDS:
            try:
                value = json.loads(value or "[]")
            except ValueError:
                value = []
            value = tuple(value) if isinstance(value, list) else ()
        elif key in ("price_min", "price_max"):
            value = float(value) if value is not None else None
        elif key == "needed_by":
            value = value.isoformat() if value is not None else None
        need[key] = value
    need.update(status=row.status, need_seq=row.need_seq)
    return MappingProxyType(need)


def _with_needs(services: "Services", conversation_id: str, messages: list[Message],
                keys: dict[str, Message]) -> list[Message]:
    with services.unit_of_work() as session:
        rows = session.execute(select(NeedRow).where(NeedRow.conversation_id == conversation_id)
                               .order_by(NeedRow.need_seq)).scalars().all()
        views = [(row.last_message_key, row.turn, need_view(row)) for row in rows]
    by_turn = {m.turn: m for m in keys.values()}
    found: dict[int, list] = {}
    for key, turn, view in views:
        message = keys.get(key) or by_turn.get(turn)
        if message is not None:
            found.setdefault(message.event_id, []).append(view)
    if not found:
        return messages
    return [_replace_needs(m, found[m.event_id]) if m.event_id in found else m for m in messages]


def _replace_needs(message: Message, needs: list) -> Message:
    return replace(message, needs=tuple(needs))


def latest_shopper_texts(tracker: Engine, conversation_ids: Sequence[str]
                         ) -> dict[str, tuple[str, datetime]]:
    """The last user message of each conversation (text, naive UTC time), for the queue.
    One query per 500 conversations; conversations without one are left out."""
    wanted = sorted({c for c in conversation_ids if isinstance(c, str) and c})
    found: dict[str, tuple[str, datetime]] = {}
    try:
        with tracker.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start:start + _IN_CHUNK]
                last = (select(func.max(EVENTS.c.id))
                        .where(EVENTS.c.type_name == "user", EVENTS.c.sender_id.in_(chunk))
                        .group_by(EVENTS.c.sender_id))
                rows = conn.execute(
                    select(EVENTS.c.sender_id, EVENTS.c.timestamp, EVENTS.c.data)
                    .where(EVENTS.c.id.in_(last))).all()
                for row in rows:
                    data = event_data(row.data)
                    at = event_time(row.timestamp, data) if data is not None else None
                    text = data.get("text") if data is not None else None
                    if at is not None and isinstance(text, str):
                        found[row.sender_id] = (text, at)
    except SQLAlchemyError as err:
        raise _unavailable(err) from err
    return found
