"""Who is asking: a verified customer (signed token) or an anonymous shopper with an email."""
from __future__ import annotations

from dataclasses import dataclass

# the token's metadata key and its reading moved to bot.identity (bot.needs reads them too);
# actions and tests import them from here
from bot.identity import TOKEN_KEY, customer_from_metadata  # noqa: F401


@dataclass(frozen=True)
class Requester:
    """``customer_id`` only when a token verified this turn; ``email`` as given for an order."""

    customer_id: int | None = None
    email: str | None = None

    @property
    def verified(self) -> bool:
        return self.customer_id is not None
