"""Signed, expiring shopper identity tokens.

The storefront signs the signed-in customer's id with a server secret; the widget passes the
token in message metadata; actions trust a customer id only when its signature verifies.
Format: ``<customer_id>.<expires_unix>.<base64url hmac-sha256>``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

# The message-metadata key the widget puts the signed token under.
TOKEN_KEY = "customer_token"
# The message-metadata key under which the input channel passes on the customer id it verified
# (the only identity claim that reaches the tracker store; the token itself is never stored).
VERIFIED_KEY = "shop_customer_id"


class InvalidToken(Exception):
    """The token is malformed, expired, or its signature does not verify."""


def _signature(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(customer_id: int, secret: str, ttl_seconds: int = 3600, now: float | None = None) -> str:
    if not secret:
        raise ValueError("an identity secret is required to sign tokens")
    expires = int((time.time() if now is None else now) + ttl_seconds)
    payload = f"{int(customer_id)}.{expires}"
    return f"{payload}.{_signature(secret, payload)}"


def verify(token: object, secret: str, now: float | None = None) -> int:
    """Return the customer id in ``token`` or raise :class:`InvalidToken`."""
    if not secret:
        raise InvalidToken("no identity secret configured")
    if not isinstance(token, str) or len(token) > 256:
        raise InvalidToken("not a token")
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise InvalidToken("malformed token")
    customer_id, expires, signature = parts
    expected = _signature(secret, f"{customer_id}.{expires}")
    if not hmac.compare_digest(expected, signature):
        raise InvalidToken("bad signature")
    if int(expires) < (time.time() if now is None else now):
        raise InvalidToken("expired")
    return int(customer_id)


def customer_from_metadata(metadata: Any, secret: str, now: float | None = None) -> int | None:
    """The customer id in a valid signed token in message metadata (as of ``now``), else None:
    a forged, expired or malformed token makes the shopper anonymous."""
    if not isinstance(metadata, dict):
        return None
    token = metadata.get(TOKEN_KEY)
    if not token:
        return None
    try:
        return verify(token, secret, now=now)
    except InvalidToken as err:
        log.info("ignoring customer token: %s", err)
        return None
