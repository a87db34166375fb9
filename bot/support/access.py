"""Who is asking: a verified customer (signed token) or an anonymous shopper with an email."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Requester:
    """``customer_id`` only when a token verified this turn; ``email`` as given for an order."""

    customer_id: int | None = None
    email: str | None = None

    @property
    def verified(self) -> bool:
        return self.customer_id is not None
