import pytest

from bot.identity import InvalidToken, sign, verify

SECRET = "s3cret"


def test_round_trip():
    assert verify(sign(42, SECRET, now=1000), SECRET, now=1500) == 42


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
