"""An agent's messages, from the staff console to the shopper's chat widget.

How a message travels: :func:`post` stores it in ``agent_messages`` (one unit of work), then
appends it to the conversation through the Rasa server's HTTP API::

    POST {rasa_url}/conversations/{id}/tracker/events?output_channel=socketio
         &execute_side_effects=true
    Authorization: Bearer <admin JWT>            [events...]

Rasa appends the events under its lock for that conversation and, because of
``execute_side_effects``, sends every ``bot`` event through our socket.io output channel
(``bot.web.channels.ShopSocketIOOutput``) to the conversation's room: the shopper's widget, if
it is connected. A bot event carries only custom JSON (``text`` is empty), which the channel
emits once, as the payload itself::

    {"type": "agent_message", "id": 7, "from": "Sam", "kind": "text", "text": "..."}

Kinds (``AGENT_MESSAGE_KINDS``) and the events each one appends:

- ``joined`` ("Sam from support has joined the chat."): ``pause`` then the message: the bot is
  silent while the agent talks (Rasa logs the shopper's messages without answering them);
- ``text``: the message;
- ``handed_back``: the message then ``resume``;
- ``resolved``: the message, a ``{"type": "rating_request", "id": <same id>}`` and ``resume``.

Delivered: ``delivered_at`` is set, and the escalation's ``paused`` follows (joined: on;
handed back, resolved: off); the first delivered ``text`` sets its ``first_reply_at``. Rasa down
(refused, 3 s without an answer, not 2xx): the message stays pending with ``attempts`` and a
short ``last_error``, and :func:`deliver_pending` (the worker, every 5 s) tries again. Messages of
one conversation always go in order: the next is never sent before the one before it.

A delivery is claimed first, so two processes (the console, the worker) never send one message
at the same time: the claim is a conditional update of ``attempts`` (the number of attempts
made) that writes ``"sending since <time>"`` into ``last_error``; a claim older than
:data:`CLAIM_SECONDS` belongs to a process that died and is taken over. A process that dies after
Rasa took a message but before it wrote ``delivered_at`` makes the message go twice: the widget
shows each id once.

The widget acknowledges what it rendered (:func:`mark_seen`, socket.io ``agent_seen``); a
shopper who reconnects gets again what was delivered but not seen (:func:`unseen_payloads`);
a signed-in shopper who left is e-mailed the text messages not seen after
``settings.console.email_unseen_seconds`` (:func:`email_unseen`, the worker). The rating the
widget offers after ``resolved`` lands on the escalation (:func:`record_rating`).
"""
from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, Iterable, Sequence
from urllib.parse import quote

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import mail
from bot.services import Services
from bot.settings import Settings
from bot.store.models import AGENT_MESSAGE_KINDS, AgentMessage, Customer, Escalation, Staff

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 3.0
# A claim ("sending since ...") older than this belongs to a process that died mid-delivery.
CLAIM_SECONDS = 30
SENDING = "sending since "
# The widget acknowledges at most this many ids at once; re-delivery sends at most this many.
MAX_IDS = 200
# HTTP statuses that mean "Rasa is unusable for every conversation" (stop the worker's run).
_EVERYWHERE_STATUSES = frozenset({401, 403, 502, 503, 504})

SYSTEM_LINES = MappingProxyType({
    "joined": "{name} from support has joined the chat.",
    "handed_back": "{name} has handed you back to the assistant. Ask me anything.",
    "resolved": "{name} has marked this conversation as resolved. How did we do?",
})
DEFAULT_NAME = "Support"
MAX_NAME_CHARS = 40
# The escalation's ``paused`` after a delivered message of each kind (text leaves it alone).
_PAUSED_AFTER = MappingProxyType({"joined": True, "handed_back": False, "resolved": False})
_KEEP_CONTROL = frozenset({"\n", "\u200d"})  # line breaks; the joiner inside emoji sequences


class RasaUnavailable(Exception):
    """Rasa refused, did not answer in time, or answered with an error. ``reason`` is short and
    holds no secret; ``everywhere`` when no other conversation would fare better (down,
    unauthorised) rather than a problem of this conversation's events."""

    def __init__(self, reason: str, everywhere: bool = True):
        super().__init__(reason)
        self.reason = reason[:200]
        self.everywhere = everywhere


