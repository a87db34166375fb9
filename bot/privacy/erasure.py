"""Erasing a customer's data ("delete my data").

What happens (docs/privacy.md has the table):

- **shop database, at once**, in one transaction: the customer's needs, feedback, escalations,
  account requests, newsletter subscriptions, queued mail, saved addresses and browsing events
  (views, basket adds) are deleted - also rows of their conversations that carry no customer id
  (a need captured before they signed in); the orders are kept, as the law requires, but
  anonymised (number, dates, amounts, lines, payments stay; the contact email, the delivery
  address and any return reason go); the customer row is kept for those orders, anonymised
  (name, email, phone replaced, ``erased_at`` set). A ``data_erased`` audit record notes the
  counts and an :class:`~bot.store.models.ErasureRequest` lists the conversations to erase.
- **tracker store, once quiet**: Rasa's ``SQLTrackerStore.save`` appends only the events beyond
  the number it finds stored for the conversation's current session. Deleting the events of a
  conversation Rasa is still working on (the very turn in which the shopper confirmed the
  erasure) would make the next save write the whole in-memory tracker back. So the worker's
  :func:`complete_pending` deletes a request's conversations only once none of them has had an
  event for ``erasure_quiet_seconds`` (2 minutes by default); by then Rasa holds nothing of it,
  and a shopper who writes again starts from an empty tracker. It then erases once more the
  shop rows of those conversations (the needs follower or a last turn may have added one),
  marks the request done and writes an ``erasure_completed`` audit record.

On SQLite both databases delete with ``PRAGMA secure_delete`` and the WAL is checkpointed and
truncated afterwards, so no copy of the erased text stays in the files' free pages or logs.
"""
from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import delete, false, func, or_, select, text, update
from sqlalchemy.orm import Session

from bot import audit
from bot.insights import facets as insight_facets
from bot.privacy.trackerstore import TrackerStore, sqlite_checkpoint
from bot.services import Services
from bot.store.errors import ShopError
from bot.store.models import (
    AccountRequest,
    Address,
    AgentMessage,
    ConversationNote,
    ConversationTag,
    Customer,
    ErasureRequest,
    Escalation,
    Event,
    Feedback,
    Need,
    NewsletterSubscription,
    Order,
    OutgoingMail,
    Return,
    ReviewCorrection,
)

log = logging.getLogger(__name__)

CHUNK = 500
ERASED_NAME = ("Erased", "Customer")
ERASED_ADDRESS = "[erased]"
ERASED_DOMAIN = "erased.invalid"


class CustomerNotFound(ShopError):
    """No customer has this id."""


@dataclass
class ErasureResult:
    customer_id: int
    request_id: int
    counts: dict = field(default_factory=dict)
    conversations: tuple[str, ...] = ()
    completed: bool = False  # the tracker store part is done too


def _chunks(values: Iterable[str]):
    values = sorted(set(values))
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def secure_delete(session: Session) -> None:
    """SQLite: overwrite deleted content with zeros on this connection (a no-op elsewhere)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete=ON"))


def placeholder_email() -> str:
    """An address nobody can guess or receive (orders prove ownership by email)."""
    return f"erased-{secrets.token_hex(8)}@{ERASED_DOMAIN}"


def conversations_in_shop(session: Session, customer_id: int) -> set[str]:
    """Conversation ids the shop database links to the customer."""
    found: set[str] = set()
    for column, owner in ((Need.conversation_id, Need.customer_id),
                          (Feedback.conversation_id, Feedback.customer_id),
                          (Escalation.conversation_id, Escalation.customer_id),
                          (AccountRequest.conversation_id, AccountRequest.customer_id)):
        found.update(c for c in session.execute(select(column).where(owner == customer_id)
                                                .distinct()).scalars() if c)
    return found


def _delete(session: Session, model, owner_clause, conversation_column,
            conversations: set[str]) -> int:
    count = session.execute(delete(model).where(owner_clause)
                            .execution_options(synchronize_session=False)).rowcount or 0
    if conversation_column is not None:
        for chunk in _chunks(conversations):
            count += session.execute(delete(model).where(conversation_column.in_(chunk))
                                     .execution_options(synchronize_session=False)).rowcount or 0
    return count


def _forget_need_facets(session: Session, customer_id: int, conversations: set[str]) -> None:
    """Take the needs about to be deleted out of the insights' facets and daily rollup."""
    ids = set(session.execute(select(Need.id).where(Need.customer_id == customer_id)).scalars())
    for chunk in _chunks(conversations):
        ids.update(session.execute(select(Need.id).where(Need.conversation_id.in_(chunk)))
                   .scalars())
    insight_facets.forget(session, ids)


