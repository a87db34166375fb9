"""Redaction of personal data: phone numbers go, dates, times and file names in logs stay."""
from __future__ import annotations

import pytest

from bot.redact import redact


@pytest.mark.parametrize("text", [
    "call me on 07700 900123", "+44 7700 900123 please", "0800 000 0000",
    "my number is 00447700900123",
])
def test_phone_numbers_are_redacted(text):
    assert "[phone]" in redact(text)
    assert not any(ch.isdigit() for ch in redact(text).replace("[phone]", ""))


@pytest.mark.parametrize("text", [
    "at 2026-12-03 19:51:37 it failed",
    "drain stopped in needs_outbox.jsonl.1764791497123-12345.segment",
    "order SH-100003 of 12 items",
    "a 1234567890123456789 long id",  # 19 digits: longer than any phone number
])
def test_dates_ids_and_file_names_are_not_phone_numbers(text):
    assert redact(text) == text
