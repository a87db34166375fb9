"""Limits applied to every shopper message before Rasa sees it (plain Python, no Rasa imports).

Used by the input channels in :mod:`bot.web.channels`: message size, per-session rate, session id
shape, and metadata filtering (only a ``customer_token`` string passes; the actions verify it).
"""
from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

DEFAULT_MAX_MESSAGE_CHARS = 1000
DEFAULT_RATE_PER_MINUTE = 30
DEFAULT_BURST = 10
# Identity tokens are "<id>.<expires>.<43 chars>"; anything longer is not ours.
MAX_TOKEN_CHARS = 256
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

TOO_LONG_REPLY = "Sorry, that message is too long for me. Could you say it in fewer words?"
TOO_FAST_REPLY = "You're sending messages faster than I can read them. Please wait a moment."
EMPTY_REPLY = "I didn't catch anything there. What can I help you with?"


class MessageRejected(Exception):
    """A message breaks a limit; ``reply`` is what the shopper is told, ``status`` the HTTP code."""

    def __init__(self, reply: str, status: int):
        super().__init__(reply)
        self.reply = reply
        self.status = status


class RateLimiter:
    """Token bucket per key: ``burst`` messages at once, refilled at ``per_minute``.

    Keys are bounded (least recently used evicted) so a flood of new session ids cannot grow memory.
    """

    def __init__(
        self,
        per_minute: float = DEFAULT_RATE_PER_MINUTE,
        burst: int = DEFAULT_BURST,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        now = self._clock()
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed


@dataclass(frozen=True)
class Limits:
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    rate_per_minute: float = DEFAULT_RATE_PER_MINUTE
    burst: int = DEFAULT_BURST

    @classmethod
    def from_credentials(cls, credentials: dict | None) -> "Limits":
        c = credentials or {}
        return cls(
            max_message_chars=int(c.get("max_message_chars", DEFAULT_MAX_MESSAGE_CHARS)),
            rate_per_minute=float(c.get("rate_per_minute", DEFAULT_RATE_PER_MINUTE)),
            burst=int(c.get("burst", DEFAULT_BURST)),
        )


def check_text(text: Any, limits: Limits) -> str:
    """The message text to pass on, or :class:`MessageRejected`."""
    if not isinstance(text, str) or not text.strip():
        raise MessageRejected(EMPTY_REPLY, 400)
    if len(text) > limits.max_message_chars:
        raise MessageRejected(TOO_LONG_REPLY, 413)
    return text


def clean_metadata(metadata: Any) -> dict:
    """Keep only a plausible ``customer_token``: the browser's other claims are never passed on."""
    if isinstance(metadata, str):
        # socket.io clients may send metadata JSON-encoded; Rasa itself json.loads it unguarded.
        import json

        try:
            metadata = json.loads(metadata) if len(metadata) <= 4 * MAX_TOKEN_CHARS else None
        except ValueError:
            metadata = None
    if not isinstance(metadata, dict):
        return {}
    token = metadata.get("customer_token")
    if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_CHARS:
        return {"customer_token": token}
    return {}


def valid_session_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_SESSION_ID.match(value))


def parse_origins(value: Any) -> list[str]:
    """``"http://a, http://b"`` or a list -> ``["http://a", "http://b"]`` (no trailing slashes)."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(o).strip().rstrip("/") for o in items if str(o).strip()]
