"""What the input channels check per message: sizes, strict numbers, client addresses, the
verified identity, and message rates counted in the shop database."""
from __future__ import annotations

import asyncio

import pytest

from bot.demo.fixtures import FIXTURE_NOW
from bot.identity import VERIFIED_KEY, sign
from bot.limits import DatabaseLimits
from bot.services import Services
from bot.settings import Settings
from bot.web.guard import (
    BodyTooLarge,
    ChannelGuard,
    Limits,
    MessageRejected,
    check_text,
    claimed_token,
    client_address,
    parse_networks,
    parse_origins,
    read_limited,
    strict_int,
    valid_session_id,
)

SECRET = "guard-test-secret"
SESSION = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("text", ["hi", "¿Dónde está mi pedido?", "👟👟 boots pls",
                                  "'; DROP TABLE orders;--",
                                  "<script>alert(1)</script>", "x" * 1000])
def test_check_text_passes_ordinary_and_hostile_text_unchanged(text):
    assert check_text(text, Limits()) == text


@pytest.mark.parametrize("text, status", [("", 400), ("   \n", 400), (None, 400), (42, 400),
                                          ({"a": 1}, 400), ("x" * 1001, 413)])
def test_check_text_rejects_empty_non_text_and_huge(text, status):
    with pytest.raises(MessageRejected) as info:
        check_text(text, Limits())
    assert info.value.status == status and info.value.reply


def test_limits_from_credentials():
    limits = Limits.from_credentials({"max_message_chars": "20", "rate_per_minute": 6,
                                      "address_rate_per_minute": "50", "max_body_bytes": 999})
    assert limits == Limits(max_message_chars=20, rate_per_minute=6, address_rate_per_minute=50,
                            max_body_bytes=999)
    assert Limits.from_credentials(None) == Limits()
    per_session, per_address = Limits().rules()
    assert (per_session.limit, per_address.limit) == (30, 120)
    assert per_session.window_seconds == per_address.window_seconds == 60


@pytest.mark.parametrize("value, expected", [
    ("0", 0), ("7", 7), ("123456789", 123456789),
    ("٣", None),  # Arabic-Indic three: int() would read it
    ("²", None),  # superscript two: isdigit() says yes, int() raises
    ("１", None),  # full-width one
    ("1234567890", None), ("", None), (" 1", None), ("1\n", None), ("-1", None), ("+1", None),
    ("1_000", None), ("0x10", None), (None, None), (5, None),
])
def test_strict_int_reads_only_ascii_digits(value, expected):
    assert strict_int(value) == expected


# --- request bodies ----------------------------------------------------------------------------

class Stream:
    """Sanic's request.stream: read() gives the next chunk, None at the end; counts reads."""

    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.reads = 0

    async def read(self):
        self.reads += 1
        return self.chunks.pop(0) if self.chunks else None


def test_read_limited_reads_a_body_within_the_limit():
    stream = Stream([b'{"a":', b' 1}'])
    assert asyncio.run(read_limited(stream, "9", 100)) == b'{"a": 1}'


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    stream = Stream([b"x"])
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_limited(stream, "101", 100))
    assert stream.reads == 0


@pytest.mark.parametrize("declared", ["-1", "1e9", "٣", "12 34", "9" * 40])
def test_an_unreadable_content_length_is_refused(declared):
    stream = Stream([b"x"])
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_limited(stream, declared, 100))
    assert stream.reads == 0


def test_a_chunked_body_is_cut_off_once_over_the_limit():
    stream = Stream([b"x" * 60, b"x" * 60, b"x" * 60, b"x" * 60])
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_limited(stream, None, 100))
    assert stream.reads == 2  # stopped at the chunk that crossed the limit


# --- client addresses --------------------------------------------------------------------------

PROXIES = parse_networks(["10.0.0.1", "192.168.0.0/16"])


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored():
    assert client_address("203.0.113.9", "198.51.100.1", PROXIES) == "203.0.113.9"
    assert client_address("203.0.113.9", None, PROXIES) == "203.0.113.9"
    assert client_address("203.0.113.9", "198.51.100.1", ()) == "203.0.113.9"


def test_x_forwarded_for_from_a_trusted_proxy_is_honoured_from_the_right():
    # the client may write anything at the left; our proxy appended the address it saw
    assert client_address("10.0.0.1", "1.2.3.4, 198.51.100.7", PROXIES) == "198.51.100.7"
    # a chain of our own proxies is skipped
    assert client_address("10.0.0.1", "198.51.100.7, 192.168.3.4", PROXIES) == "198.51.100.7"
    # only proxies: the leftmost
    assert client_address("10.0.0.1", "192.168.1.1, 192.168.3.4", PROXIES) == "192.168.1.1"
    # garbage stops the walk at the last trusted hop
    assert client_address("10.0.0.1", "198.51.100.7, nonsense", PROXIES) == "10.0.0.1"


def test_addresses_are_normalised():
    assert client_address("::ffff:203.0.113.9", None, ()) == "203.0.113.9"
    # an IPv6 client counts by its /64: a fresh address per message is not a fresh allowance
    assert client_address("2001:db8:1:2::1", None, ()) == client_address("2001:db8:1:2::ffff",
                                                                         None, ())
    assert client_address("2001:db8:1:2::1", None, ()) == "2001:db8:1:2::/64"
    assert client_address("", None, ()) == client_address(None, None, ()) == "unknown"


