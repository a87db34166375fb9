"""Reviews, feedback and complaints shoppers leave in the chat."""
from __future__ import annotations

from dataclasses import dataclass

from bot.redact import redact
from bot.services import Services
from bot.store import queries
from bot.store.errors import InvalidInput
from bot.store.models import FEEDBACK_KINDS
from bot.support.text import clean_text, has_words, parse_rating

MAX_FEEDBACK_CHARS = 2000


@dataclass(frozen=True)
class FeedbackReceipt:
    reference: str
    kind: str
    rating: int | None


def record(services: Services, conversation_id: str, customer_id: int | None, kind: str,
           text: object) -> FeedbackReceipt:
    """Store the text (cleaned, redacted, at most 2,000 characters) with any 1-5 rating it
    states."""
    if kind not in FEEDBACK_KINDS:
        raise ValueError(f"unknown feedback kind {kind!r}")
    cleaned = clean_text(text, MAX_FEEDBACK_CHARS)
    if not has_words(cleaned):
        raise InvalidInput("feedback_text")
    rating = parse_rating(cleaned)
    # Staff read feedback to improve the shop, not to contact anyone: emails, phone and card
    # numbers and street addresses a shopper typed are not stored.
    stored = redact(cleaned)
    with services.unit_of_work() as session:
        row = queries.add_feedback(
            session, conversation_id=conversation_id, customer_id=customer_id, kind=kind,
            text=stored, rating=rating, now=services.now(),
        )
        return FeedbackReceipt(f"FB-{row.id:06d}", kind, rating)
