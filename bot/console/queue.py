"""The escalation queue and what staff do with a conversation.

States: ``open`` -> ``claimed`` (by one agent) -> ``resolved`` (with an outcome), and a resolved
one can be reopened (-> ``open``). A claim is one conditional ``UPDATE ... WHERE status =
'open'`` checked by its row count, so of two agents claiming at once exactly one wins and the
other gets :class:`AlreadyClaimed` with the winner's name.

Who sees what (:func:`may_view`): leads see every escalated conversation; agents see the ones
in the queue (open), the ones they claimed or resolved, and nothing else; analysts none. A
guessed conversation id without an escalation shows nothing to anyone here.

Presence (:func:`heartbeat`): the console marks its agent ``accepting`` and refreshes
``last_seen_at`` while it is open; ``bot.support.escalations.agent_available`` reads it to decide
what the bot may promise.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Sequence

from sqlalchemy import and_, func, or_, select, update

from bot import audit
from bot.redact import redact
from bot.services import Services
from bot.store.models import (
    ESCALATION_OUTCOMES,
    ESCALATION_REASONS,
    ESCALATION_STATUSES,
    CannedReply,
    ConversationNote,
    ConversationTag,
    Customer,
    Escalation,
    Need,
    Order,
    Staff,
)

PAGE_SIZE = 50
ACTIVE_STATUSES = ("open", "claimed")
REASON_LABELS = MappingProxyType({"human_request": "asked for a person",
                                  "fallback": "repeated fallback", "complaint": "complaint"})
MAX_NOTE_CHARS = 2000
MAX_CANNED_CHARS = 2000
TAG = re.compile(r"[a-z0-9][a-z0-9 _-]{0,39}")
PLACEHOLDER = re.compile(r"\{(name|order)\}")
ORDER_NUMBER = re.compile(r"\bSH-?\s?(\d{6})\b", re.IGNORECASE)


class ConsoleError(ValueError):
    """A request the console refuses, with a message fit to show the agent."""


class NotFound(ConsoleError):
    pass


class NotAllowed(ConsoleError):
    pass


class AlreadyClaimed(ConsoleError):
    def __init__(self, by: str):
        super().__init__(f"{by} already claimed this conversation")
        self.by = by


@dataclass(frozen=True)
class QueueItem:
    id: int
    reference: str
    conversation_id: str
    reason: str
    reason_label: str
    status: str
    shopper: str  # signed-in name, or "guest"
    customer_id: int | None
    created_at: datetime
    updated_at: datetime
    waiting_seconds: int
    channel: str
    last_message: str
    propensity_band: str | None
    claimed_by: int | None
    claimed_by_name: str | None
    paused: bool
    outcome: str | None


@dataclass(frozen=True)
class QueuePage:
    items: tuple[QueueItem, ...]
    total: int
    counts: dict = field(default_factory=dict)  # status -> how many (all of the queue)


@dataclass(frozen=True)
class QueueFilter:
    mine: bool = False
    unassigned: bool = False
    status: str = "active"  # "active" (open + claimed), or one of ESCALATION_STATUSES, or "all"
    reason: str = ""

    @classmethod
    def from_query(cls, query) -> "QueueFilter":
        status = str(query.get("status") or "active")
        if status not in ("active", "all", *ESCALATION_STATUSES):
            status = "active"
        reason = str(query.get("reason") or "")
        return cls(mine=query.get("mine") in ("1", "true", "on"),
                   unassigned=query.get("unassigned") in ("1", "true", "on"),
                   status=status, reason=reason if reason in ESCALATION_REASONS else "")


def reference(escalation_id: int) -> str:
    return f"ESC-{escalation_id:06d}"


def _shopper_name(customer: Customer | None) -> str:
    if customer is None or customer.erased_at is not None:
        return "guest" if customer is None else "erased customer"
    return f"{customer.first_name} {customer.last_name}".strip() or "customer"


def _filtered(stmt, staff_id: int, flt: QueueFilter):
    if flt.status == "active":
        stmt = stmt.where(Escalation.status.in_(ACTIVE_STATUSES))
    elif flt.status != "all":
        stmt = stmt.where(Escalation.status == flt.status)
    if flt.mine:
        stmt = stmt.where(Escalation.claimed_by == staff_id)
    if flt.unassigned:
        stmt = stmt.where(Escalation.claimed_by.is_(None))
    if flt.reason:
        stmt = stmt.where(Escalation.reason == flt.reason)
    return stmt


def queue(services: Services, staff_id: int, flt: QueueFilter = QueueFilter(), *,
          limit: int = PAGE_SIZE, offset: int = 0) -> QueuePage:
    """One page of escalations, oldest first (the longest wait at the top)."""
    now = services.now()
    with services.unit_of_work() as session:
        base = _filtered(select(Escalation, Customer, Staff)
                         .outerjoin(Customer, Customer.id == Escalation.customer_id)
                         .outerjoin(Staff, Staff.id == Escalation.claimed_by), staff_id, flt)
        rows = session.execute(base.order_by(Escalation.created_at, Escalation.id)
                               .limit(limit).offset(offset)).all()
        total = session.execute(_filtered(select(func.count(Escalation.id)), staff_id, flt)
                                ).scalar_one()
        counts = dict(session.execute(select(Escalation.status, func.count(Escalation.id))
                                      .group_by(Escalation.status)).all())
        items = tuple(_item(esc, customer, agent, now) for esc, customer, agent in rows)
    return QueuePage(items, total, counts)


def _item(esc: Escalation, customer: Customer | None, agent: Staff | None,
          now: datetime) -> QueueItem:
    end = esc.resolved_at if esc.status == "resolved" and esc.resolved_at else now
    return QueueItem(
        id=esc.id, reference=reference(esc.id), conversation_id=esc.conversation_id,
        reason=esc.reason, reason_label=REASON_LABELS.get(esc.reason, esc.reason),
        status=esc.status, shopper=_shopper_name(customer), customer_id=esc.customer_id,
        created_at=esc.created_at, updated_at=esc.updated_at,
        waiting_seconds=max(0, int((end - esc.created_at).total_seconds())),
        channel=esc.channel or "chat", last_message=esc.last_message or "",
        propensity_band=esc.propensity_band if esc.customer_id is not None else None,
        claimed_by=esc.claimed_by, claimed_by_name=agent.name if agent is not None else None,
        paused=bool(esc.paused), outcome=esc.outcome)


def version(services: Services) -> tuple:
    """Changes whenever an escalation is added or changed: what live updates poll."""
    with services.unit_of_work() as session:
        count, latest = session.execute(
            select(func.count(Escalation.id), func.max(Escalation.updated_at))).one()
    return count, latest.isoformat() if latest else ""


# --- one escalation --------------------------------------------------------------------------

def _escalation(session, escalation_id: int) -> Escalation:
    row = session.get(Escalation, escalation_id)
    if row is None:
        raise NotFound("no such escalation")
    return row


def get(services: Services, escalation_id: int) -> QueueItem:
    now = services.now()
    with services.unit_of_work() as session:
        esc = _escalation(session, escalation_id)
        customer = session.get(Customer, esc.customer_id) if esc.customer_id else None
        agent = session.get(Staff, esc.claimed_by) if esc.claimed_by else None
        return _item(esc, customer, agent, now)


def latest_for_conversation(services: Services, conversation_id: str) -> QueueItem | None:
    """The conversation's newest escalation (active first)."""
    now = services.now()
    with services.unit_of_work() as session:
        row = session.execute(
            select(Escalation, Customer, Staff)
            .outerjoin(Customer, Customer.id == Escalation.customer_id)
            .outerjoin(Staff, Staff.id == Escalation.claimed_by)
            .where(Escalation.conversation_id == conversation_id)
            .order_by((Escalation.status == "resolved").asc(), Escalation.id.desc())
            .limit(1)).first()
        return _item(*row, now) if row else None


