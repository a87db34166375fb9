"""Message limits applied by the input channels."""
from __future__ import annotations

import pytest

from bot.web.guard import (
    Limits,
    MessageRejected,
    RateLimiter,
    check_text,
    clean_metadata,
    parse_origins,
    valid_session_id,
)


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_rate_limiter_allows_a_burst_then_refills_at_the_rate():
    clock = Clock()
    limiter = RateLimiter(per_minute=30, burst=3, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # keys are independent
    clock.t += 1.9  # 30/min = one token per 2 s
    assert not limiter.allow("a")
    clock.t += 0.2
    assert limiter.allow("a")
    clock.t += 3600
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]  # capped at burst


def test_rate_limiter_memory_is_bounded():
    limiter = RateLimiter(per_minute=1, burst=1, max_keys=100, clock=Clock())
    for i in range(1000):
        limiter.allow(f"k{i}")
    assert len(limiter._buckets) == 100


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
    limits = Limits.from_credentials({"max_message_chars": "20", "rate_per_minute": 6, "burst": 2})
    assert limits == Limits(max_message_chars=20, rate_per_minute=6.0, burst=2)
    assert Limits.from_credentials(None) == Limits()


@pytest.mark.parametrize("metadata, expected", [
    ({"customer_token": "1.2.abc"}, {"customer_token": "1.2.abc"}),
    ({"customer_token": "1.2.abc", "customer_id": 1, "verified": True},
     {"customer_token": "1.2.abc"}),
    ({"customer_id": 1}, {}),
    ({"customer_token": 1}, {}),
    ({"customer_token": "x" * 257}, {}),
    ('{"customer_token": "1.2.abc", "customer_id": 3}', {"customer_token": "1.2.abc"}),
    ("{not json", {}),
    (["customer_token"], {}),
    (None, {}),
])
def test_clean_metadata_keeps_only_the_token(metadata, expected):
    assert clean_metadata(metadata) == expected


@pytest.mark.parametrize("value, ok", [("0123456789abcdef0123456789abcdef", True), ("abc", False),
                                       ("a" * 65, False), ("../../etc", False), (None, False),
                                       ("<img src=x>", False), (12345678, False)])
def test_valid_session_id(value, ok):
    assert valid_session_id(value) is ok


def test_parse_origins():
    assert parse_origins("http://a:8080/, https://b ,") == ["http://a:8080", "https://b"]
    assert parse_origins(["http://a"]) == ["http://a"]
    assert parse_origins(None) == []
