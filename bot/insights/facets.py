"""Facets and the daily and monthly rollups: the needs table made fast to aggregate.

A need keeps its attributes, colours and sizes as JSON lists in text columns, which SQL cannot
group by portably. Every need is therefore broken down into ``need_facets`` rows, one per field
and normalised value (lower case, single spaces):

- ``all`` (value ``*``): one row per need, its volume;
- ``product``, ``category``, ``brand``, ``recipient``, ``occasion``: the need's value, if any;
- ``attribute``, ``colour``, ``size``: one row per list item;
- ``price_band``: the band of the stated price (:data:`PRICE_BANDS`);
- ``theme``: the need's product with its attribute set (:func:`theme_label`), if it has a product.

Each facet row carries what the queries filter and weigh by: the need's day, category, status,
whether it is unmet, its signed-in shopper, stated price and propensity. ``need_daily`` sums
the facets per field, day, category and value (:class:`bot.store.models.NeedDaily`), and
``need_monthly`` the same per calendar month: the views read a period's whole months from the
monthly rows and only its partial first and last months from the daily ones, instead of
scanning a million needs.

**Keeping them current.** Every code path that writes a need row calls :func:`sync` with the
rows (or ids) it inserted or changed, in the same transaction: the facets of those needs are
replaced and both rollups are moved by the difference (an upsert per touched key, in key order so
concurrent writers queue rather than deadlock). Deleting needs goes through :func:`forget`
first (erasure does). :func:`rebuild` (``python -m bot insights rebuild``) recomputes the three
tables from the needs table, for rows written before this existed or by a bulk load;
:func:`stale_need_ids` / :func:`catch_up` (``python -m bot insights check [--fix]``) find and
sync the needs a writer left without facets or whose status, shopper, score or category
changed behind the facets' back.
"""
from __future__ import annotations

import io
import json
import logging
from collections import defaultdict
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Iterable, Iterator, Mapping, Sequence

from sqlalchemy import (Date, and_, bindparam, case, cast, delete, func, insert, literal, or_,
                        select, text)
from sqlalchemy.orm import Session

from bot.store.models import Need, NeedDaily, NeedFacet, NeedMonthly

log = logging.getLogger(__name__)

ALL_VALUE = "*"
NO_CATEGORY = ""
MAX_VALUE = 255
MAX_THEME_ATTRIBUTES = 4
# Stated-price bands: (label, lower bound included, upper bound excluded; None: open).
PRICE_BANDS = (("under 25", 0, 25), ("25-50", 25, 50), ("50-100", 50, 100),
               ("100-250", 100, 250), ("250-500", 250, 500), ("500 and over", 500, None))
UNMET_REASON_COLUMNS = ("unmet_not_stocked", "unmet_out_of_stock", "unmet_over_budget",
                        "unmet_size_or_colour")
COUNT_COLUMNS = ("needs", "matched", "pending", "unmet", *UNMET_REASON_COLUMNS, "unmet_other",
                  "anon_unmet_priced", "anon_unmet_cents", "anon_unmet_unpriced", "scored",
                  "scored_micros", "signed_unmet", "signed_scored_cents",
                  "signed_scored_unpriced_micros", "signed_unscored_cents",
                  "signed_unscored_unpriced")
# The needs columns a facet is made from.
_NEED_COLUMNS = ("id", "created_at", "status", "customer_id", "category", "product", "attributes",
                 "colour", "size", "brand", "recipient", "occasion", "price_min", "price_max",
                 "propensity_probability")
_CHUNK = 500
_REBUILD_BATCH = 20000


# --- the facets of one need ---------------------------------------------------------------------

def normalise(value) -> str:
    """A facet value: text, lower case, single spaces, at most :data:`MAX_VALUE` characters."""
    return " ".join(str(value).lower().split())[:MAX_VALUE]


def is_unmet(status: str | None) -> bool:
    """Every ``unmet`` status, with or without a reason; ``pending`` never is."""
    return bool(status) and status.startswith("unmet")