def may_view(services: Services, staff_id: int, role: str, conversation_id: str) -> bool:
    """May this member of staff read the conversation (see the module's docstring)?"""
    if role not in ("agent", "lead"):
        return False
    with services.unit_of_work() as session:
        stmt = select(Escalation.id).where(Escalation.conversation_id == conversation_id)
        if role == "agent":
            stmt = stmt.where(or_(Escalation.status == "open",
                                  Escalation.claimed_by == staff_id,
                                  Escalation.resolved_by == staff_id))
        return session.execute(stmt.limit(1)).first() is not None


def claim(services: Services, staff_id: int, escalation_id: int, *, actor: str) -> QueueItem:
    """Claim an open escalation; :class:`AlreadyClaimed` when someone else was first. Claiming
    one you already hold is a no-op."""
    now = services.now()
    with services.unit_of_work(write=True) as session:
        won = session.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.status == "open")
            .values(status="claimed", claimed_by=staff_id, claimed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)).rowcount
        esc = _escalation(session, escalation_id)
        if not won:
            if esc.status == "claimed" and esc.claimed_by == staff_id:
                pass
            elif esc.status == "claimed":
                holder = session.get(Staff, esc.claimed_by)
                raise AlreadyClaimed(holder.name if holder else "someone")
            else:
                raise ConsoleError("this conversation is resolved: reopen it first")
        else:
            audit.record(session, now=now, actor=actor, action="escalation_claimed",
                         subject=reference(escalation_id))
    return get(services, escalation_id)


