"""Checks applied to every shopper message before Rasa sees it (plain Python, no Rasa imports).

Used by the input channels in :mod:`bot.web.channels`:

* request and message size (:func:`read_limited`, :func:`check_text`);
* identity: the signed token the widget sends is verified once, against the message's own sender,
  and only the verified customer id is passed on (:meth:`ChannelGuard.metadata`);
* message rates per conversation and per client address, counted in the shop database (or
  Redis) so they hold across processes and restarts (:meth:`ChannelGuard.allow`); the client
  address comes from X-Forwarded-For only when the direct peer is a trusted proxy
  (:func:`client_address`);
* the shape of socket.io session ids, origins, and strict ASCII integers for web handlers.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional

from bot.identity import MAX_TOKEN_CHARS, TOKEN_KEY, VERIFIED_KEY, customer_for_session
from bot.limits import FailOpen, LimitStore, Rule

if TYPE_CHECKING:  # pragma: no cover - annotations only (no module-level value)
    Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

log = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_CHARS = 1000
# A REST body holds a sender, a message of max_message_chars (JSON may escape each character
# as up to 12 bytes: a surrogate pair) and a token: 32 KB is ample, and far below Sanic's 100 MB.
DEFAULT_MAX_BODY_BYTES = 32 * 1024
DEFAULT_SESSION_PER_MINUTE = 30
DEFAULT_ADDRESS_PER_MINUTE = 120
RATE_WINDOW_SECONDS = 60
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_ASCII_INT = re.compile(r"[0-9]{1,9}")

TOO_LONG_REPLY = "Sorry, that message is too long for me. Could you say it in fewer words?"
TOO_FAST_REPLY = "You're sending messages faster than I can read them. Please wait a moment."
EMPTY_REPLY = "I didn't catch anything there. What can I help you with?"
# Said when a turn fails or produces nothing (e.g. the action server is down), instead of silence.
NO_REPLY = "Sorry, something went wrong on my side. Please try again in a moment."


class MessageRejected(Exception):
    """A message breaks a limit; ``reply`` is what the shopper is told, ``status`` the HTTP code."""

    def __init__(self, reply: str, status: int):
        super().__init__(reply)
        self.reply = reply
        self.status = status


class BodyTooLarge(Exception):
    """A request body (declared or received) is over the limit."""


@dataclass(frozen=True)
class Limits:
    """A channel's limits (``credentials.yml``)."""

    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # Messages per minute per conversation (sender / socket.io session) and per client address.
    rate_per_minute: int = DEFAULT_SESSION_PER_MINUTE
    address_rate_per_minute: int = DEFAULT_ADDRESS_PER_MINUTE

    @classmethod
    def from_credentials(cls, credentials: dict | None) -> "Limits":
        c = credentials or {}
        d = cls()
        return cls(
            max_message_chars=int(c.get("max_message_chars", d.max_message_chars)),
            max_body_bytes=int(c.get("max_body_bytes", d.max_body_bytes)),
            rate_per_minute=int(c.get("rate_per_minute", d.rate_per_minute)),
            address_rate_per_minute=int(c.get("address_rate_per_minute",
                                              d.address_rate_per_minute)),
        )

    def rules(self) -> tuple[Rule, Rule]:
        """(per conversation, per client address)."""
        return (Rule("chat_session", self.rate_per_minute, RATE_WINDOW_SECONDS),
                Rule("chat_address", self.address_rate_per_minute, RATE_WINDOW_SECONDS))


def check_text(text: Any, limits: Limits) -> str:
    """The message text to pass on, or :class:`MessageRejected`."""
    if not isinstance(text, str) or not text.strip():
        raise MessageRejected(EMPTY_REPLY, 400)
    if len(text) > limits.max_message_chars:
        raise MessageRejected(TOO_LONG_REPLY, 413)
    return text


def strict_int(value: Any) -> int | None:
    """A non-negative integer written in 1 to 9 ASCII digits, else None.

    ``int()`` also reads other scripts' digits ("٣") and ``str.isdigit()`` accepts characters
    ``int()`` then refuses ("²"): a web handler parses numbers with this instead."""
    if isinstance(value, str) and _ASCII_INT.fullmatch(value):
        return int(value)
    return None


# --- request bodies ----------------------------------------------------------------------------

def declared_length(value: Optional[str]) -> int | None:
    """A Content-Length header's value, or None when absent; :class:`BodyTooLarge` when it is
    not a plain number (then nobody can say how much will come)."""
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", value.strip()):
        raise BodyTooLarge("unreadable Content-Length")
    return int(value)


