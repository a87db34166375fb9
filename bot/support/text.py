r"""Parsing and cleaning of what shoppers type: order numbers, emails, ratings, free text.

Numbers are read from ASCII digits only. Python's ``\d`` (without ``re.ASCII``), ``str.isdigit``
and ``int()`` also take Arabic-Indic, full-width and other scripts' digits (and ``isdigit``
even superscripts, which ``int()`` then rejects with a ValueError), so "SH-١٠٠٠٠٣" or
"ＳＨ-１００００３" would become an order number no shop system wrote. Here such text is simply
not a number: the shopper is asked again, politely.
"""
from __future__ import annotations

import re
import unicodedata
from types import MappingProxyType

from bot.redact import EMAIL

# The digits are ASCII ([0-9]); the boundaries still refuse a number glued to digits of any script.
ORDER_NUMBER_PATTERN = re.compile(r"(?<![\w-])(?:SH[\s_-]*)?#?\s*([0-9]{6})(?!\d)", re.IGNORECASE)
ASCII_DIGITS = frozenset("0123456789")
_RATING_PATTERNS = (
    re.compile(r"\b([1-5])\s*(?:/|out of)\s*5\b", re.IGNORECASE),
    re.compile(r"\b([1-5])\s*stars?\b", re.IGNORECASE),
)
_WORDS_RATING = MappingProxyType({"one": 1, "two": 2, "three": 3, "four": 4, "five": 5})
_WORD_RATING_PATTERN = re.compile(r"\b(one|two|three|four|five)\s+stars?\b", re.IGNORECASE)
_UNSUBSCRIBE_PATTERN = re.compile(
    r"\b(unsub\w*|un-subscribe|opt(?:ing)?[\s-]*out|stop\s+(?:sending|the|your|getting|emailing)"
    r"|no\s+more\s+(?:emails?|newsletters?)|remove\s+me|take\s+me\s+off|cancel\s+(?:the|my)\s+"
    r"newsletter)",
    re.IGNORECASE,
)

_REFUND_WORDS = re.compile(r"\b(?:refund\w*|reimburs\w*|money\s+back|my\s+money|repayment)\b",
                           re.IGNORECASE)

# Anything longer is not an order number answer but a sentence about something else.
_MAX_ORDER_TEXT = 80
MAX_EMAIL_LENGTH = 254


def normalise_order_number(value: object) -> str | None:
    """``SH-123456`` from the ways shoppers write it (sh123456, #123456, 123456), else None.

    Exactly one six-digit number must appear, so "SH-1 or 2" or a pasted paragraph is rejected.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > _MAX_ORDER_TEXT:
        return None
    found = ORDER_NUMBER_PATTERN.findall(text)
    if len(set(found)) != 1:
        return None
    return f"SH-{found[0]}"


def normalise_email(value: object) -> str | None:
    """The single email address in ``value`` (lower-cased), else None."""
    if not isinstance(value, str) or len(value) > 2 * MAX_EMAIL_LENGTH:
        return None
    found = EMAIL.findall(value.strip())
    if len(set(f.lower() for f in found)) != 1 or len(found[0]) > MAX_EMAIL_LENGTH:
        return None
    return found[0].lower()


def clean_text(value: object, limit: int = 2000) -> str:
    """Printable, single-spaced text cut to ``limit`` characters (control characters dropped)."""
    if not isinstance(value, str):
        return ""
    kept = "".join(
        ch if unicodedata.category(ch)[0] != "C" else " " for ch in value
    )
    text = " ".join(kept.split())
    if len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip() + "…"
    return text


def ascii_int(value: object) -> int | None:
    """The whole of ``value`` as a non-negative integer of ASCII digits, else None (never
    raises: "١٢", "１２", "²", "12.5", "" and non-strings give None)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 18 or not all(ch in ASCII_DIGITS for ch in text):
        return None
    return int(text)


def has_words(value: object) -> bool:
    """True when the text holds at least one letter or digit (not only emoji or punctuation)."""
    return isinstance(value, str) and any(ch.isalnum() for ch in value)


def parse_rating(text: str) -> int | None:
    """A 1-5 rating stated in the text ("4/5", "5 stars", "four stars"), else None."""
    for pattern in _RATING_PATTERNS:
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    match = _WORD_RATING_PATTERN.search(text)
    if match:
        return _WORDS_RATING[match.group(1).lower()]
    return None


def wants_unsubscribe(text: object) -> bool:
    return isinstance(text, str) and bool(_UNSUBSCRIBE_PATTERN.search(text))


def mentions_refund(text: object) -> bool:
    """Whether the message is about a refund ("refund", "reimbursement", "money back", "my
    money"): "where's the refund for SH-100003" is a refund question, whatever the classifier
    made of "where's"."""
    return isinstance(text, str) and bool(_REFUND_WORDS.search(text))