def _held(session, escalation_id: int, staff_id: int, role: str) -> Escalation:
    esc = _escalation(session, escalation_id)
    if esc.status != "claimed":
        raise ConsoleError("claim this conversation first")
    if esc.claimed_by != staff_id and role != "lead":
        raise NotAllowed("another agent has this conversation")
    return esc


def check_held(services: Services, escalation_id: int, staff_id: int, role: str) -> QueueItem:
    """The escalation, if this member of staff holds it (a lead may act on any claimed one)."""
    with services.unit_of_work() as session:
        _held(session, escalation_id, staff_id, role)
    return get(services, escalation_id)


def release(services: Services, staff_id: int, role: str, escalation_id: int, *,
            actor: str) -> QueueItem:
    """Put a claimed escalation back in the queue (open, unclaimed)."""
    now = services.now()
    with services.unit_of_work(write=True) as session:
        esc = _held(session, escalation_id, staff_id, role)
        esc.status, esc.claimed_by, esc.claimed_at, esc.updated_at = "open", None, None, now
        audit.record(session, now=now, actor=actor, action="escalation_released",
                     subject=reference(escalation_id))
    return get(services, escalation_id)


def resolve(services: Services, staff_id: int, role: str, escalation_id: int, outcome: str, *,
            actor: str) -> QueueItem:
    if outcome not in ESCALATION_OUTCOMES:
        raise ConsoleError("choose an outcome: " + ", ".join(ESCALATION_OUTCOMES))
    now = services.now()
    with services.unit_of_work(write=True) as session:
        esc = _held(session, escalation_id, staff_id, role)
        esc.status, esc.outcome, esc.resolved_at, esc.resolved_by = "resolved", outcome, now, \
            staff_id
        esc.updated_at = now
        audit.record(session, now=now, actor=actor, action="escalation_resolved",
                     subject=reference(escalation_id), detail={"outcome": outcome})
    return get(services, escalation_id)


