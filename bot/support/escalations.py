"""Escalating a conversation to the support team."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bot.redact import redact
from bot.services import Services
from bot.store import queries
from bot.store.models import ESCALATION_REASONS
from bot.support.text import clean_text

SUMMARY_MESSAGES = 5
SUMMARY_MESSAGE_CHARS = 200


@dataclass(frozen=True)
class Ticket:
    reference: str
    response_hours: int
    reused: bool


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
    """Open an escalation for the conversation, or reuse the one already open."""
    if reason not in ESCALATION_REASONS:
        raise ValueError(f"unknown escalation reason {reason!r}")
    settings = services.settings
    now = services.now()
    summary = summarise(recent_messages)
    with services.unit_of_work() as session:
        row = queries.open_escalation(session, conversation_id)
        if row is not None:
            if customer_id is not None and row.customer_id is None:
                row.customer_id = customer_id
            if summary and summary not in row.summary:
                row.summary = (row.summary + "\n" + summary).strip()[-4000:]
            row.updated_at = now
            return Ticket(reference(row.id), settings.escalation_response_hours, True)
        row = queries.add_escalation(
            session, conversation_id=conversation_id, customer_id=customer_id, reason=reason,
            summary=summary, now=now,
        )
        return Ticket(reference(row.id), settings.escalation_response_hours, False)
