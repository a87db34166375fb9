"""CSV that is safe to open in a spreadsheet (formula / CSV injection).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula, so text a shopper typed ("=HYPERLINK(...)") could run
in a staff member's spreadsheet. Every CSV we hand to people goes through :func:`safe_cell`:
such text gets a leading ``'`` (shown as text, the quote itself hidden); numbers, including
negative ones, stay numbers. Machine-to-machine CSV (PostgreSQL ``COPY`` in the demo builder,
propensity's transaction files read back by our own commands) is data, not a spreadsheet, and is
written as is.
"""
from __future__ import annotations

import csv
import re
from decimal import Decimal
from typing import IO, Any, Iterable, Mapping, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as it may go into a CSV cell: text a spreadsheet would read as a formula is
    prefixed with ``'``; numbers (and text that is just a number, like ``-12.50``) are kept."""
    if value is None or isinstance(value, (bool, int, float, Decimal)):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(row: Mapping[str, Any] | Sequence[Any]):
    if isinstance(row, Mapping):
        return {key: safe_cell(value) for key, value in row.items()}
    return [safe_cell(value) for value in row]


def write_dicts(stream: IO[str], fieldnames: Sequence[str],
                rows: Iterable[Mapping[str, Any]]) -> None:
    """A header and one line per row, every cell through :func:`safe_cell`."""
    writer = csv.DictWriter(stream, fieldnames=list(fieldnames))
    writer.writeheader()
    writer.writerows(safe_row(row) for row in rows)


def safe_frame(frame):
    """A copy of a pandas DataFrame whose text cells went through :func:`safe_cell` (numeric
    columns are left alone)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(safe_cell)
    return out
