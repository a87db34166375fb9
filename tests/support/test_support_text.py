import pytest

from bot.support.text import (
    clean_text,
    has_words,
    normalise_email,
    normalise_order_number,
    parse_rating,
    wants_unsubscribe,
)


@pytest.mark.parametrize("text", ["SH-104233", "sh104233", "#104233", "104233", "sh 104233",
                                  "it's SH_104233 I think", "order no. 104233"])
def test_order_numbers_are_normalised(text):
    assert normalise_order_number(text) == "SH-104233"


@pytest.mark.parametrize("text", ["", "   ", "10423", "1042334", "SH-10423", "abc", None, 104233,
                                  "104233 or 104234", "x" * 10_000, "😀😀😀",
                                  "'; DROP TABLE orders; --", "<script>alert(1)</script>"])
def test_bad_order_numbers_are_rejected(text):
    assert normalise_order_number(text) is None


def test_email_normalised_and_bad_ones_rejected():
    assert normalise_email(" Alice@Example.COM ") == "alice@example.com"
    assert normalise_email("it's alice@example.com thanks") == "alice@example.com"
    for bad in ["", "alice", "alice@", "@example.com", "a@b", None, "a@example.com b@example.com",
                "x" * 600 + "@example.com"]:
        assert normalise_email(bad) is None


def test_clean_text_strips_controls_and_truncates():
    assert clean_text("  hi\x00 there\n\tyou ") == "hi there you"
    assert len(clean_text("x" * 10_000, limit=50)) == 50
    assert clean_text(None) == ""


def test_has_words_parse_rating_and_unsubscribe():
    assert not has_words("😀🎉!!") and not has_words("   ") and has_words("ok 👍")
    assert parse_rating("great boots, 4/5") == 4
    assert parse_rating("five stars!") == 5
    assert parse_rating("3 out of 5") == 3
    assert parse_rating("I bought 6 items") is None
    assert wants_unsubscribe("please unsubscribe me") and wants_unsubscribe("opt out of emails")
    assert not wants_unsubscribe("sign me up for the newsletter")


@pytest.mark.parametrize("text, expected", [
    ("where's the refund for SH-100007", True), ("any news on my reimbursement?", True),
    ("when do i get my money back", True), ("Refunded yet??", True), ("where's my money", True),
    ("where is my order", False), ("money transfer", False), ("", False), (None, False),
])
def test_mentions_refund(text, expected):
    from bot.support.text import mentions_refund

    assert mentions_refund(text) is expected
