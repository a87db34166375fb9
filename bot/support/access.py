"""Who is asking: a verified customer (signed token) or an anonymous shopper with an email."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.identity import InvalidToken, verify
from bot.settings import Settings

log = logging.getLogger(__name__)

TOKEN_KEY = "customer_token"


@dataclass(frozen=True)
class Requester:
    """``customer_id`` only when a token verified this turn; ``email`` as given for an order."""

    customer_id: int | None = None
    email: str | None = None

    @property
    def verified(self) -> bool:
        return self.customer_id is not None


def customer_from_metadata(metadata: Any, settings: Settings) -> int | None:
    """The customer id in a valid signed token in the message metadata, else None."""
    if not isinstance(metadata, dict):
        return None
    token = metadata.get(TOKEN_KEY)
    if not token:
        return None
    try:
        return verify(token, settings.identity_secret)
    except InvalidToken as err:
        # Forged, expired or malformed: treat the shopper as anonymous.
        log.info("ignoring customer token: %s", err)
        return None