class InvalidMessage(ValueError):
    """The message cannot be sent as it is; ``reason`` is a polite sentence for the agent."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Posted:
    id: int
    delivered: bool
    error: str | None  # why it is not delivered yet (None when delivered or being delivered)


@dataclass(frozen=True)
class Undelivered:
    """What the console shows while a conversation's messages wait for Rasa."""

    count: int
    oldest_at: datetime | None
    attempts: int  # of the oldest one, the one next in line
    last_error: str | None  # of the oldest one (None while it is being sent)
    sending: bool  # a process is sending the oldest one right now


class RasaApi:
    """The Rasa server's HTTP API, as an admin (a bearer JWT signed with its secret)."""

    def __init__(self, url: str, jwt_secret: str, timeout: float = TIMEOUT_SECONDS):
        self.url = url.rstrip("/")
        self.jwt_secret = jwt_secret
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> "RasaApi":
        return cls(settings.console.rasa_url, settings.console.rasa_jwt_secret)

    def append_events(self, conversation_id: str, events: Sequence[dict]) -> None:
        """Append ``events`` to the conversation and send its bot events to the shopper's
        socket.io room. Raises :class:`RasaUnavailable`."""
        import requests

        from bot.rasa_api import admin_token

        if not self.jwt_secret:
            raise RasaUnavailable("RASA_JWT_SECRET is not set")
        url = f"{self.url}/conversations/{quote(conversation_id, safe='')}/tracker/events"
        headers = {"Authorization": f"Bearer {admin_token(self.jwt_secret, ttl_seconds=60)}"}
        try:
            resp = requests.post(url, json=list(events), headers=headers, timeout=self.timeout,
                                 params={"output_channel": "socketio",
                                         "execute_side_effects": "true"})
        except requests.Timeout:
            raise RasaUnavailable(f"Rasa did not answer within {self.timeout:g} s") from None
        except requests.ConnectionError:
            raise RasaUnavailable("Rasa is not reachable") from None
        except requests.RequestException as err:
            raise RasaUnavailable(f"request failed: {type(err).__name__}") from None
        if not 200 <= resp.status_code < 300:
            raise RasaUnavailable(f"Rasa answered HTTP {resp.status_code}",
                                  everywhere=resp.status_code in _EVERYWHERE_STATUSES)


# --- text ----------------------------------------------------------------------------------

def clean_message(value: Any) -> str:
    """The text an agent typed, safe to store and send: line breaks kept (CR LF as LF, at most
    one blank line in a row), tabs as spaces, every other control or format character dropped,
    spaces at the ends of lines and of the whole removed."""
    if not isinstance(value, str):
        return ""
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    kept = "".join(ch for ch in value
                   if ch in _KEEP_CONTROL or unicodedata.category(ch)[0] != "C")
    lines = [line.rstrip() for line in kept.split("\n")]
    text = "\n".join(lines).strip()
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def first_name(name: Any, default: str = DEFAULT_NAME) -> str:
    """What the shopper sees of the agent: the first word of the name, cleaned and cut short
    (``default`` when there is none)."""
    words = clean_message(name).split()
    return words[0][:MAX_NAME_CHARS] if words else default


def _message_text(kind: str, text: Any, name: str, max_chars: int) -> str:
    if kind not in AGENT_MESSAGE_KINDS:
        raise InvalidMessage("That kind of message can't be sent.")
    if kind != "text":
        return SYSTEM_LINES[kind].format(name=name)
    cleaned = clean_message(text)
    if not cleaned:
        raise InvalidMessage("Please write a message before sending it.")
    if len(cleaned) > max_chars:
        raise InvalidMessage(f"That message is {len(cleaned)} characters long; a message can "
                             f"hold at most {max_chars}. Please shorten it or send it in parts.")
    return cleaned


# --- events --------------------------------------------------------------------------------

def payload(row: AgentMessage, name: str) -> dict:
    """The widget's payload for one agent message (custom JSON of a bot event)."""
    return {"type": "agent_message", "id": row.id, "from": name, "kind": row.kind,
            "text": row.text}


def rating_request(message_id: int) -> dict:
    return {"type": "rating_request", "id": message_id}


def _epoch(when: datetime) -> float:
    return when.replace(tzinfo=timezone.utc).timestamp()


