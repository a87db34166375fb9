"""Signed, expiring shopper identity tokens, bound to one chat session.

The storefront signs the signed-in customer's id for one widget session (the socket.io session
id, or the REST ``sender``) with a server secret; the widget sends the token in message metadata;
the Rasa input channel (``bot.web.channels``) verifies it once per message against the message's
own sender and passes on only the verified customer id, under :data:`VERIFIED_KEY`. The token is
never stored: what reaches the tracker store, and the actions, is the verified id.

Format: ``<customer_id>.<expires_unix>.<base64url hmac-sha256>``. The session is part of the
signed payload but not of the token, so a token copied into another conversation (another
sender) does not verify there.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import time
from typing import Any

log = logging.getLogger(__name__)

# The message-metadata key the widget puts the signed token under (read by the channel only).
TOKEN_KEY = "customer_token"
# The message-metadata key under which the input channel passes on the customer id it verified
# (the only identity claim that reaches the tracker store; the token itself is never stored).
VERIFIED_KEY = "shop_customer_id"
# Tokens a shopper's page asks for live minutes; the widget renews them before they expire.
DEFAULT_TTL_SECONDS = 300
MAX_TOKEN_CHARS = 256
_DIGITS = re.compile(r"[0-9]{1,12}")


class InvalidToken(Exception):
    """The token is malformed, expired, for another session, or its signature does not verify."""


def _payload(customer_id: str, expires: str, session: str) -> str:
    # An unbound token (the storefront's own cookie) signs "<id>.<expires>"; a chat token adds the
    # session after a separator that cannot occur in the two numbers before it.
    base = f"{customer_id}.{expires}"
    return f"{base}|session:{session}" if session else base


def _signature(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(customer_id: int, secret: str, ttl_seconds: int = DEFAULT_TTL_SECONDS,
         now: float | None = None, session: str = "") -> str:
    """A token for ``customer_id`` valid ``ttl_seconds``; with ``session``, valid only for
    messages of that chat session (sender)."""
    if not secret:
        raise ValueError("an identity secret is required to sign tokens")
    expires = str(int((time.time() if now is None else now) + ttl_seconds))
    customer = str(int(customer_id))
    return f"{customer}.{expires}.{_signature(secret, _payload(customer, expires, session))}"


def verify(token: object, secret: str, now: float | None = None, session: str = "") -> int:
    """Return the customer id in ``token`` or raise :class:`InvalidToken`.

    ``session`` must be the one the token was signed for (empty for unbound tokens)."""
    if not secret:
        raise InvalidToken("no identity secret configured")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("not a token")
    parts = token.split(".")
    # ASCII digits only: str.isdigit() accepts digits int() cannot parse ("²").
    if len(parts) != 3 or not _DIGITS.fullmatch(parts[0]) or not _DIGITS.fullmatch(parts[1]):
        raise InvalidToken("malformed token")
    customer_id, expires, signature = parts
    expected = _signature(secret, _payload(customer_id, expires, session))
    if not hmac.compare_digest(expected, signature):
        raise InvalidToken("bad signature or another session")
    if int(expires) < (time.time() if now is None else now):
        raise InvalidToken("expired")
    return int(customer_id)


def expires_at(token: str) -> int | None:
    """The expiry (unix seconds) written in a well-formed token, unverified."""
    parts = token.split(".") if isinstance(token, str) else []
    return int(parts[1]) if len(parts) == 3 and _DIGITS.fullmatch(parts[1]) else None


def customer_for_session(token: object, secret: str, session: str,
                         now: float | None = None) -> int | None:
    """The customer id of a valid ``token`` signed for ``session``, else None (the shopper is
    anonymous; why is logged, never told)."""
    if not token:
        return None
    try:
        return verify(token, secret, now=now, session=session)
    except InvalidToken as err:
        log.info("ignoring customer token: %s", err)
        return None


def customer_from_metadata(metadata: Any) -> int | None:
    """The customer id the input channel verified for this message (``metadata[VERIFIED_KEY]``),
    else None.

    Only the channel sets this key (it strips every key the client sends), and only Rasa, which
    authenticates to the action server, can hand the actions a tracker, so the value is trusted
    as it is. Anything but a positive int is ignored.
    """
    if not isinstance(metadata, dict):
        return None
    value = metadata.get(VERIFIED_KEY)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def customer_from_stored_token(metadata: Any, secret: str, now: float | None = None) -> int | None:
    """The customer in an unbound ``customer_token`` that verifies as of ``now``, in metadata
    stored *before* the channel verified tokens itself (export and erasure must still find those
    conversations). Never for a live turn: a live message's customer is
    :func:`customer_from_metadata`'s."""
    if not isinstance(metadata, dict) or not metadata.get(TOKEN_KEY):
        return None
    try:
        return verify(metadata[TOKEN_KEY], secret, now=now)
    except InvalidToken:
        return None