def test_a_bad_proxy_entry_is_an_error_not_silence():
    with pytest.raises(ValueError):
        parse_networks(["10.0.0.1", "not-an-ip"])


# --- identity: one verification per message, only the verified id passes --------------------

def guard_for(db_url, engine, **settings) -> ChannelGuard:
    services = Services(Settings(database_url=db_url, identity_secret=SECRET, **settings),
                        engine=engine, clock=lambda: FIXTURE_NOW)  # one one-minute window
    return ChannelGuard(Limits(rate_per_minute=3, address_rate_per_minute=5), services)


def test_a_token_signed_for_this_session_gives_only_the_verified_id(db_url, engine):
    guard = guard_for(db_url, engine)
    token = sign(7, SECRET, session=SESSION)
    assert guard.metadata({"customer_token": token}, SESSION) == {VERIFIED_KEY: 7}
    # JSON-encoded metadata (some socket.io clients) works the same
    assert guard.metadata(f'{{"customer_token": "{token}"}}', SESSION) == {VERIFIED_KEY: 7}


@pytest.mark.parametrize("metadata", [
    {"customer_token": sign(7, "guessed-secret", session=SESSION)},
    {"customer_token": sign(7, SECRET, session="another-session-0001")},  # replayed elsewhere
    {"customer_token": sign(7, SECRET)},  # unbound (the storefront cookie's form)
    {"customer_token": sign(7, SECRET, ttl_seconds=-1, session=SESSION)},  # expired
    {VERIFIED_KEY: 7},  # the client claiming to be verified
    {"customer_id": 7}, {"customer_token": 7}, {"customer_token": "x" * 257},
    "{not json", ["customer_token"], None,
])
def test_anything_else_is_anonymous(db_url, engine, metadata):
    assert guard_for(db_url, engine).metadata(metadata, SESSION) == {}


def test_claimed_token_keeps_nothing_but_a_plausible_token():
    assert claimed_token({"customer_token": "1.2.abc", "customer_id": 3}) == "1.2.abc"
    assert claimed_token({"customer_token": ""}) is None


# --- rates: per conversation and per client address, in the shop database -------------------

async def test_rotating_sender_ids_from_one_address_are_stopped(db_url, engine):
    guard = guard_for(db_url, engine)
    allowed = [await guard.allow(f"sender-{i}", "203.0.113.9") for i in range(8)]
    assert allowed == [True] * 5 + [False] * 3  # address limit 5, every sender new
    assert await guard.allow("sender-x", "198.51.100.1")  # another address is not affected


async def test_one_conversation_is_limited_from_any_address(db_url, engine):
    guard = guard_for(db_url, engine)
    allowed = [await guard.allow("one-sender", f"203.0.113.{i}") for i in range(5)]
    assert allowed == [True, True, True, False, False]


async def test_counts_are_shared_by_every_process_on_the_database(db_url, engine):
    first, second = guard_for(db_url, engine), guard_for(db_url, engine)
    for i in range(3):
        assert await first.allow(f"s{i}", "203.0.113.9")
    assert await second.allow("s9", "203.0.113.9")
    assert await second.allow("s10", "203.0.113.9")
    assert not await first.allow("s11", "203.0.113.9")


async def test_a_limit_store_outage_lets_messages_through(tmp_path):
    from bot.store.db import make_engine

    url = f"sqlite:///{tmp_path}"  # a directory: the database cannot be opened
    broken = make_engine(url)
    try:
        guard = ChannelGuard(Limits(rate_per_minute=1, address_rate_per_minute=1),
                             Services(Settings(database_url=url, identity_secret=SECRET),
                                      engine=broken))
        assert all([await guard.allow("s", "203.0.113.9") for _ in range(3)])
    finally:
        broken.dispose()


def test_keys_are_stored_hashed(db_url, engine):
    from sqlalchemy import select

    from bot.store.db import session_scope
    from bot.store.models import RateLimitHit

    asyncio.run(guard_for(db_url, engine).allow("conversation-42", "203.0.113.9"))
    with session_scope(engine) as s:
        keys = s.execute(select(RateLimitHit.key)).scalars().all()
    assert len(keys) == 2 and not any("203.0.113" in k or "conversation" in k for k in keys)


def test_trusted_proxies_come_from_settings(db_url, engine):
    guard = guard_for(db_url, engine, trusted_proxies=("10.0.0.0/8",))
    assert guard.address("10.1.2.3", "198.51.100.7") == "198.51.100.7"
    assert guard.address("203.0.113.9", "198.51.100.7") == "203.0.113.9"
    assert Settings.from_env({"SHOP_TRUSTED_PROXIES": " 10.0.0.1, fd00::/8 ,"}).trusted_proxies \
        == ("10.0.0.1", "fd00::/8")


def test_database_limits_is_what_the_guard_uses_by_default(db_url, engine):
    assert isinstance(guard_for(db_url, engine).store.store, DatabaseLimits)


@pytest.mark.parametrize("value, ok", [("0123456789abcdef0123456789abcdef", True), ("abc", False),
                                       ("a" * 65, False), ("../../etc", False), (None, False),
                                       ("<img src=x>", False), (12345678, False)])
def test_valid_session_id(value, ok):
    assert valid_session_id(value) is ok


def test_parse_origins():
    assert parse_origins("http://a:8080/, https://b ,") == ["http://a:8080", "https://b"]
    assert parse_origins(["http://a"]) == ["http://a"]
    assert parse_origins(None) == []