def reopen(services: Services, staff_id: int, role: str, escalation_id: int, *,
           actor: str) -> QueueItem:
    """A resolved escalation goes back to the queue (its outcome and rating are cleared)."""
    now = services.now()
    with services.unit_of_work(write=True) as session:
        esc = _escalation(session, escalation_id)
        if esc.status != "resolved":
            raise ConsoleError("only a resolved conversation can be reopened")
        if role != "lead" and esc.resolved_by != staff_id:
            raise NotAllowed("only the agent who resolved it or a lead can reopen it")
        active = session.execute(select(Escalation.id).where(
            Escalation.conversation_id == esc.conversation_id,
            Escalation.status.in_(ACTIVE_STATUSES))).first()
        if active is not None:
            raise ConsoleError(f"this conversation is already in the queue as "
                               f"{reference(active[0])}")
        esc.status, esc.claimed_by, esc.claimed_at = "open", None, None
        esc.outcome = esc.resolved_at = esc.resolved_by = esc.rating = esc.rated_at = None
        esc.updated_at = now
        audit.record(session, now=now, actor=actor, action="escalation_reopened",
                     subject=reference(escalation_id))
    return get(services, escalation_id)


def touch(services: Services, conversation_id: str, last_message: str = "") -> None:
    """Mark the conversation's active escalation changed (live queues refresh), optionally with
    the shopper's newest message (redacted)."""
    now = services.now()
    values = {"updated_at": now}
    if last_message:
        values["last_message"] = redact(last_message)[:500]
    with services.unit_of_work() as session:
        session.execute(update(Escalation).where(
            Escalation.conversation_id == conversation_id,
            Escalation.status.in_(ACTIVE_STATUSES)).values(**values)
            .execution_options(synchronize_session=False))


# --- side panel ------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderLine:
    number: str
    status: str
    placed_at: datetime
    total: str


@dataclass(frozen=True)
class NeedLine:
    product: str
    category: str
    details: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class SidePanel:
    shopper: str
    email: str | None
    customer_id: int | None
    orders: tuple[OrderLine, ...]
    needs: tuple[NeedLine, ...]
    propensity_band: str | None
    propensity_score: float | None
    propensity_reasons: tuple[str, ...]
    earlier: tuple[QueueItem, ...]


def _json_list(raw) -> list:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else [value]


def side_panel(services: Services, conversation_id: str) -> SidePanel:
    """Who the shopper is and what we know: recent orders (signed-in shoppers only), the needs
    captured in this conversation, the propensity snapshot and earlier escalations."""
    now = services.now()
    with services.unit_of_work() as session:
        escs = session.execute(select(Escalation).where(
            Escalation.conversation_id == conversation_id).order_by(Escalation.id.desc())
        ).scalars().all()
        current = escs[0] if escs else None
        customer_id = next((e.customer_id for e in escs if e.customer_id), None)
        customer = session.get(Customer, customer_id) if customer_id else None
        orders: tuple[OrderLine, ...] = ()
        earlier: list[QueueItem] = []
        if customer is not None and customer.erased_at is None:
            orders = tuple(
                OrderLine(o.number, o.status, o.placed_at, f"{o.total} {o.currency}")
                for o in session.execute(select(Order).where(Order.customer_id == customer.id)
                                         .order_by(Order.placed_at.desc()).limit(5)).scalars())
            others = session.execute(
                select(Escalation).where(Escalation.customer_id == customer.id,
                                         Escalation.conversation_id != conversation_id)
                .order_by(Escalation.id.desc()).limit(5)).scalars().all()
            earlier = [_item(e, customer, None, now) for e in others]
        earlier += [_item(e, customer, None, now) for e in escs[1:]]
        needs = tuple(
            NeedLine(product=n.product or "", category=n.category or "",
                     details=", ".join(str(v) for v in (
                         _json_list(n.attributes) + _json_list(n.colour) + _json_list(n.size)
                         + ([n.brand] if n.brand else [])
                         + ([f"up to {n.price_max} {n.currency or ''}".strip()]
                            if n.price_max is not None else []))),
                     status=n.status or "", created_at=n.created_at)
            for n in session.execute(select(Need).where(Need.conversation_id == conversation_id)
                                     .order_by(Need.need_seq)).scalars())
        return SidePanel(
            shopper=_shopper_name(customer), email=customer.email if customer is not None
            and customer.erased_at is None else None, customer_id=customer_id,
            orders=orders, needs=needs,
            propensity_band=current.propensity_band if current is not None else None,
            propensity_score=current.propensity_score if current is not None else None,
            propensity_reasons=tuple(str(r) for r in _json_list(
                current.propensity_reasons if current is not None else None))[:3],
            earlier=tuple(earlier))


