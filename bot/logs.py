"""Logs without personal data: :class:`RedactingFilter` runs :func:`bot.redact.redact` over every
record's message, arguments and traceback before a handler writes it.

A filter on a *logger* does not see records propagated from its children, so
:func:`install_redaction` puts the filter on the root logger's handlers; every process calls it
right after it configures logging (the action server, the storefront, ``python -m bot`` and so
the worker and the needs follower).
"""
from __future__ import annotations

import logging

from bot.redact import redact


class RedactingFilter(logging.Filter):
    """Replaces emails, card numbers, phone numbers and street addresses in a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: log what we can, redacted
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when set, so the traceback is written redacted too
            # (driver errors quote the statement's parameters).
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redaction(logger: logging.Logger | None = None) -> int:
    """Add a :class:`RedactingFilter` to every handler of ``logger`` (default: the root logger)
    that has none yet; returns how many handlers got one."""
    target = logger or logging.getLogger()
    added = 0
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
            added += 1
    return added
