import pytest

from bot.identity import (InvalidToken, customer_for_session, customer_from_stored_token,
                          expires_at, sign, verify)

SECRET = "s3cret"


def test_round_trip():
    assert verify(sign(42, SECRET, ttl_seconds=600, now=1000), SECRET, now=1500) == 42


def test_expired_token_is_refused():
    token = sign(42, SECRET, ttl_seconds=60, now=1000)
    with pytest.raises(InvalidToken, match="expired"):
        verify(token, SECRET, now=1061)


def test_other_secret_is_refused():
    with pytest.raises(InvalidToken, match="signature"):
        verify(sign(42, SECRET), "another secret")


@pytest.mark.parametrize("change", ["customer", "expiry"])
def test_tampered_token_is_refused(change):
    customer, expires, sig = sign(42, SECRET).split(".")
    if change == "customer":
        customer = "43"
    else:
        expires = str(int(expires) + 10_000)
    with pytest.raises(InvalidToken):
        verify(f"{customer}.{expires}.{sig}", SECRET)


@pytest.mark.parametrize(
    "token", [None, 42, "", "abc", "1.2", "a.b.c", "1.2.3.4", "1." + "9" * 300 + ".x"]
)
def test_malformed_tokens_are_refused(token):
    with pytest.raises(InvalidToken):
        verify(token, SECRET)


def test_no_secret_means_no_identity():
    with pytest.raises(InvalidToken):
        verify(sign(1, SECRET), "")
    with pytest.raises(ValueError):
        sign(1, "")


# --- tokens bound to one chat session ---------------------------------------------------------

def test_a_session_token_verifies_only_in_its_session():
    token = sign(42, SECRET, session="widget-session-1", now=1000)
    assert verify(token, SECRET, session="widget-session-1", now=1100) == 42
    for other in ("widget-session-2", "", "widget-session-1 "):
        with pytest.raises(InvalidToken):
            verify(token, SECRET, session=other, now=1100)


def test_an_unbound_token_is_not_a_session_token():
    with pytest.raises(InvalidToken):
        verify(sign(42, SECRET), SECRET, session="widget-session-1")


def test_tokens_last_minutes_by_default():
    token = sign(42, SECRET, session="s", now=1000)
    assert expires_at(token) == 1000 + 300
    with pytest.raises(InvalidToken, match="expired"):
        verify(token, SECRET, session="s", now=1301)


@pytest.mark.parametrize("token", ["²." + "1" * 10 + ".x", "1.٣٣٣.x", "１.2.x"])
def test_non_ascii_digits_are_malformed_not_a_crash(token):
    with pytest.raises(InvalidToken, match="malformed"):
        verify(token, SECRET)


def test_customer_for_session_is_none_for_any_bad_token():
    good = sign(42, SECRET, session="s")
    assert customer_for_session(good, SECRET, "s") == 42
    assert customer_for_session(good, SECRET, "t") is None
    assert customer_for_session(good, "other", "s") is None
    assert customer_for_session(None, SECRET, "s") is None
    assert customer_for_session("junk", SECRET, "s") is None


def test_stored_tokens_of_old_events_are_read_only_by_their_own_function():
    old = {"customer_token": sign(42, SECRET, ttl_seconds=600, now=1000)}
    assert customer_from_stored_token(old, SECRET, now=1100) == 42  # as of the message
    assert customer_from_stored_token(old, SECRET, now=5000) is None  # expired by then
    assert customer_from_stored_token(old, "other", now=1100) is None
    assert customer_from_stored_token({"shop_customer_id": 42}, SECRET) is None
    assert customer_from_stored_token(None, SECRET) is None
