"""Facets and the daily rollup: the needs table made fast to aggregate.

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
the facets per field, day, category and value (:class:`bot.store.models.NeedDaily`), so the
volume, top and theme queries read a few thousand rollup rows instead of a million needs.

**Keeping them current.** Every code path that writes a need row calls :func:`sync` with the
rows (or ids) it inserted or changed, in the same transaction: the facets of those needs are
replaced and the rollup is moved by the difference (an upsert per touched key, in key order so
concurrent writers queue rather than deadlock). Deleting needs goes through :func:`forget`
first (erasure does). :func:`rebuild` (``python -m bot insights rebuild``) recomputes both tables
from the needs table, for rows written before this existed or by a bulk load.
"""
from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Iterable, Iterator, Mapping, Sequence

from sqlalchemy import and_, bindparam, case, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from bot.store.models import Need, NeedDaily, NeedFacet

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
_COUNT_COLUMNS = ("needs", "matched", "pending", "unmet", *UNMET_REASON_COLUMNS, "unmet_other",
                  "anon_unmet_priced", "anon_unmet_cents", "anon_unmet_unpriced", "scored",
                  "scored_micros")
# The needs columns a facet is made from.
_NEED_COLUMNS = ("id", "created_at", "status", "customer_id", "category", "product", "attributes",
                 "colour", "size", "brand", "recipient", "occasion", "price_min", "price_max",
                 "propensity_probability")
_CHUNK = 500
_REBUILD_BATCH = 5000


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
    most :data:`MAX_THEME_ATTRIBUTES`), then the product; None without a product."""
    head = normalise(product) if product else ""
    if not head:
        return None
    attrs = sorted({normalise(a) for a in attributes if normalise(a)})[:MAX_THEME_ATTRIBUTES]
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
    out = dict.fromkeys(_COUNT_COLUMNS, 0)
    out["needs"] = 1
    out["matched"] = int(status == "matched")
    out["pending"] = int(status == "pending")
    if unmet:
        out["unmet"] = 1
        out[f"unmet_{reason}"] = 1
        if anonymous and priced:
            out["anon_unmet_priced"] = 1
            out["anon_unmet_cents"] = facet["price_cents"]
        elif anonymous:
            out["anon_unmet_unpriced"] = 1
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
    delta: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_COUNT_COLUMNS, 0))
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
    delta: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_COUNT_COLUMNS, 0))
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


def _upsert(session: Session):
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as upsert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:  # pragma: no cover - the shop runs on SQLite or PostgreSQL
        raise NotImplementedError(f"insights rollup on {dialect}")
    return upsert


def _apply(session: Session, delta: Mapping[tuple, Mapping[str, int]]) -> None:
    """Add ``delta`` to the rollup rows (created when missing); drop rows left with no needs.
    One executemany upsert, in key order (concurrent writers take row locks in one order)."""
    table = NeedDaily.__table__
    rows = [{"field": k[0], "day": k[1], "category": k[2], "value": k[3], **delta[k]}
            for k in sorted(delta) if any(delta[k].values())]
    if not rows:
        return
    statement = _upsert(session)(table)
    statement = statement.on_conflict_do_update(
        index_elements=["field", "day", "category", "value"],
        set_={c: table.c[c] + statement.excluded[c] for c in _COUNT_COLUMNS})
    session.execute(statement, rows)
    emptied = [{"f": r["field"], "d": r["day"], "c": r["category"], "v": r["value"]}
               for r in rows if r["needs"] < 0]
    if emptied:
        session.execute(delete(table).where(
            table.c.field == bindparam("f"), table.c.day == bindparam("d"),
            table.c.category == bindparam("c"), table.c.value == bindparam("v"),
            table.c.needs <= 0), emptied)


# --- rebuilding from the needs table ------------------------------------------------------------

def rebuild(session: Session, *, batch: int = _REBUILD_BATCH) -> dict[str, int]:
    """Recompute ``need_facets`` and ``need_daily`` from every need (the caller's transaction).
    Returns how many needs, facet rows and rollup rows there are now."""
    session.execute(delete(NeedDaily.__table__))
    session.execute(delete(NeedFacet.__table__))
    needs = facets = 0
    last_id = 0
    while True:
        rows = session.execute(_select_needs().where(Need.id > last_id)
                               .order_by(Need.id).limit(batch)).mappings().all()
        if not rows:
            break
        out = [f for row in rows for f in facets_of(row)]
        if out:
            session.execute(insert(NeedFacet.__table__), out)
        needs += len(rows)
        facets += len(out)
        last_id = rows[-1]["id"]
    rollups = rebuild_rollup(session)
    log.info("insights rebuild: %s needs, %s facets, %s rollup rows", needs, facets, rollups)
    return {"needs": needs, "facets": facets, "rollup_rows": rollups}


def rebuild_rollup(session: Session) -> int:
    """Recompute ``need_daily`` from ``need_facets`` in one INSERT ... SELECT ... GROUP BY."""
    f = NeedFacet.__table__.c
    session.execute(delete(NeedDaily.__table__))
    unmet, anonymous = f.unmet.is_(True), f.customer_id.is_(None)

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    reasons = [count(and_(unmet, f.status == f"unmet:{c[len('unmet_'):]}"))
               for c in UNMET_REASON_COLUMNS]
    known = [f"unmet:{c[len('unmet_'):]}" for c in UNMET_REASON_COLUMNS]
    columns = [
        func.count(), count(f.status == "matched"), count(f.status == "pending"), count(unmet),
        *reasons, count(and_(unmet, f.status.notin_(known))),
        count(and_(unmet, anonymous, f.price_cents.isnot(None))),
        func.coalesce(func.sum(case((and_(unmet, anonymous), f.price_cents), else_=literal(0))),
                      0),
        count(and_(unmet, anonymous, f.price_cents.is_(None))),
        func.count(f.propensity_micros), func.coalesce(func.sum(f.propensity_micros), 0),
    ]
    source = select(f.field, f.day, f.category, f.value, *columns).group_by(
        f.field, f.day, f.category, f.value)
    session.execute(insert(NeedDaily.__table__).from_select(
        ["field", "day", "category", "value", *_COUNT_COLUMNS], source))
    return session.execute(select(func.count()).select_from(NeedDaily.__table__)).scalar_one()