def events_for(row: AgentMessage, name: str, now: datetime) -> list[dict]:
    """The tracker events that deliver ``row`` (see the module docstring)."""
    start = _epoch(now)

    def bot(custom: dict) -> dict:
        return {"event": "bot", "text": "", "data": {"custom": custom},
                "metadata": {"agent_message_id": row.id}}

    message = bot(payload(row, name))
    if row.kind == "joined":
        events = [{"event": "pause"}, message]
    elif row.kind == "handed_back":
        events = [message, {"event": "resume"}]
    elif row.kind == "resolved":
        events = [message, bot(rating_request(row.id)), {"event": "resume"}]
    else:
        events = [message]
    # One millisecond apart: Rasa's SQL tracker store reads events back ordered by timestamp.
    return [{**e, "timestamp": start + i / 1000} for i, e in enumerate(events)]


# --- posting and delivering ----------------------------------------------------------------

def post(services: Services, api: RasaApi, *, conversation_id: str, escalation_id: int,
         staff_id: int | None, staff_name: str, kind: str, text: str = "") -> Posted:
    """Store an agent's message and try to deliver it (with everything still pending before it
    in that conversation, in order). Raises :class:`InvalidMessage` (nothing stored) for an
    empty or too long text, an unknown kind, or an escalation not of this conversation."""
    name = first_name(staff_name)
    body = _message_text(kind, text, name, services.settings.console.max_message_chars)
    now = services.now()
    with services.unit_of_work() as session:
        escalation = session.get(Escalation, escalation_id) if isinstance(escalation_id,
                                                                          int) else None
        if escalation is None or escalation.conversation_id != conversation_id:
            raise InvalidMessage("That conversation's escalation could not be found.")
        row = AgentMessage(conversation_id=conversation_id, escalation_id=escalation_id,
                           staff_id=staff_id, kind=kind, text=body, created_at=now, attempts=0)
        session.add(row)
        escalation.updated_at = now
        session.flush()
        message_id = row.id
    _sent, error = _deliver_conversation(services, api, conversation_id)
    with services.unit_of_work() as session:
        row = session.get(AgentMessage, message_id)
        delivered = row.delivered_at is not None
        pending_error = None if delivered or _claimed(row.last_error) else row.last_error
    if not delivered and error is not None and pending_error is None:
        pending_error = error.reason
    return Posted(message_id, delivered, pending_error)


@dataclass(frozen=True)
class _Claim:
    id: int
    attempts: int
    kind: str
    escalation_id: int | None
    events: list


def _claimed(last_error: str | None) -> bool:
    return bool(last_error) and last_error.startswith(SENDING)


def _claim_time(last_error: str) -> datetime | None:
    try:
        return datetime.fromisoformat(last_error[len(SENDING):])
    except ValueError:
        return None


def _claim_next(services: Services, conversation_id: str) -> _Claim | None:
    """Claim the conversation's oldest undelivered message; None when there is none, or when
    another process is sending it (which then sends the rest)."""
    now = services.now()
    with services.unit_of_work(write=True) as session:
        row = session.execute(
            select(AgentMessage)
            .where(AgentMessage.conversation_id == conversation_id,
                   AgentMessage.delivered_at.is_(None))
            .order_by(AgentMessage.id).limit(1)).scalars().first()
        if row is None:
            return None
        if _claimed(row.last_error):
            since = _claim_time(row.last_error)
            if since is not None and since > now - timedelta(seconds=CLAIM_SECONDS):
                return None
        claimed = session.execute(
            update(AgentMessage)
            .where(AgentMessage.id == row.id, AgentMessage.attempts == row.attempts,
                   AgentMessage.delivered_at.is_(None))
            .values(attempts=row.attempts + 1, last_error=f"{SENDING}{now.isoformat()}")
            .execution_options(synchronize_session=False)).rowcount
        if not claimed:
            return None
        name = _staff_first_name(session, row.staff_id)
        return _Claim(row.id, row.attempts + 1, row.kind, row.escalation_id,
                      events_for(row, name, now))


def _staff_first_name(session: Session, staff_id: int | None) -> str:
    if staff_id is None:
        return DEFAULT_NAME
    return first_name(session.execute(select(Staff.name).where(Staff.id == staff_id)).scalar())