# --- notes and tags --------------------------------------------------------------------------

@dataclass(frozen=True)
class Note:
    id: int
    author: str
    text: str
    created_at: datetime


def add_note(services: Services, staff_id: int, conversation_id: str, text: str) -> Note:
    text = (text or "").strip()
    if not text:
        raise ConsoleError("write something first")
    if len(text) > MAX_NOTE_CHARS:
        raise ConsoleError(f"a note is at most {MAX_NOTE_CHARS} characters")
    with services.unit_of_work() as session:
        row = ConversationNote(conversation_id=conversation_id, staff_id=staff_id, text=text,
                               created_at=services.now())
        session.add(row)
        session.flush()
        author = session.get(Staff, staff_id)
        return Note(row.id, author.name if author else "?", row.text, row.created_at)


def notes(services: Services, conversation_id: str) -> tuple[Note, ...]:
    with services.unit_of_work() as session:
        rows = session.execute(
            select(ConversationNote, Staff.name)
            .join(Staff, Staff.id == ConversationNote.staff_id)
            .where(ConversationNote.conversation_id == conversation_id)
            .order_by(ConversationNote.id)).all()
        return tuple(Note(n.id, name, n.text, n.created_at) for n, name in rows)


def normalise_tag(tag: str) -> str:
    value = " ".join((tag or "").strip().lower().split())
    if not TAG.fullmatch(value):
        raise ConsoleError("a tag is 1-40 letters, digits, spaces, - or _")
    return value


def add_tag(services: Services, staff_id: int, conversation_id: str, tag: str) -> tuple[str, ...]:
    value = normalise_tag(tag)
    with services.unit_of_work() as session:
        exists = session.execute(select(ConversationTag.id).where(
            ConversationTag.conversation_id == conversation_id,
            ConversationTag.tag == value)).first()
        if exists is None:
            session.add(ConversationTag(conversation_id=conversation_id, tag=value,
                                        staff_id=staff_id, created_at=services.now()))
    return tags(services, conversation_id)


def remove_tag(services: Services, conversation_id: str, tag: str) -> tuple[str, ...]:
    value = normalise_tag(tag)
    with services.unit_of_work() as session:
        session.query(ConversationTag).filter(
            ConversationTag.conversation_id == conversation_id,
            ConversationTag.tag == value).delete(synchronize_session=False)
    return tags(services, conversation_id)


def tags(services: Services, conversation_id: str) -> tuple[str, ...]:
    with services.unit_of_work() as session:
        return tuple(session.execute(select(ConversationTag.tag).where(
            ConversationTag.conversation_id == conversation_id)
            .order_by(ConversationTag.tag)).scalars())


# --- canned replies --------------------------------------------------------------------------

@dataclass(frozen=True)
class Canned:
    id: int
    title: str
    body: str


DEFAULT_CANNED = (
    ("Greeting", "Hi {name}, thanks for waiting - I'm looking at this now."),
    ("Order check", "I'm checking order {order} for you, one moment please."),
    ("Refund started", "I've started your refund for {order}. It reaches your bank in 3-5 "
                       "working days."),
    ("Anything else", "Is there anything else I can help you with today?"),
)


def canned_replies(services: Services) -> tuple[Canned, ...]:
    with services.unit_of_work() as session:
        return tuple(Canned(r.id, r.title, r.body) for r in session.execute(
            select(CannedReply).where(CannedReply.active.is_(True))
            .order_by(CannedReply.title)).scalars())