def unmet_reason(status: str | None) -> str | None:
    """``not_stocked``... for ``unmet:<reason>``, ``other`` for a bare ``unmet``, else None."""
    if not is_unmet(status):
        return None
    reason = status.partition(":")[2]
    return reason if f"unmet_{reason}" in UNMET_REASON_COLUMNS else "other"


def stated_price(price_min, price_max) -> Decimal | None:
    """The price the shopper stated: their maximum, else their minimum."""
    for value in (price_max, price_min):
        if value is not None:
            try:
                price = Decimal(str(value))
            except InvalidOperation:
                continue
            if price.is_finite() and price >= 0:
                return price
    return None


def price_band(price: Decimal | None) -> str | None:
    if price is None:
        return None
    for label, low, high in PRICE_BANDS:
        if price >= low and (high is None or price < high):
            return label
    return None


def theme_label(product: str | None, attributes: Iterable[str]) -> str | None:
    """``"lightweight + waterproof + hiking jacket"``: the attributes in alphabetical order (at
    most :data:`MAX_THEME_ATTRIBUTES`), then the product; None without a product. An attribute
    the product already says ("vegan leather" of "vegan leather handbag") is not repeated."""
    head = normalise(product) if product else ""
    if not head:
        return None
    padded = f" {head} "
    attrs = sorted({normalise(a) for a in attributes
                    if normalise(a) and f" {normalise(a)} " not in padded})[:MAX_THEME_ATTRIBUTES]
    return normalise(" + ".join([*attrs, head]))


def _json_list(raw) -> list:
    if isinstance(raw, (list, tuple)):
        return list(raw)
    try:
        value = json.loads(raw or "[]")
    except (TypeError, ValueError):
        return []
    if isinstance(value, list):
        return value
    return [] if value in (None, "") else [value]


def facets_of(need: Mapping) -> list[dict]:
    """The ``need_facets`` rows of one need (a mapping with the needs table's column names)."""
    created: datetime = need["created_at"]
    status = need["status"] or ""
    price = stated_price(need["price_min"], need["price_max"])
    propensity = need["propensity_probability"]
    base = {
        "need_id": need["id"], "day": created.date(),
        "category": normalise(need["category"]) if need["category"] else NO_CATEGORY,
        "status": status[:32], "unmet": is_unmet(status), "customer_id": need["customer_id"],
        "price_cents": None if price is None else int((price * 100).to_integral_value()),
        "propensity_micros": None if propensity is None else
        int(round(min(max(float(propensity), 0.0), 1.0) * 1_000_000)),
    }
    attributes = [a for a in _json_list(need["attributes"]) if a not in (None, "")]
    pairs: list[tuple[str, object]] = [
        ("all", ALL_VALUE), ("product", need["product"]), ("category", need["category"]),
        ("brand", need["brand"]), ("recipient", need["recipient"]),
        ("occasion", need["occasion"]), ("price_band", price_band(price)),
        ("theme", theme_label(need["product"], attributes)),
    ]
    pairs += [("attribute", a) for a in attributes]
    pairs += [("colour", c) for c in _json_list(need["colour"])]
    pairs += [("size", s) for s in _json_list(need["size"])]
    rows, seen = [], set()
    for field, raw in pairs:
        if raw in (None, ""):
            continue
        value = raw if field == "all" else normalise(raw)
        if value and (field, value) not in seen:
            seen.add((field, value))
            rows.append({"field": field, "value": value, **base})
    return rows