def _mark_delivered(services: Services, claim: _Claim) -> None:
    now = services.now()
    with services.unit_of_work() as session:
        row = session.get(AgentMessage, claim.id)
        if row is None or row.delivered_at is not None:
            return
        row.delivered_at = now
        row.last_error = None
        escalation = session.get(Escalation, claim.escalation_id) if claim.escalation_id else None
        if escalation is None:
            return
        if claim.kind in _PAUSED_AFTER:
            escalation.paused = _PAUSED_AFTER[claim.kind]
        if claim.kind == "text" and escalation.first_reply_at is None:
            escalation.first_reply_at = now
        escalation.updated_at = now


def _mark_failed(services: Services, claim: _Claim, reason: str) -> None:
    with services.unit_of_work() as session:
        session.execute(
            update(AgentMessage)
            .where(AgentMessage.id == claim.id, AgentMessage.attempts == claim.attempts,
                   AgentMessage.delivered_at.is_(None))
            .values(last_error=reason[:255])
            .execution_options(synchronize_session=False))


def _deliver_conversation(services: Services, api: RasaApi, conversation_id: str,
                          budget: int | None = None) -> tuple[int, RasaUnavailable | None]:
    """Send the conversation's pending messages oldest first, stopping at the first failure
    or after ``budget`` messages: (messages delivered, the failure)."""
    sent = 0
    while budget is None or sent < budget:
        claim = _claim_next(services, conversation_id)
        if claim is None:
            break
        try:
            api.append_events(conversation_id, claim.events)
        except RasaUnavailable as err:
            log.warning("agent message %s not delivered: %s", claim.id, err.reason)
            _mark_failed(services, claim, err.reason)
            return sent, err
        _mark_delivered(services, claim)
        sent += 1
    return sent, None


def deliver_pending(services: Services, api: RasaApi, limit: int = 100) -> int:
    """The worker's job: deliver up to ``limit`` pending messages, conversations with the
    oldest pending message first, each conversation in order. Stops early when Rasa is down
    for everybody. Returns how many were delivered."""
    with services.unit_of_work() as session:
        conversations = session.execute(
            select(AgentMessage.conversation_id)
            .where(AgentMessage.delivered_at.is_(None))
            .group_by(AgentMessage.conversation_id)
            .order_by(func.min(AgentMessage.id)).limit(limit)).scalars().all()
    delivered = 0
    for conversation_id in conversations:
        sent, error = _deliver_conversation(services, api, conversation_id,
                                            budget=limit - delivered)
        delivered += sent
        if (error is not None and error.everywhere) or delivered >= limit:
            break
    return delivered


def undelivered_summary(services: Services, conversation_id: str) -> Undelivered | None:
    """The conversation's messages still waiting for Rasa (None: all delivered)."""
    with services.unit_of_work() as session:
        rows = session.execute(
            select(AgentMessage.created_at, AgentMessage.attempts, AgentMessage.last_error)
            .where(AgentMessage.conversation_id == conversation_id,
                   AgentMessage.delivered_at.is_(None))
            .order_by(AgentMessage.id)).all()
    if not rows:
        return None
    oldest_at, attempts, last_error = rows[0]
    sending = _claimed(last_error)
    return Undelivered(len(rows), oldest_at, attempts, None if sending else last_error, sending)


# --- what the widget tells us --------------------------------------------------------------

def _ids(ids: Any) -> list[int]:
    if not isinstance(ids, (list, tuple)):
        return []
    return sorted({i for i in ids[:MAX_IDS]
                   if isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31})


def mark_seen(services: Services, conversation_id: str, ids: Iterable[Any]) -> int:
    """The widget rendered these agent messages: note it for those of ``conversation_id`` (ids
    of another conversation are ignored). Returns how many were newly marked."""
    wanted = _ids(ids)
    if not wanted or not isinstance(conversation_id, str):
        return 0
    now = services.now()
    with services.unit_of_work() as session:
        return session.execute(
            update(AgentMessage)
            .where(AgentMessage.conversation_id == conversation_id,
                   AgentMessage.id.in_(wanted), AgentMessage.seen_at.is_(None))
            .values(seen_at=now)
            .execution_options(synchronize_session=False)).rowcount


