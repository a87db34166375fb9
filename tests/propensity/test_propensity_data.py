import gzip

import pandas as pd
import pytest

from propensity.data import (
    TransactionFileError,
    convert_online_retail,
    fingerprint,
    read_transactions,
)


def write(tmp_path, text, name="log.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_reads_a_good_file_with_optional_columns(tmp_path):
    p = write(tmp_path, "customer_id,timestamp,amount,event_type\n"
                        "17850.0,2011-01-02 10:00:00,12.5,\n"
                        "17850,2011-01-03T11:00:00,0,view\n")
    df = read_transactions(p)
    assert df["customer_id"].tolist() == ["17850", "17850"]
    assert df["event_type"].tolist() == ["purchase", "view"]
    assert df["timestamp"].iloc[1] == pd.Timestamp("2011-01-03 11:00")
    assert df["quantity"].isna().all() and df["product_id"].isna().all()


def test_timestamps_with_and_without_offsets_all_become_utc(tmp_path):
    # A shop exporting local time has two offsets a year (daylight saving); dates alone and
    # times without an offset sit beside them in one file.
    p = write(tmp_path, "customer_id,timestamp,amount\n"
                        "a,2011-03-26T10:00:00+00:00,1\n"
                        "a,2011-03-28T10:00:00+01:00,2\n"
                        "b,2011-03-28 10:00,3\n"
                        "b,2011-03-29,4\n")
    df = read_transactions(p)
    assert df["timestamp"].tolist() == [pd.Timestamp("2011-03-26 10:00"),
                                        pd.Timestamp("2011-03-28 09:00"),
                                        pd.Timestamp("2011-03-28 10:00"),
                                        pd.Timestamp("2011-03-29 00:00")]
    assert df["timestamp"].dt.tz is None


def test_missing_column_names_it(tmp_path):
    p = write(tmp_path, "customer_id,timestamp\n1,2011-01-01\n")
    with pytest.raises(TransactionFileError, match="missing column.*amount") as err:
        read_transactions(p)
    assert err.value.line == 1


def test_bad_timestamp_names_the_line(tmp_path):
    p = write(tmp_path, "customer_id,timestamp,amount\n1,2011-01-01,3\n2,yesterday,4\n")
    with pytest.raises(TransactionFileError, match=r"timestamp.*line 3 \('yesterday'\)") as err:
        read_transactions(p)
    assert err.value.line == 3


def test_negative_amount_names_the_line(tmp_path):
    p = write(tmp_path, "customer_id,timestamp,amount\n1,2011-01-01,3\n1,2011-01-02,-4.5\n")
    with pytest.raises(TransactionFileError, match=r"amount is negative at line 3"):
        read_transactions(p)


def test_non_numeric_amount_and_empty_customer(tmp_path):
    p = write(tmp_path, "customer_id,timestamp,amount\n1,2011-01-01,ten\n")
    with pytest.raises(TransactionFileError, match="amount is not a number at line 2"):
        read_transactions(p)
    p = write(tmp_path, "customer_id,timestamp,amount\n,2011-01-01,1\n", "b.csv")
    with pytest.raises(TransactionFileError, match="empty customer_id at line 2"):
        read_transactions(p)


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(TransactionFileError, match="empty"):
        read_transactions(write(tmp_path, ""))
    with pytest.raises(TransactionFileError, match="no such file"):
        read_transactions(tmp_path / "nope.csv")


def test_uci_converter_drops_anonymous_and_cancelled_rows(tmp_path):
    src = tmp_path / "retail.csv.gz"
    with gzip.open(src, "wt") as f:
        f.write("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
                "536365,71053,LANTERN,2,2010-12-01 08:26:00,3.00,17850,United Kingdom\n"
                "536366,22633,WARMER,6,2010-12-01 08:28:00,1.85,,United Kingdom\n"
                "C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527,United Kingdom\n")
    dst = tmp_path / "out.csv"
    stats = convert_online_retail(src, dst)
    assert (stats.rows_in, stats.rows_without_customer, stats.cancellation_rows) == (4, 1, 1)
    df = read_transactions(dst)
    assert df["customer_id"].unique().tolist() == ["17850"]
    assert df["amount"].tolist() == [15.3, 6.0]
    assert df["product_id"].tolist() == ["85123A", "71053"]


def test_fingerprint_ignores_row_order_but_not_content(events):
    shuffled = events.sample(frac=1.0, random_state=1)
    assert fingerprint(shuffled) == fingerprint(events)
    changed = events.copy()
    changed.loc[0, "amount"] += 1
    assert fingerprint(changed) != fingerprint(events)
