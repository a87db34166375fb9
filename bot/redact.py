"""Personal data in shoppers' text: the one email pattern (also used to read an email a shopper
gives), and :func:`redact`, which turns emails, card numbers, phone numbers and street
addresses / postcodes into placeholders before text is stored."""
from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE = re.compile(r"(?<![\w.])(?:\+|00)?\d[\d ()-]{8,}\d(?!\d)")
# "2026-12-03 19:51" is a date and time, not a phone number (log lines are full of them).
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_STREET = re.compile(
    r"\b(?:flat\s+\d+\w?,?\s+)?\d{1,4}[a-z]?,?\s+(?:[A-Z][a-z]+\s+){1,3}"
    r"(?:road|rd|street|st|avenue|ave|close|lane|ln|drive|dr|way|court|ct|crescent|place|pl|"
    r"grove|gardens|terrace|square|hill|park|row|mews|boulevard|blvd)\b\.?", re.I)
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _phone(match: re.Match) -> str:
    """Phone numbers have 10-15 digits (E.164); an ISO date is not one."""
    found = match.group(0)
    digits = len(re.sub(r"\D", "", found))
    if not 10 <= digits <= 15 or _ISO_DATE.match(found.lstrip("+")):
        return found
    return "[phone]"


def redact(text: str) -> str:
    text = EMAIL.sub("[email]", text)

    def card(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return "[card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)

    text = _CARD.sub(card, text)
    text = _PHONE.sub(_phone, text)
    text = _STREET.sub("[address]", text)
    return _POSTCODE.sub("[postcode]", text)
