"""Any insights view as CSV (safe to open in a spreadsheet: :mod:`bot.csvsafe`) or JSON.

Every result of :mod:`bot.insights` has ``csv_columns``, ``csv_rows()`` and ``as_dict()``.
"""
from __future__ import annotations

import io
import json
from typing import Protocol, Sequence

from bot.csvsafe import write_dicts


class View(Protocol):  # pragma: no cover - a description of the results
    csv_columns: Sequence[str]

    def csv_rows(self) -> list[dict]: ...

    def as_dict(self) -> dict: ...


def to_csv(view: View) -> str:
    """The view's rows as CSV text with a header; text that a spreadsheet would run as a
    formula is quoted as text."""
    out = io.StringIO()
    write_dicts(out, view.csv_columns, view.csv_rows())
    return out.getvalue()


def to_json(view: View) -> dict:
    """The view as plain JSON-ready data (dates as ISO text)."""
    return view.as_dict()


def dumps(view: View, **kwargs) -> str:
    return json.dumps(view.as_dict(), ensure_ascii=False, **kwargs)