def contribution(facet: Mapping) -> dict[str, int]:
    """What one facet row adds to its ``need_daily`` row (the rebuild's SQL says the same)."""
    status, unmet = facet["status"], facet["unmet"]
    reason = unmet_reason(status) if unmet else None
    anonymous = facet["customer_id"] is None
    priced = facet["price_cents"] is not None
    out = dict.fromkeys(COUNT_COLUMNS, 0)
    out["needs"] = 1
    out["matched"] = int(status == "matched")
    out["pending"] = int(status == "pending")
    micros = facet["propensity_micros"]
    if unmet:
        out["unmet"] = 1
        out[f"unmet_{reason}"] = 1
        if anonymous and priced:
            out["anon_unmet_priced"] = 1
            out["anon_unmet_cents"] = facet["price_cents"]
        elif anonymous:
            out["anon_unmet_unpriced"] = 1
        else:
            out["signed_unmet"] = 1
            if micros is not None and priced:
                out["signed_scored_cents"] = micros * facet["price_cents"] // 1_000_000
            elif micros is not None:
                out["signed_scored_unpriced_micros"] = micros
            elif priced:
                out["signed_unscored_cents"] = facet["price_cents"]
            else:
                out["signed_unscored_unpriced"] = 1
    if facet["propensity_micros"] is not None:
        out["scored"] = 1
        out["scored_micros"] = facet["propensity_micros"]
    return out


def _select_needs():
    return select(*[Need.__table__.c[name] for name in _NEED_COLUMNS])


# --- keeping them current -----------------------------------------------------------------------

def _ids(needs: Iterable) -> list[int]:
    ids = {n if isinstance(n, int) else n.id for n in needs}
    return sorted(i for i in ids if i is not None)


def _chunks(values: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _key(facet: Mapping) -> tuple:
    return facet["field"], facet["day"], facet["category"], facet["value"]


def sync(session: Session, needs: Iterable) -> int:
    """Bring the facets and the rollup of ``needs`` (Need rows or ids) in line with the needs
    table, in the caller's transaction. Call it after inserting or changing need rows (a row
    that no longer exists loses its facets). Returns the number of facet rows written."""
    needs = list(needs)
    if not needs:
        return 0
    session.flush()  # the caller's ORM changes reach the table first (new rows get their ids)
    ids = _ids(needs)
    delta: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    for chunk in _chunks(ids):
        for old in session.execute(select(NeedFacet.__table__).where(
                NeedFacet.need_id.in_(chunk))).mappings():
            for column, amount in contribution(old).items():
                delta[_key(old)][column] -= amount
    written = []
    for chunk in _chunks(ids):
        session.execute(delete(NeedFacet).where(NeedFacet.need_id.in_(chunk))
                        .execution_options(synchronize_session=False))
        for need in session.execute(_select_needs().where(Need.id.in_(chunk))).mappings():
            written += facets_of(need)
    if written:
        session.execute(insert(NeedFacet.__table__), written)
    for new in written:
        for column, amount in contribution(new).items():
            delta[_key(new)][column] += amount
    _apply(session, delta)
    return len(written)


def forget(session: Session, need_ids: Iterable[int]) -> int:
    """Remove the facets of needs about to be deleted and take them out of the rollup (erasure
    calls this before deleting the needs). Returns the number of facet rows removed."""
    ids = sorted({int(i) for i in need_ids})
    delta: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    removed = 0
    for chunk in _chunks(ids):
        for old in session.execute(select(NeedFacet.__table__).where(
                NeedFacet.need_id.in_(chunk))).mappings():
            removed += 1
            for column, amount in contribution(old).items():
                delta[_key(old)][column] -= amount
        session.execute(delete(NeedFacet).where(NeedFacet.need_id.in_(chunk))
                        .execution_options(synchronize_session=False))
    _apply(session, delta)
    return removed


def _apply(session: Session, delta: Mapping[tuple, Mapping[str, int]]) -> None:
    """Add ``delta`` (keyed by field, day, category, value) to the daily and the monthly
    rollups (rows created when missing); drop rows left with no needs."""
    monthly: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    for (field, day, category, value), change in delta.items():
        target = monthly[(field, day.replace(day=1), category, value)]
        for column, amount in change.items():
            target[column] += amount
    _apply_to(session, NeedDaily.__table__, "day", delta)
    _apply_to(session, NeedMonthly.__table__, "month", monthly)


def _upsert_sql(table: str, period: str) -> str:
    """``INSERT ... ON CONFLICT ... DO UPDATE`` adding to the counts: the same text on SQLite
    (3.24+) and PostgreSQL; plain text, so it is not compiled again on every need write."""
    keys = ("field", period, "category", "value")
    columns = (*keys, *COUNT_COLUMNS)
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNT_COLUMNS))


