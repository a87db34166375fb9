"""Numbers in what shoppers type are read from ASCII digits only: Arabic-Indic, full-width and
other scripts' digits (which Python's \\d, isdigit and int() accept) are not numbers here."""
import pytest

from bot.store.errors import InvalidInput
from bot.support.orders import validate_address
from bot.support.text import ascii_int, normalise_order_number, parse_rating

ARABIC_INDIC = "١٠٠٠٠٣"  # 100003
FULL_WIDTH = "１００００３"
EXTENDED_ARABIC = "۱۰۰۰۰۳"
DEVANAGARI = "१००००३"


@pytest.mark.parametrize("text", [
    f"SH-{ARABIC_INDIC}", f"ＳＨ-{FULL_WIDTH}", f"SH-{FULL_WIDTH}", f"#{FULL_WIDTH}",
    EXTENDED_ARABIC, DEVANAGARI, "SH-10000٣", "100003٣", "٣100003", "SH-¹⁰⁰⁰⁰³",
])
def test_non_ascii_digits_are_not_an_order_number(text):
    assert normalise_order_number(text) is None


@pytest.mark.parametrize("text", ["SH-100003", "sh100003", "#100003", "100003",
                                  "it's SH-100003 thanks"])
def test_ascii_order_numbers_still_read(text):
    assert normalise_order_number(text) == "SH-100003"


@pytest.mark.parametrize("text,rating", [("٥/5 great", None), ("５ stars", None),
                                         ("4 out of ٥", None), ("5 stars", 5), ("4/5", 4)])
def test_ratings_are_ascii(text, rating):
    assert parse_rating(text) == rating


@pytest.mark.parametrize("value,expected", [
    ("12", 12), (" 7 ", 7), (3, 3), ("١٢", None), ("１２", None), ("²", None), ("12.5", None),
    ("", None), (None, None), (True, None), (-1, None), ("9" * 40, None), ({"x": 1}, None),
])
def test_ascii_int_never_raises(value, expected):
    assert ascii_int(value) == expected


def test_an_address_needs_an_ascii_house_number_or_postcode():
    with pytest.raises(InvalidInput):
        validate_address("٥ Mill Lane, York")
    assert validate_address("5 Mill Lane, York") == "5 Mill Lane, York"
