"""Escalating a conversation to the support team.

An open escalation belongs to the conversation that opened it *and* to whoever opened it: the
customer the chat channel verified, or a guest. A later turn may add to it only as the same
customer (or, for a guest's escalation, as anyone holding the conversation, which is the guest's
only credential; a customer who signs in mid-conversation then takes it over). Anything else -
a sender that reuses a signed-in shopper's conversation id while anonymous or as another
customer - is refused and recorded in the audit log (``escalation_denied``).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Sequence

from sqlalchemy import select

from bot import audit
from bot.redact import redact
from bot.services import Services
from bot.store import queries
from bot.store.models import ESCALATION_REASONS, Escalation, Staff
from bot.support.text import clean_text

log = logging.getLogger(__name__)

SUMMARY_MESSAGES = 5
SUMMARY_MESSAGE_CHARS = 200


# Staff roles that take chats from the queue.
CHAT_ROLES = ("agent", "lead")


@dataclass(frozen=True)
class Ticket:
    reference: str
    response_hours: int
    reused: bool
    # An agent is signed in to the console and accepting chats right now: someone can join.
    agent_available: bool = False
    # The shopper is signed in: the team's reply is also emailed.
    signed_in: bool = False
    opening_hours: str = ""


class EscalationDenied(Exception):
    """The conversation's open escalation belongs to another customer: nothing was changed
    (the refusal is in the audit log)."""


def owned_by(row: Escalation, customer_id: int | None) -> bool:
    """May a turn verified as ``customer_id`` (None: a guest) add to ``row``?"""
    return row.customer_id is None or row.customer_id == customer_id


def reference(escalation_id: int) -> str:
    return f"ESC-{escalation_id:06d}"


def summarise(messages: Sequence[str]) -> str:
    """The last few user messages, cleaned, redacted (emails, phones, cards, addresses) and
    shortened, oldest first."""
    cleaned = [clean_text(redact(clean_text(m, 2000)), SUMMARY_MESSAGE_CHARS) for m in messages]
    cleaned = [m for m in cleaned if m][-SUMMARY_MESSAGES:]
    return "\n".join(f"- {m}" for m in cleaned)


def agent_available(session, services: Services) -> bool:
    """Is an agent (or lead) signed in to the console and accepting chats? The console marks
    ``accepting`` and refreshes ``last_seen_at`` while it is open (``bot.console.queue``)."""
    since = services.now() - timedelta(seconds=services.settings.console.presence_seconds)
    stmt = (select(Staff.id).where(Staff.active.is_(True), Staff.accepting.is_(True),
                                   Staff.role.in_(CHAT_ROLES), Staff.last_seen_at >= since)
            .limit(1))
    return session.execute(stmt).first() is not None


def _propensity(services: Services, customer_id: int | None) -> dict:
    """The signed-in shopper's propensity band, score and reasons for the console (the action
    server has the model loaded); nothing when there is no score or it fails."""
    if customer_id is None:
        return {}
    try:
        score = services.propensity.score_customer(customer_id, services.now())
    except Exception:  # noqa: BLE001 - the escalation matters more than the score
        log.warning("propensity score for an escalation failed", exc_info=True)
        return {}
    band = getattr(score, "band", None)
    if band is None:
        return {}
    return {"propensity_band": band, "propensity_score": float(score.probability),
            "propensity_reasons": json.dumps(list(score.reason_texts)[:3])}


def escalate(services: Services, conversation_id: str, customer_id: int | None, reason: str,
             recent_messages: Sequence[str], channel: str | None = None) -> Ticket:
    """Open an escalation for the conversation, or add to the one already open.

    Raises :class:`EscalationDenied` (after writing the audit record) when the open one belongs
    to another customer than ``customer_id``."""
    if reason not in ESCALATION_REASONS:
        raise ValueError(f"unknown escalation reason {reason!r}")
    settings = services.settings
    now = services.now()
    summary = summarise(recent_messages)
    last = summary.rsplit("\n", 1)[-1][2:] if summary else ""
    denied = None
    # Scored outside the unit of work (it reads the shop database on its own connection).
    propensity = _propensity(services, customer_id)
    with services.unit_of_work() as session:
        available = agent_available(session, services)
        row = queries.open_escalation(session, conversation_id)
        if row is not None and not owned_by(row, customer_id):
            actor = f"customer:{customer_id}" if customer_id is not None else "guest"
            audit.record(session, now=now, actor=actor, action="escalation_denied",
                         subject=reference(row.id),
                         detail={"conversation_id": conversation_id, "reason": reason})
            denied = reference(row.id)
        elif row is not None:
            if customer_id is not None and row.customer_id is None:
                row.customer_id = customer_id
            if summary and summary not in row.summary:
                row.summary = (row.summary + "\n" + summary).strip()[-4000:]
            if last:
                row.last_message = last
            row.updated_at = now
            return _ticket(settings, row, True, available)
        else:
            row = queries.add_escalation(
                session, conversation_id=conversation_id, customer_id=customer_id,
                reason=reason, summary=summary, now=now,
            )
            row.channel = (channel or "")[:20] or None
            row.last_message = last
            for key, value in propensity.items():
                setattr(row, key, value)
            session.flush()
            return _ticket(settings, row, False, available)
    # Raised after the unit of work committed the audit record.
    log.warning("escalation %s: update from another identity refused", denied)
    raise EscalationDenied(denied)


def _ticket(settings, row: Escalation, reused: bool, available: bool) -> Ticket:
    return Ticket(reference(row.id), settings.escalation_response_hours, reused,
                  agent_available=available, signed_in=row.customer_id is not None,
                  opening_hours=settings.shop.opening_hours)