_UPSERT = MappingProxyType({"day": _upsert_sql("need_daily", "day"),
                            "month": _upsert_sql("need_monthly", "month")})


def _apply_to(session: Session, table, period: str,
              delta: Mapping[tuple, Mapping[str, int]]) -> None:
    """One executemany upsert, in key order (concurrent writers take row locks in one order,
    so they queue instead of deadlocking)."""
    rows = [{"field": k[0], period: k[1], "category": k[2], "value": k[3], **delta[k]}
            for k in sorted(delta) if any(delta[k].values())]
    if not rows:
        return
    session.execute(text(_UPSERT[period]).bindparams(bindparam(period, type_=Date)), rows)
    emptied = [{"f": r["field"], "p": r[period], "c": r["category"], "v": r["value"]}
               for r in rows if r["needs"] < 0]
    if emptied:
        session.execute(delete(table).where(
            table.c.field == bindparam("f"), table.c[period] == bindparam("p"),
            table.c.category == bindparam("c"), table.c.value == bindparam("v"),
            table.c.needs <= 0), emptied)


# --- checking --------------------------------------------------------------------------------

def stale_need_ids(session: Session, *, limit: int | None = None) -> list[int]:
    """Needs whose facets are missing (a writer that did not call :func:`sync`, such as a bulk
    insert) or disagree with the row on what later writers change: the status, the shopper, the
    propensity score, the category. Their ids, oldest first."""
    n, f = Need.__table__.c, NeedFacet.__table__.c
    joined = Need.__table__.outerjoin(NeedFacet.__table__, and_(
        f.need_id == n.id, f.field == "all", f.value == ALL_VALUE))
    differs = or_(
        f.need_id.is_(None), f.status != func.substr(n.status, 1, 32),
        and_(f.customer_id.is_(None), n.customer_id.isnot(None)),
        and_(f.customer_id.isnot(None), or_(n.customer_id.is_(None),
                                              f.customer_id != n.customer_id)),
        and_(f.propensity_micros.is_(None), n.propensity_probability.isnot(None)),
        and_(f.propensity_micros.isnot(None), or_(
            n.propensity_probability.is_(None),
            func.abs(f.propensity_micros - n.propensity_probability * 1_000_000) > 1)),
        f.category != func.lower(func.coalesce(n.category, NO_CATEGORY)))
    query = select(n.id).select_from(joined).where(differs).order_by(n.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def catch_up(session: Session, *, batch: int = _CHUNK) -> int:
    """Sync every need :func:`stale_need_ids` finds; returns how many."""
    ids = stale_need_ids(session)
    for start in range(0, len(ids), batch):
        sync(session, ids[start:start + batch])
    return len(ids)


# --- rebuilding from the needs table ------------------------------------------------------------

def rebuild(session: Session, *, batch: int = _REBUILD_BATCH) -> dict[str, int]:
    """Recompute ``need_facets`` and the rollups from every need (the caller's transaction).
    Returns how many needs, facet rows and daily rollup rows there are now."""
    session.execute(delete(NeedFacet.__table__))
    indexes = sorted(NeedFacet.__table__.indexes, key=lambda i: i.name)
    for index in indexes:  # a bulk load then one index build beats updating them row by row
        index.drop(session.connection())
    needs = facets = 0
    last_id = 0
    while True:
        rows = session.execute(_select_needs().where(Need.id > last_id)
                               .order_by(Need.id).limit(batch)).mappings().all()
        if not rows:
            break
        out = [f for row in rows for f in facets_of(row)]
        out.sort(key=lambda f: (f["field"], f["value"], f["day"], f["need_id"]))  # key order
        _bulk_insert(session, NeedFacet.__table__, out)
        needs += len(rows)
        facets += len(out)
        last_id = rows[-1]["id"]
    for index in indexes:
        index.create(session.connection())
    rollups = rebuild_rollup(session)
    log.info("insights rebuild: %s needs, %s facets, %s rollup rows", needs, facets, rollups)
    return {"needs": needs, "facets": facets, "rollup_rows": rollups}


def _copy_field(value) -> str:
    """One field of COPY's CSV: text always quoted (so "" is an empty string and nothing a
    shopper typed reads as NULL), NULL unquoted empty, numbers, booleans and dates as is."""
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return str(value)


def _bulk_insert(session: Session, table, rows: list[dict]) -> None:
    """Insert many rows: COPY on PostgreSQL (psycopg2 renders an executemany row by row in
    Python, several times slower), an executemany elsewhere."""
    if not rows:
        return
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.driver != "psycopg2" or len(rows) < 1000:
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    buf = io.StringIO()
    for row in rows:
        buf.write(",".join(_copy_field(row[c]) for c in columns))
        buf.write("\n")
    buf.seek(0)
    cursor = session.connection().connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH "
                           "(FORMAT csv)", buf)
    finally:
        cursor.close()


