"""Account services: the newsletter's double opt-in, and a signed-in customer's own data
(erase it, export it) from the chat.

Newsletter: asking to subscribe never reveals whether an address is on the list. A new (or
unsubscribed) address becomes ``pending`` and gets a mail with a signed, expiring link to the
storefront (``/newsletter/confirm``); only following it subscribes the address. An address
already subscribed gets nothing; one that was sent a link in the last few minutes does not get
another (no mail-bombing a stranger through the chat). The mail is queued in the same
transaction (:mod:`bot.mail`), so the chat's answer and timing are the same in every case.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from bot import mail
from bot.privacy.erasure import erase_customer
from bot.privacy.export import export_customer
from bot.privacy.trackerstore import TrackerStore
from bot.services import Services
from bot.settings import Settings
from bot.store import queries
from bot.store.errors import InvalidInput, NotSignedIn, ShopError
from bot.store.models import NewsletterSubscription
from bot.support.text import normalise_email

CONFIRM_PATH = "/newsletter/confirm"
EXPORT_PATH = "/account/export.json"
_PURPOSE = "newsletter-confirm"
# A pending address is sent at most one link in this long.
RESEND_AFTER = timedelta(minutes=10)


class NewsletterNotConfigured(ShopError):
    """No secret to sign confirmation links with (SHOP_NEWSLETTER_SECRET or
    SHOP_IDENTITY_SECRET)."""


@dataclass(frozen=True)
class Confirmation:
    status: str  # confirmed / already / expired / invalid
    email_hint: str = ""  # "j***@example.com" for the page


@dataclass(frozen=True)
class ErasureReceipt:
    reference: str


def newsletter_secret(settings: Settings) -> str:
    secret = settings.privacy.newsletter_secret or (
        settings.identity_secret and settings.identity_secret + "|" + _PURPOSE)
    if not secret:
        raise NewsletterNotConfigured("set SHOP_NEWSLETTER_SECRET")
    return secret


def _signature(secret: str, subscription_id: int, email: str, expires: int) -> str:
    payload = f"{_PURPOSE}|{subscription_id}|{email.lower()}|{expires}"
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def confirmation_token(secret: str, subscription_id: int, email: str, expires: int) -> str:
    """``<subscription id>.<expires unix>.<hmac>``: the address is signed but not in the link."""
    return f"{subscription_id}.{expires}.{_signature(secret, subscription_id, email, expires)}"


def confirmation_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}{CONFIRM_PATH}?{urlencode({'t': token})}"


def email_hint(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _unix(moment: datetime) -> int:
    return int(moment.replace(tzinfo=timezone.utc).timestamp())


def _confirmation_mail(settings: Settings, to: str, url: str) -> mail.Mail:
    hours = settings.privacy.newsletter_link_hours
    return mail.Mail(to=to, subject="Please confirm your newsletter subscription", body=(
        "Hello,\n\n"
        "Someone - hopefully you - asked our shop assistant to send our newsletter to this "
        "address.\n\n"
        f"To confirm, open this link within {hours} hours:\n\n{url}\n\n"
        "If it wasn't you, just ignore this email: the address won't be subscribed and we "
        "won't write again.\n"))


def _address(session, email: str | None, customer_id: int | None) -> tuple[str, object]:
    customer = queries.get_customer(session, customer_id) if customer_id is not None else None
    address = normalise_email(email) if email else None
    if address is None and customer is not None:
        address = customer.email.lower()
    if address is None:
        raise InvalidInput("newsletter_email")
    return address, customer


def request_newsletter(services: Services, email: str | None, customer_id: int | None) -> None:
    """Start the double opt-in for ``email`` (a verified customer's own email when not given).
    Returns nothing on purpose: the caller must answer the same whatever the address's state."""
    settings = services.settings
    secret = newsletter_secret(settings)
    now = services.now()
    with services.unit_of_work() as session:
        address, customer = _address(session, email, customer_id)
        row = queries.get_subscription(session, address)
        if row is not None and row.status == "subscribed":
            return
        if row is None:
            row = NewsletterSubscription(email=address, status="pending", created_at=now,
                                         updated_at=now)
            session.add(row)
        row.status = "pending"
        row.updated_at = now
        if customer is not None and row.customer_id is None \
                and customer.email.lower() == address:
            row.customer_id = customer.id
        if row.confirmation_sent_at is not None and now - row.confirmation_sent_at < RESEND_AFTER:
            return
        row.confirmation_sent_at = now
        session.flush()
        expires = _unix(now + timedelta(hours=settings.privacy.newsletter_link_hours))
        url = confirmation_url(settings, confirmation_token(secret, row.id, address, expires))
        mail.queue(session, _confirmation_mail(settings, address, url), now)


def unsubscribe_newsletter(services: Services, email: str | None, customer_id: int | None
                           ) -> None:
    """Take ``email`` off the list (pending or subscribed); the same outcome if it was not on."""
    now = services.now()
    with services.unit_of_work() as session:
        address, customer = _address(session, email, customer_id)
        if customer is not None and customer.email.lower() == address:
            customer.marketing_opt_in = False
        row = queries.get_subscription(session, address)
        if row is not None and row.status != "unsubscribed":
            row.status = "unsubscribed"
            row.updated_at = now


def _parse(token: object) -> tuple[int, int, str] | None:
    if not isinstance(token, str) or len(token) > 200:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 12:
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def confirm_newsletter(services: Services, token: object, *, apply: bool = True
                       ) -> Confirmation:
    """Check a confirmation link's token and (``apply``) subscribe its address. ``apply=False``
    only says what following it would do (the storefront's GET, which must not subscribe:
    mail scanners open links)."""
    parsed = _parse(token)
    if parsed is None:
        return Confirmation("invalid")
    subscription_id, expires, signature = parsed
    secret = newsletter_secret(services.settings)
    now = services.now()
    with services.unit_of_work() as session:
        row = session.get(NewsletterSubscription, subscription_id)
        if row is None or not hmac.compare_digest(
                _signature(secret, subscription_id, row.email, expires), signature):
            return Confirmation("invalid")
        hint = email_hint(row.email)
        if row.status == "subscribed":
            return Confirmation("already", hint)
        if expires < _unix(now):
            return Confirmation("expired", hint)
        if row.status != "pending":  # unsubscribed since the link was sent
            return Confirmation("invalid")
        if apply:
            row.status = "subscribed"
            row.confirmed_at = now
            row.updated_at = now
            if row.customer_id is not None:
                customer = queries.get_customer(session, row.customer_id)
                if customer is not None and customer.email.lower() == row.email.lower():
                    customer.marketing_opt_in = True
        return Confirmation("confirmed", hint)


def erase_my_data(services: Services, customer_id: int | None, conversation_id: str
                  ) -> ErasureReceipt:
    """Erase a signed-in customer's data (bot.privacy.erasure): the shop data now, this and
    their other conversations once quiet (the worker finds the others in the tracker store)."""
    if customer_id is None:
        raise NotSignedIn()
    result = erase_customer(services, customer_id, actor=f"customer:{customer_id}",
                            conversations=[conversation_id])
    return ErasureReceipt(f"ER-{result.request_id:06d}")


def export_link(services: Services, customer_id: int | None) -> str:
    """Where a signed-in customer downloads their data: the storefront serves it only to a
    session signed in as them (bot/web/account.py)."""
    if customer_id is None:
        raise NotSignedIn()
    return f"{services.settings.public_url}{EXPORT_PATH}"


def export_my_data(services: Services, customer_id: int | None) -> dict:
    """A signed-in customer's data (bot.privacy.export), conversations included."""
    if customer_id is None:
        raise NotSignedIn()
    with TrackerStore.from_settings(services.settings) as tracker:
        return export_customer(services, customer_id, actor=f"customer:{customer_id}",
                               tracker=tracker)
