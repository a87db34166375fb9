"""Loaders: the transaction-log CSV contract and the UCI Online Retail converter (the shop DB's
loaders, which return the same frames, are in ``propensity.history``).

Every loader returns the same *events frame*, one row per event, with the columns of
``EVENT_COLUMNS``:

- ``customer_id`` (str), ``timestamp`` (datetime64, naive), ``amount`` (float, >= 0),
- ``quantity`` (float, NaN when unknown), ``product_id`` / ``category`` (str or None),
- ``event_type`` (str: ``purchase``, ``view``, ``cart``; other types are kept and ignored).

A purchase log may be line-level (several rows share a customer and timestamp) or order-level;
features group rows with the same customer and timestamp into one purchase occasion.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("customer_id", "timestamp", "amount")
OPTIONAL_COLUMNS = ("quantity", "product_id", "category", "event_type")
EVENT_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
PURCHASE = "purchase"
VIEW = "view"
CART = "cart"
# The needs frame (captured needs, from the shop DB only).
NEEDS_COLUMNS = ("customer_id", "created_at", "status", "category")
# How many bad rows an error message lists before "and N more".
_MAX_LISTED = 5


class TransactionFileError(ValueError):
    """A transaction file breaks the contract; the message says which row and what is wrong."""

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(message)
        self.line = line


def _bad_rows_message(what: str, mask: np.ndarray, raw: pd.Series, source: str) -> TransactionFileError:
    idx = np.flatnonzero(mask)
    # Line numbers as a text editor shows them: the header is line 1.
    lines = [int(i) + 2 for i in idx[:_MAX_LISTED]]
    shown = ", ".join(f"line {ln} ({raw.iloc[i]!r})" for ln, i in zip(lines, idx[:_MAX_LISTED]))
    more = f" and {len(idx) - _MAX_LISTED} more" if len(idx) > _MAX_LISTED else ""
    return TransactionFileError(f"{source}: {what} at {shown}{more}", line=lines[0])


def validate_events(raw: pd.DataFrame, source: str = "transactions") -> pd.DataFrame:
    """Check a raw frame against the contract and return a clean events frame.

    Raises ``TransactionFileError`` naming the first bad rows (missing column, empty customer,
    bad timestamp, non-numeric or negative amount or quantity).
    """
    raw = raw.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise TransactionFileError(
            f"{source}: missing column(s) {', '.join(missing)}; the header has "
            f"{', '.join(map(str, raw.columns)) or 'nothing'} and must include "
            f"{', '.join(REQUIRED_COLUMNS)}",
            line=1,
        )
    out = pd.DataFrame(index=raw.index)

    cust = raw["customer_id"].astype("string").str.strip()
    bad = cust.isna().to_numpy() | (cust == "").fillna(True).to_numpy()
    if bad.any():
        raise _bad_rows_message("empty customer_id", bad, raw["customer_id"], source)
    # "17850.0" and "17850" are the same customer (spreadsheets love floats).
    out["customer_id"] = cust.str.replace(r"\.0+$", "", regex=True).astype(object)

    ts_raw = raw["timestamp"]
    # Everything to UTC: an export in local time carries two offsets a year (+00:00 / +01:00
    # across daylight saving), and a time without an offset is taken as UTC already.
    ts = (pd.to_datetime(ts_raw, errors="coerce", format="mixed", utc=True) if len(raw)
          else pd.to_datetime(ts_raw, utc=True))
    bad = ts.isna().to_numpy()
    if bad.any():
        raise _bad_rows_message("timestamp is not an ISO date/time", bad, ts_raw, source)
    out["timestamp"] = ts.dt.tz_localize(None).astype("datetime64[ns]")

    for col, required in (("amount", True), ("quantity", False)):
        if col not in raw.columns:
            out[col] = np.nan
            continue
        values = pd.to_numeric(raw[col], errors="coerce")
        given = raw[col].notna() & (raw[col].astype("string").str.strip() != "")
        bad = (values.isna() & (given | required)).to_numpy()
        if bad.any():
            raise _bad_rows_message(f"{col} is not a number", bad, raw[col], source)
        bad = (values < 0).fillna(False).to_numpy()
        if bad.any():
            raise _bad_rows_message(f"{col} is negative", bad, raw[col], source)
        out[col] = values.astype(float)

    for col in ("product_id", "category"):
        if col in raw.columns:
            s = raw[col].astype("string").str.strip()
            out[col] = s.where(s.notna() & (s != ""), None).astype(object)
        else:
            out[col] = None
    if "event_type" in raw.columns:
        et = raw["event_type"].astype("string").str.strip().str.lower()
        out["event_type"] = et.where(et.notna() & (et != ""), PURCHASE).astype(object)
    else:
        out["event_type"] = PURCHASE
    return out.reset_index(drop=True)[list(EVENT_COLUMNS)]


def read_transactions(path: str | Path) -> pd.DataFrame:
    """Read a transaction-log CSV (contract in ../shared/DESIGN.md) into an events frame."""
    path = Path(path)
    if not path.exists():
        raise TransactionFileError(f"{path}: no such file")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError as exc:
        raise TransactionFileError(f"{path}: the file is empty (a header line is required)", line=1) from exc
    except pd.errors.ParserError as exc:
        raise TransactionFileError(f"{path}: not a readable CSV file: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise TransactionFileError(f"{path}: not UTF-8 text") from exc
    return validate_events(raw, source=str(path.name))


def fingerprint(events: pd.DataFrame) -> str:
    """A short content hash of an events frame (order-independent), stored with each model."""
    cols = events[["customer_id", "timestamp", "amount", "event_type"]]
    row_hashes = pd.util.hash_pandas_object(cols, index=False).to_numpy()
    digest = hashlib.sha256(np.sort(row_hashes).tobytes()).hexdigest()
    return f"sha256:{digest[:16]}:{len(events)}"


# --- UCI Online Retail -------------------------------------------------------------------


@dataclass(frozen=True)
class ConversionStats:
    rows_in: int
    rows_without_customer: int
    cancellation_rows: int
    invoices_out: int
    customers_out: int


def convert_online_retail(src: str | Path, dst: str | Path) -> ConversionStats:
    """Convert the UCI Online Retail file to the transaction contract, one row per invoice line.

    Rows without a CustomerID are dropped (nobody to score); cancellation invoices (InvoiceNo
    starting with "C"), lines with a negative price (bad-debt adjustments) or a non-positive
    quantity are dropped. amount = Quantity * UnitPrice, product_id = StockCode; lines of one
    invoice share its timestamp, so features see one purchase occasion per invoice.
    """
    df = pd.read_csv(src, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": "Int64"})
    rows_in = len(df)
    no_cust = int(df["CustomerID"].isna().sum())
    df = df[df["CustomerID"].notna()]
    cancelled = df["InvoiceNo"].str.upper().str.startswith("C")
    n_cancel = int(cancelled.sum())
    df = df[~cancelled & (df["UnitPrice"] >= 0) & (df["Quantity"] > 0)]
    out = pd.DataFrame({
        "customer_id": df["CustomerID"].astype("int64"),
        "timestamp": df["InvoiceDate"],
        "amount": (df["Quantity"] * df["UnitPrice"]).round(2),
        "quantity": df["Quantity"],
        "product_id": df["StockCode"].str.strip(),
        "event_type": PURCHASE,
    })
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(dst, index=False)
    return ConversionStats(rows_in, no_cust, n_cancel, int(df["InvoiceNo"].nunique()),
                           int(out["customer_id"].nunique()))
