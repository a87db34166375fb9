"""Personal data in shoppers' text: the one email pattern (also used to read an email a shopper
gives), and :func:`redact`, which turns emails, card numbers, phone numbers and street
addresses / postcodes into placeholders before text is stored."""
from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE = re.compile(r"(?<![\w])(?:\+|00)?\d[\d ()-]{8,}\d(?!\d)")
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


def redact(text: str) -> str:
    text = EMAIL.sub("[email]", text)

    def card(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return "[card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)

    text = _CARD.sub(card, text)
    text = _PHONE.sub(lambda m: "[phone]" if len(re.sub(r"\D", "", m.group(0))) >= 10
                      else m.group(0), text)
    text = _STREET.sub("[address]", text)
    return _POSTCODE.sub("[postcode]", text)