def ensure_default_canned(services: Services) -> int:
    """Write the starter canned replies when there are none yet (``make run``'s demo)."""
    with services.unit_of_work() as session:
        if session.execute(select(CannedReply.id).limit(1)).first() is not None:
            return 0
        for title, body in DEFAULT_CANNED:
            session.add(CannedReply(title=title, body=body, active=True,
                                    updated_at=services.now()))
    return len(DEFAULT_CANNED)


def save_canned(services: Services, staff_id: int, title: str, body: str, *, actor: str,
                canned_id: int | None = None) -> Canned:
    title = " ".join((title or "").split())
    body = (body or "").strip()
    if not 1 <= len(title) <= 80:
        raise ConsoleError("a title is 1-80 characters")
    if not 1 <= len(body) <= MAX_CANNED_CHARS:
        raise ConsoleError(f"a reply is 1-{MAX_CANNED_CHARS} characters")
    now = services.now()
    with services.unit_of_work() as session:
        clash = session.execute(select(CannedReply.id).where(
            CannedReply.title == title,
            CannedReply.id != (canned_id or 0))).first()
        if clash is not None:
            raise ConsoleError("another canned reply has that title")
        if canned_id is None:
            row = CannedReply(title=title, body=body, active=True, updated_by=staff_id,
                              updated_at=now)
            session.add(row)
        else:
            row = session.get(CannedReply, canned_id)
            if row is None:
                raise NotFound("no such canned reply")
            row.title, row.body, row.active, row.updated_by, row.updated_at = \
                title, body, True, staff_id, now
        session.flush()
        audit.record(session, now=now, actor=actor, action="canned_reply_saved",
                     subject=title)
        return Canned(row.id, row.title, row.body)


def delete_canned(services: Services, canned_id: int, *, actor: str) -> None:
    now = services.now()
    with services.unit_of_work() as session:
        row = session.get(CannedReply, canned_id)
        if row is None:
            raise NotFound("no such canned reply")
        session.delete(row)
        audit.record(session, now=now, actor=actor, action="canned_reply_deleted",
                     subject=row.title)


def fill_placeholders(body: str, *, name: str | None, order: str | None) -> str:
    """``{name}`` -> the shopper's first name (else "there"), ``{order}`` -> the order number
    in the conversation (else "your order"). Other braces stay as typed."""
    first = (name or "").split()[0] if name and name not in ("guest", "erased customer") \
        else "there"
    values = {"name": first, "order": order or "your order"}
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], body)


def order_number_in(texts: Sequence[str]) -> str | None:
    """The newest order number (``SH-123456``) the shopper wrote, if any."""
    for text in reversed(texts):
        found = ORDER_NUMBER.findall(text or "")
        if found:
            return f"SH-{found[-1]}"
    return None


# --- presence --------------------------------------------------------------------------------

def heartbeat(services: Services, staff_id: int, accepting: bool | None = None) -> bool:
    """The console is open for this member of staff: refresh ``last_seen_at`` (and set
    ``accepting`` when given). Returns whether they are accepting chats."""
    with services.unit_of_work() as session:
        row = session.get(Staff, staff_id)
        if row is None:
            raise NotFound("no such member of staff")
        row.last_seen_at = services.now()
        if accepting is not None:
            row.accepting = bool(accepting)
        return bool(row.accepting)


def signed_off(services: Services, staff_id: int) -> None:
    """Signing out stops this member of staff accepting chats at once."""
    with services.unit_of_work() as session:
        row = session.get(Staff, staff_id)
        if row is not None:
            row.accepting = False


def available_agents(services: Services) -> Sequence[str]:
    """Names of the agents accepting chats now (the console's header)."""
    from datetime import timedelta

    since = services.now() - timedelta(seconds=services.settings.console.presence_seconds)
    with services.unit_of_work() as session:
        return tuple(session.execute(select(Staff.name).where(
            and_(Staff.active.is_(True), Staff.accepting.is_(True),
                 Staff.role.in_(("agent", "lead")), Staff.last_seen_at >= since))
            .order_by(Staff.name)).scalars())
