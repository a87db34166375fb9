"""Formula-safe CSV (bot.csvsafe) and the staff exports that use it."""
import csv
import io
import json
from decimal import Decimal

import pandas as pd
import pytest

from bot.cli import main
from bot.csvsafe import safe_cell, safe_frame, write_dicts
from bot.demo.fixtures import FIXTURE_NOW
from bot.store.db import session_scope
from bot.store.models import Need


@pytest.mark.parametrize("text", [
    "=HYPERLINK(\"http://evil.example\",\"click\")", "+1 555 0100 here", "-2+3", "@SUM(A1:A9)",
    "\tcmd", "\rcmd", "=1+1", "-", "+", "-inf",
])
def test_text_a_spreadsheet_would_run_is_quoted(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", [
    0, 12, -3, 1.5, -0.25, Decimal("-12.50"), None, True, "-12.50", "+3", "-1e5", ".5",
    "plain text", "a=b", "", "email me at x@example.com", "'already quoted",
])
def test_numbers_and_harmless_text_are_kept(value):
    assert safe_cell(value) == value


def test_write_dicts_quotes_cells_and_keeps_numbers():
    out = io.StringIO()
    write_dicts(out, ["id", "text", "price"], [{"id": 1, "text": "=cmd|' /C calc'!A0",
                                               "price": -4.5}])
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows == [{"id": "1", "text": "'=cmd|' /C calc'!A0", "price": "-4.5"}]


def test_safe_frame_leaves_numeric_columns_alone():
    frame = pd.DataFrame({"customer_id": [1, 2], "probability": [-0.5, 0.25],
                          "band": ["high", "=evil()"]})
    out = safe_frame(frame)
    assert out["probability"].tolist() == [-0.5, 0.25]
    assert out["customer_id"].dtype == frame["customer_id"].dtype
    assert out["band"].tolist() == ["high", "'=evil()"]
    assert frame["band"].tolist() == ["high", "=evil()"]  # a copy: the input is unchanged


def test_needs_list_csv_is_formula_safe(shop, db_url, capsys):
    with session_scope(shop) as session:
        session.add(Need(conversation_id="c1", need_seq=1, turn=1,
                         text='=HYPERLINK("http://evil.example","boots")', last_message_key="k",
                         product="@boots", price_max=Decimal("-1"), status="unmet",
                         extractor_version="test", created_at=FIXTURE_NOW,
                         updated_at=FIXTURE_NOW))
    capsys.readouterr()
    assert main(["needs", "list", "--database-url", db_url, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["text"] == '\'=HYPERLINK("http://evil.example","boots")'
    assert rows[0]["product"] == "'@boots"
    assert float(rows[0]["price_max"]) == -1
    assert main(["needs", "list", "--database-url", db_url, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["product"] == "@boots"  # JSON is data, as is