def erase_conversation_rows(session: Session, customer_id: int, conversations: set[str]
                            ) -> dict:
    """Delete the shop rows written from the customer's conversations (also anonymous ones),
    including what staff wrote about them in the console (agent messages, notes, tags, review
    corrections: they quote the shopper)."""
    console = {
        "agent_messages": _delete(session, AgentMessage, false(), AgentMessage.conversation_id,
                                  conversations),
        "notes": _delete(session, ConversationNote, false(), ConversationNote.conversation_id,
                         conversations),
        "tags": _delete(session, ConversationTag, false(), ConversationTag.conversation_id,
                        conversations),
        "review_corrections": _delete(session, ReviewCorrection, false(),
                                      ReviewCorrection.conversation_id, conversations),
    }
    _forget_need_facets(session, customer_id, conversations)
    return {
        **console,
        "needs": _delete(session, Need, Need.customer_id == customer_id, Need.conversation_id,
                         conversations),
        "feedback": _delete(session, Feedback, Feedback.customer_id == customer_id,
                            Feedback.conversation_id, conversations),
        "escalations": _delete(session, Escalation, Escalation.customer_id == customer_id,
                               Escalation.conversation_id, conversations),
        "account_requests": _delete(session, AccountRequest,
                                    AccountRequest.customer_id == customer_id,
                                    AccountRequest.conversation_id, conversations),
    }


def _erase_customer_rows(session: Session, customer: Customer, now: datetime) -> dict:
    emails = {customer.email.lower()}
    emails.update(e.lower() for e in session.execute(
        select(NewsletterSubscription.email)
        .where(NewsletterSubscription.customer_id == customer.id)).scalars())
    counts = {
        "newsletter_subscriptions": session.execute(
            delete(NewsletterSubscription).where(or_(
                NewsletterSubscription.customer_id == customer.id,
                func.lower(NewsletterSubscription.email).in_(emails)))
            .execution_options(synchronize_session=False)).rowcount or 0,
        "queued_mail": session.execute(
            delete(OutgoingMail).where(func.lower(OutgoingMail.to_addr).in_(emails))
            .execution_options(synchronize_session=False)).rowcount or 0,
        "addresses": session.execute(
            delete(Address).where(Address.customer_id == customer.id)
            .execution_options(synchronize_session=False)).rowcount or 0,
        "browsing_events": session.execute(
            delete(Event).where(Event.customer_id == customer.id, Event.event_type != "purchase")
            .execution_options(synchronize_session=False)).rowcount or 0,
    }
    order_ids = session.execute(select(Order.id).where(Order.customer_id == customer.id)
                                ).scalars().all()
    for order_id in order_ids:  # one placeholder per order: none can be guessed from another
        session.execute(update(Order).where(Order.id == order_id).values(
            email=placeholder_email(), shipping_address=ERASED_ADDRESS))
    if order_ids:
        session.execute(update(Return).where(Return.order_id.in_(order_ids)).values(reason="")
                        .execution_options(synchronize_session=False))
    counts["orders_anonymised"] = len(order_ids)
    customer.email = placeholder_email()
    customer.first_name, customer.last_name = ERASED_NAME
    customer.phone = None
    customer.marketing_opt_in = False
    customer.erased_at = customer.erased_at or now
    return counts


