"""Escalating a conversation to the support team.

An open escalation belongs to the conversation that opened it *and* to whoever opened it: the
customer the chat channel verified, or a guest. A later turn may add to it only as the same
customer (or, for a guest's escalation, as anyone holding the conversation, which is the guest's
only credential; a customer who signs in mid-conversation then takes it over). Anything else -
a sender that reuses a signed-in shopper's conversation id while anonymous or as another
customer - is refused and recorded in the audit log (``escalation_denied``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

from bot import audit
from bot.redact import redact
from bot.services import Services
from bot.store import queries
from bot.store.models import ESCALATION_REASONS, Escalation
from bot.support.text import clean_text

log = logging.getLogger(__name__)

SUMMARY_MESSAGES = 5
SUMMARY_MESSAGE_CHARS = 200


@dataclass(frozen=True)
class Ticket:
    reference: str
    response_hours: int
    reused: bool


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


def escalate(services: Services, conversation_id: str, customer_id: int | None, reason: str,
             recent_messages: Sequence[str]) -> Ticket:
    """Open an escalation for the conversation, or add to the one already open.

    Raises :class:`EscalationDenied` (after writing the audit record) when the open one belongs
    to another customer than ``customer_id``."""
    if reason not in ESCALATION_REASONS:
        raise ValueError(f"unknown escalation reason {reason!r}")
    settings = services.settings
    now = services.now()
    summary = summarise(recent_messages)
    denied = None
    with services.unit_of_work() as session:
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
            row.updated_at = now
            return Ticket(reference(row.id), settings.escalation_response_hours, True)
        else:
            row = queries.add_escalation(
                session, conversation_id=conversation_id, customer_id=customer_id,
                reason=reason, summary=summary, now=now,
            )
            return Ticket(reference(row.id), settings.escalation_response_hours, False)
    # Raised after the unit of work committed the audit record.
    log.warning("escalation %s: update from another identity refused", denied)
    raise EscalationDenied(denied)