def rebuild_rollup(session: Session) -> int:
    """Recompute ``need_daily`` from ``need_facets``, then ``need_monthly`` from ``need_daily``
    (each one INSERT ... SELECT ... GROUP BY). Returns the number of daily rows."""
    f = NeedFacet.__table__.c
    session.execute(delete(NeedDaily.__table__))
    session.execute(delete(NeedMonthly.__table__))
    unmet, anonymous = f.unmet.is_(True), f.customer_id.is_(None)
    signed = and_(unmet, f.customer_id.isnot(None))
    scored, priced = f.propensity_micros.isnot(None), f.price_cents.isnot(None)

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def total(condition, value):
        return func.coalesce(func.sum(case((condition, value), else_=literal(0))), 0)

    reasons = [count(and_(unmet, f.status == f"unmet:{c[len('unmet_'):]}"))
               for c in UNMET_REASON_COLUMNS]
    known = [f"unmet:{c[len('unmet_'):]}" for c in UNMET_REASON_COLUMNS]
    columns = [
        func.count(), count(f.status == "matched"), count(f.status == "pending"), count(unmet),
        *reasons, count(and_(unmet, f.status.notin_(known))),
        count(and_(unmet, anonymous, priced)),
        total(and_(unmet, anonymous, priced), f.price_cents),
        count(and_(unmet, anonymous, f.price_cents.is_(None))),
        func.count(f.propensity_micros), func.coalesce(func.sum(f.propensity_micros), 0),
        count(signed),
        # integer division, as contribution() does (both operands are positive integers)
        total(and_(signed, scored, priced), f.propensity_micros * f.price_cents / 1_000_000),
        total(and_(signed, scored, f.price_cents.is_(None)), f.propensity_micros),
        total(and_(signed, f.propensity_micros.is_(None), priced), f.price_cents),
        count(and_(signed, f.propensity_micros.is_(None), f.price_cents.is_(None))),
    ]
    source = select(f.field, f.day, f.category, f.value, *columns).group_by(
        f.field, f.day, f.category, f.value)
    session.execute(insert(NeedDaily.__table__).from_select(
        ["field", "day", "category", "value", *COUNT_COLUMNS], source))
    d = NeedDaily.__table__.c
    month = _month_of(session, d.day)
    session.execute(insert(NeedMonthly.__table__).from_select(
        ["field", "month", "category", "value", *COUNT_COLUMNS],
        select(d.field, month, d.category, d.value, *[func.sum(d[c]) for c in COUNT_COLUMNS])
        .group_by(d.field, month, d.category, d.value)))
    return session.execute(select(func.count()).select_from(NeedDaily.__table__)).scalar_one()


def _month_of(session: Session, day):
    """SQL for the first day of ``day``'s month, as the Date column stores it."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(day, "start of month")  # 'YYYY-MM-DD' text, as SQLite dates are kept
    return cast(func.date_trunc("month", day), Date)