async def read_limited(stream: Any, declared: Optional[str], limit: int) -> bytes:
    """The whole body of a streamed request, or :class:`BodyTooLarge` as soon as the declared
    length (before anything is read) or the bytes received so far (chunked bodies) pass
    ``limit``. ``stream`` is Sanic's ``request.stream`` (``await stream.read()`` gives the next
    chunk, None at the end)."""
    length = declared_length(declared)
    if length is not None and length > limit:
        raise BodyTooLarge(f"declared {length} bytes")
    chunks, size = [], 0
    while True:
        chunk = await stream.read()
        if chunk is None:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"over {limit} bytes")
        chunks.append(chunk)


# --- client addresses --------------------------------------------------------------------------

def parse_networks(values: Iterable[str]) -> Networks:
    """``("10.0.0.1", "192.168.0.0/16")`` -> networks; an unparsable entry is an error (a typo
    in the proxy list must not silently trust nobody, or everybody)."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.9:443"
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(ip, proxies: Networks) -> bool:
    return any(ip in net for net in proxies if ip.version == net.version)


def client_address(peer: Any, forwarded_for: Optional[str],
                   proxies: Networks) -> str:
    """The address that rate limits count for a request from ``peer``.

    X-Forwarded-For is believed only when ``peer`` is a trusted proxy; it is then read from the
    right (the hop our proxy added) leftwards, skipping further trusted proxies, and the first
    address that is not one is the client. Anything unparsable stops the walk at the last hop
    that was trusted. An IPv6 client is counted by its /64, which one subscriber usually holds
    whole (a fresh address per message must not be a fresh allowance).
    """
    ip = _ip(peer)
    if ip is None:
        return "unknown"
    if forwarded_for and _trusted(ip, proxies):
        for hop in reversed(forwarded_for.split(",")):
            hop_ip = _ip(hop)
            if hop_ip is None:
                break
            ip = hop_ip
            if not _trusted(hop_ip, proxies):
                break
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


# --- metadata ----------------------------------------------------------------------------------

def claimed_token(metadata: Any) -> str | None:
    """The identity token string the client put in its metadata (unverified), if plausible."""
    if isinstance(metadata, str):
        # socket.io clients may send metadata JSON-encoded; Rasa itself json.loads it unguarded.
        try:
            metadata = json.loads(metadata) if len(metadata) <= 4 * MAX_TOKEN_CHARS else None
        except ValueError:
            metadata = None
    if not isinstance(metadata, dict):
        return None
    token = metadata.get(TOKEN_KEY)
    if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_CHARS:
        return token
    return None


def valid_session_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_SESSION_ID.match(value))


def parse_origins(value: Any) -> list[str]:
    """``"http://a, http://b"`` or a list -> ``["http://a", "http://b"]`` (no trailing slashes)."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(o).strip().rstrip("/") for o in items if str(o).strip()]


# --- what a channel checks per message ---------------------------------------------------------

class ChannelGuard:
    """Identity and message rates for one input channel in the Rasa server's process.

    The channel runs inside Rasa, which builds it from ``credentials.yml`` with no way to hand it
    our objects, so the guard builds the process's :class:`~bot.services.Services` from the
    environment on first use (tests pass their own). Limit-store failures allow the message
    (:class:`~bot.limits.FailOpen`): a database outage must not silence the chat.
    """

    def __init__(self, limits: Limits, services: Any = None):
        self.limits = limits
        self._services = services
        self._store: LimitStore | None = None
        self._proxies: Networks | None = None

    @property
    def services(self) -> Any:
        if self._services is None:
            from bot.services import Services

            self._services = Services.from_env()
        return self._services

    @property
    def store(self) -> LimitStore:
        if self._store is None:
            self._store = FailOpen(self.services.limits)
        return self._store

    @property
    def proxies(self) -> Networks:
        if self._proxies is None:
            self._proxies = parse_networks(self.services.settings.trusted_proxies)
        return self._proxies

    def address(self, peer: Any, forwarded_for: Optional[str]) -> str:
        return client_address(peer, forwarded_for, self.proxies)

    def metadata(self, client_metadata: Any, sender: str) -> dict:
        """The metadata to pass on with a message from ``sender``: ``{VERIFIED_KEY: id}`` when the
        client sent a valid token signed for this very sender, else nothing. Every key the client
        sent is dropped (a ``shop_customer_id`` of its own included)."""
        token = claimed_token(client_metadata)
        if token is None:
            return {}
        customer = customer_for_session(token, self.services.settings.identity_secret, sender)
        return {VERIFIED_KEY: customer} if customer is not None else {}

    def _hit(self, store: LimitStore, session_key: str, address: str) -> bool:
        per_session, per_address = self.limits.rules()
        # Both are counted every time (one upsert each), so a flood stays over the limit.
        session_ok = store.hit(per_session, session_key)
        address_ok = store.hit(per_address, address)
        return session_ok and address_ok

    async def allow(self, session_key: str, address: str) -> bool:
        """Count one message for the conversation and the client address; False when either is
        over its limit. The store is called in a worker thread (it is a blocking write); the
        lazy parts are built here, on the event loop's one thread, so never twice."""
        store = self.store
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._hit, store, session_key, address)