def unseen_payloads(services: Services, conversation_id: str) -> list[dict]:
    """What to show again to a shopper who reconnects: the widget payloads of the
    conversation's delivered messages the widget never acknowledged, oldest first (and the
    rating request after a ``resolved`` one whose escalation is still unrated)."""
    with services.unit_of_work() as session:
        rows = session.execute(
            select(AgentMessage, Staff.name, Escalation.status, Escalation.rating)
            .outerjoin(Staff, Staff.id == AgentMessage.staff_id)
            .outerjoin(Escalation, Escalation.id == AgentMessage.escalation_id)
            .where(AgentMessage.conversation_id == conversation_id,
                   AgentMessage.delivered_at.is_not(None), AgentMessage.seen_at.is_(None))
            .order_by(AgentMessage.id).limit(MAX_IDS)).all()
    out: list[dict] = []
    for row, staff_name, status, rating in rows:
        out.append(payload(row, first_name(staff_name)))
        if row.kind == "resolved" and status == "resolved" and rating is None:
            out.append(rating_request(row.id))
    return out


def record_rating(services: Services, conversation_id: str, rating: Any) -> bool:
    """The shopper's 1-5 satisfaction for the conversation's latest resolved escalation, if it
    has none yet; False (nothing stored) otherwise."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        return False
    if not isinstance(conversation_id, str):
        return False
    now = services.now()
    with services.unit_of_work(write=True) as session:
        escalation = session.execute(
            select(Escalation)
            .where(Escalation.conversation_id == conversation_id,
                   Escalation.status == "resolved")
            .order_by(Escalation.resolved_at.desc(), Escalation.id.desc())
            .limit(1)).scalars().first()
        if escalation is None or escalation.rating is not None:
            return False
        escalation.rating = rating
        escalation.rated_at = now
        return True


# --- e-mail for the messages nobody saw ----------------------------------------------------

def _mail_body(settings: Settings, customer_name: str,
               messages: Sequence[tuple[str, datetime, str]]) -> str:
    lines = [f"Hello {customer_name}," if customer_name else "Hello,", "",
             "You asked to talk to someone from our support team, and we replied after you "
             "had left the chat:", ""]
    for name, when, text in messages:
        lines += [f"{name}, {when:%d %b %Y %H:%M} UTC:", text, ""]
    lines += [f"To carry on, open the chat on {settings.public_url} in the same browser, or "
              f"write to us at {settings.shop.contact_email}.", "",
              "You get this e-mail because you were signed in when you asked for help."]
    return "\n".join(lines)


def email_unseen(services: Services) -> int:
    """The worker's job: one e-mail per conversation with the agent text messages delivered
    more than ``console.email_unseen_seconds`` ago that the widget never acknowledged, to the
    escalation's signed-in customer (guests and erased customers get nothing). Each message is
    e-mailed once. Returns the number of e-mails queued."""
    settings = services.settings
    now = services.now()
    cutoff = now - timedelta(seconds=settings.console.email_unseen_seconds)
    queued = 0
    with services.unit_of_work(write=True) as session:
        rows = session.execute(
            select(AgentMessage, Staff.name, Customer.email, Customer.first_name)
            .join(Escalation, Escalation.id == AgentMessage.escalation_id)
            .join(Customer, Customer.id == Escalation.customer_id)
            .outerjoin(Staff, Staff.id == AgentMessage.staff_id)
            .where(AgentMessage.kind == "text",
                   AgentMessage.delivered_at.is_not(None),
                   AgentMessage.delivered_at <= cutoff,
                   AgentMessage.seen_at.is_(None), AgentMessage.emailed_at.is_(None),
                   Customer.erased_at.is_(None), Customer.email != "")
            .order_by(AgentMessage.conversation_id, AgentMessage.id).limit(500)).all()
        by_conversation: dict[str, list] = {}
        for row in rows:
            by_conversation.setdefault(row[0].conversation_id, []).append(row)
        for conversation_rows in by_conversation.values():
            messages = []
            for row, staff_name, _email, _first in conversation_rows:
                # Claimed one by one: a second worker's run sends none of these again.
                taken = session.execute(
                    update(AgentMessage)
                    .where(AgentMessage.id == row.id, AgentMessage.emailed_at.is_(None))
                    .values(emailed_at=now)
                    .execution_options(synchronize_session=False)).rowcount
                if taken:
                    messages.append((first_name(staff_name), row.delivered_at, row.text))
            if not messages:
                continue
            _row, _name, email, customer_first = conversation_rows[0]
            mail.queue(session, mail.Mail(
                to=email, subject="A reply from our support team",
                body=_mail_body(settings, first_name(customer_first, ""), messages)), now)
            queued += 1
    return queued