def erase_customer(services: Services, customer_id: int, *, actor: str,
                   tracker: TrackerStore | None = None,
                   conversations: Iterable[str] = ()) -> ErasureResult:
    """Erase the customer's data in the shop database now and record the conversations for the
    tracker store part (:func:`complete_pending`). ``conversations``: ids known to the caller
    (the chat's own conversation); the tracker store is searched for the rest."""
    known = {c for c in conversations if c}
    if tracker is not None:
        known |= tracker.conversations_of_customer(customer_id,
                                                   services.settings.identity_secret)
    now = services.now()
    with services.unit_of_work() as session:
        secure_delete(session)
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise CustomerNotFound(f"customer {customer_id}")
        known |= conversations_in_shop(session, customer_id)
        counts = erase_conversation_rows(session, customer_id, known)
        counts.update(_erase_customer_rows(session, customer, now))
        request = session.execute(
            select(ErasureRequest).where(ErasureRequest.customer_id == customer_id,
                                         ErasureRequest.status == "pending")).scalars().first()
        if request is None:
            request = ErasureRequest(customer_id=customer_id, status="pending",
                                     conversation_ids="[]", requested_by=actor[:120],
                                     requested_at=now, detail="{}")
            session.add(request)
        request.conversation_ids = json.dumps(
            sorted(known | set(json.loads(request.conversation_ids or "[]"))))
        request.detail = json.dumps({"shop": counts}, sort_keys=True)
        session.flush()
        audit.record(session, now=now, actor=actor, action="data_erased",
                     subject=f"customer:{customer_id}",
                     detail={**counts, "conversations": len(known), "request": request.id})
        result = ErasureResult(customer_id, request.id, counts, tuple(sorted(known)))
    sqlite_checkpoint(services.engine)
    return result


def _unix(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def complete_pending(services: Services, tracker: TrackerStore, *,
                     quiet_seconds: int | None = None, actor: str = "job") -> list[ErasureResult]:
    """Erase the conversations of pending requests that have been quiet long enough; returns
    the requests completed now."""
    quiet = services.settings.privacy.erasure_quiet_seconds if quiet_seconds is None \
        else quiet_seconds
    with services.unit_of_work() as session:
        pending = [(r.id, r.customer_id, json.loads(r.conversation_ids or "[]"),
                    json.loads(r.detail or "{}"))
                   for r in session.execute(select(ErasureRequest)
                                            .where(ErasureRequest.status == "pending")
                                            .order_by(ErasureRequest.id)).scalars()]
    done: list[ErasureResult] = []
    for request_id, customer_id, listed, detail in pending:
        conversations = set(listed) | tracker.conversations_of_customer(
            customer_id, services.settings.identity_secret)
        now = services.now()
        latest = tracker.latest_timestamp(conversations)
        if latest is not None and latest > _unix(now) - quiet:
            log.info("erasure %s waits: a conversation was active %.0f s ago", request_id,
                     _unix(now) - latest)
            continue
        events = tracker.delete_conversations(conversations)
        with services.unit_of_work() as session:
            secure_delete(session)
            counts = erase_conversation_rows(session, customer_id, conversations)
            request = session.get(ErasureRequest, request_id)
            if request is None or request.status != "pending":
                continue
            tracker_counts = {"conversations": len(conversations), "events": events,
                              "late_rows": sum(counts.values())}
            request.status = "done"
            request.completed_at = now
            request.conversation_ids = "[]"  # nothing left to point at
            request.detail = json.dumps({**detail, "tracker": tracker_counts}, sort_keys=True)
            audit.record(session, now=now, actor=actor, action="erasure_completed",
                         subject=f"customer:{customer_id}",
                         detail={**tracker_counts, "request": request_id})
        done.append(ErasureResult(customer_id, request_id, tracker_counts,
                                  tuple(sorted(conversations)), completed=True))
    if done:
        tracker.housekeeping()
        sqlite_checkpoint(services.engine)
    return done


def pending_requests(services: Services, since: timedelta | None = None) -> list[dict]:
    """Pending and recent requests, for the staff command (no personal data in them)."""
    with services.unit_of_work() as session:
        stmt = select(ErasureRequest).order_by(ErasureRequest.id.desc())
        if since is not None:
            stmt = stmt.where(ErasureRequest.requested_at >= services.now() - since)
        return [{"id": r.id, "customer_id": r.customer_id, "status": r.status,
                 "requested_by": r.requested_by, "requested_at": r.requested_at.isoformat(),
                 "completed_at": r.completed_at.isoformat() if r.completed_at else None,
                 "conversations": len(json.loads(r.conversation_ids or "[]"))}
                for r in session.execute(stmt.limit(100)).scalars()]
