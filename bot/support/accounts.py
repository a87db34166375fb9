"""Account services: newsletter subscriptions and account deletion requests."""
from __future__ import annotations

from dataclasses import dataclass

from bot.services import Services
from bot.store import queries
from bot.store.errors import InvalidInput, NotSignedIn
from bot.store.models import AccountRequest, NewsletterSubscription
from bot.support.text import normalise_email


@dataclass(frozen=True)
class SubscriptionResult:
    email: str
    status: str  # subscribed / unsubscribed
    changed: bool


@dataclass(frozen=True)
class AccountRequestResult:
    reference: str
    reused: bool


def set_newsletter(services: Services, email: str | None, customer_id: int | None,
                   subscribe: bool) -> SubscriptionResult:
    """Subscribe or unsubscribe ``email`` (a verified customer's own email when not given)."""
    now = services.now()
    status = "subscribed" if subscribe else "unsubscribed"
    with services.unit_of_work() as session:
        customer = queries.get_customer(session, customer_id) if customer_id is not None else None
        address = normalise_email(email) if email else None
        if address is None and customer is not None:
            address = customer.email.lower()
        if address is None:
            raise InvalidInput("newsletter_email")
        row = queries.get_subscription(session, address)
        if customer is not None and customer.email.lower() == address:
            customer.marketing_opt_in = subscribe
        if row is None:
            if not subscribe:
                # Nothing to remove; say so without revealing anything about the address.
                return SubscriptionResult(address, status, False)
            session.add(NewsletterSubscription(
                email=address, customer_id=customer.id if customer else None, status=status,
                created_at=now, updated_at=now,
            ))
            return SubscriptionResult(address, status, True)
        changed = row.status != status
        row.status = status
        row.updated_at = now
        if customer is not None and row.customer_id is None:
            row.customer_id = customer.id
        return SubscriptionResult(address, status, changed)


def request_account_deletion(services: Services, customer_id: int | None,
                             conversation_id: str) -> AccountRequestResult:
    """Record a deletion request for staff to complete (one open request per customer)."""
    if customer_id is None:
        raise NotSignedIn()
    with services.unit_of_work() as session:
        row = queries.open_account_request(session, customer_id, "delete")
        if row is not None:
            return AccountRequestResult(f"AR-{row.id:06d}", True)
        row = AccountRequest(customer_id=customer_id, kind="delete", status="open",
                             conversation_id=conversation_id, created_at=services.now())
        session.add(row)
        session.flush()
        return AccountRequestResult(f"AR-{row.id:06d}", False)
