"""Customer history from the shop DB: every customer for training, one customer for serving.

Both read the same statements, built here once from the store's tables, in one row layout
(``_ROW``: customer, kind, time, amount, quantity, product, category, text, need category), and
one conversion (``_columns``) turns the rows into numpy columns:

- ``load_events_from_db`` / ``load_needs_from_db``: the events and needs frames of the data
  contract (``propensity.data``), for the whole shop or one customer: training, evaluation,
  batch scoring;
- ``HistoryQueries``: the serving statements of one engine, built once: one customer's history
  (order lines, behaviour events, captured needs as one UNION ALL) straight to ``EventArrays``
  and ``NeedArrays``, and the shop-wide product buyers (``ProductStats``) that one customer's
  rows cannot tell.

Statements run on a pooled DBAPI connection and timestamps come back as the stored text on SQLite
(``_Compiled``): numpy parses them faster than SQLAlchemy's per-row processing.
"""
from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    cast,
    distinct,
    func,
    inspect,
    literal,
    null,
    select,
    type_coerce,
    union,
    union_all,
)

from bot.store.models import Category, Event, Order, OrderLine, Product
from propensity.data import CART, EVENT_COLUMNS, NEEDS_COLUMNS, PURCHASE, VIEW
from propensity.features import (
    MIN_BEHAVIOUR_EVENTS,
    PRODUCT_BEFORE_DAYS,
    PRODUCT_RECENT_DAYS,
    EventArrays,
    NeedArrays,
    ProductStats,
)

logger = logging.getLogger(__name__)

# The columns of every history statement, in order.
_ROW = ("customer", "kind", "t", "amount", "qty", "product", "category", "text", "need_category")
# Row kinds: the features' event-type codes (3: any other behaviour) and a captured need.
PURCHASE_KIND, VIEW_KIND, CART_KIND, OTHER_KIND, NEED_KIND = 0, 1, 2, 3, 9
# The longest window any behaviour feature counts events in (views/carts/abandoned carts, 30d).
BEHAVIOUR_RECENT = dt.timedelta(days=30)


# --- statements ------------------------------------------------------------------------------


def _row(*columns):
    return select(*(c.label(name) for c, name in zip(columns, _ROW, strict=True)))


def _none(type_):
    return cast(null(), type_)


def _time(engine):
    """How a time column is selected: the stored text on SQLite, the driver's value elsewhere."""
    if engine.dialect.name == "sqlite":
        return lambda col: type_coerce(col, String)
    return lambda col: col


def _order_lines(when, cid=None, until=None):
    """Purchases: the lines of orders not cancelled (orders are the source of truth)."""
    where = [Order.status != "cancelled"]
    if cid is not None:
        where.append(Order.customer_id == cid)
    if until is not None:
        where.append(Order.placed_at < until)
    return (
        _row(Order.customer_id, literal(PURCHASE_KIND, Integer), when(Order.placed_at),
             OrderLine.quantity * cast(OrderLine.unit_price, Float),
             cast(OrderLine.quantity, Float), OrderLine.product_id, Product.category_id,
             _none(String), _none(String))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(*where)
    )


def _event_kind():
    return case((Event.event_type == VIEW, VIEW_KIND), (Event.event_type == CART, CART_KIND),
                else_=OTHER_KIND)


def _behaviour_filter(cid=None, until=None) -> list:
    where = [Event.event_type != PURCHASE]  # purchases come from orders
    if cid is not None:
        where.append(Event.customer_id == cid)
    if until is not None:
        where.append(Event.occurred_at < until)
    return where


def _behaviour(when, cid=None, until=None):
    """Every behaviour event with its type, amount, quantity, product and category."""
    return (
        _row(Event.customer_id, _event_kind(), when(Event.occurred_at),
             cast(Event.amount, Float), cast(Event.quantity, Float), Event.product_id,
             Product.category_id, Event.event_type, _none(String))
        .outerjoin(Product, Product.id == Event.product_id)
        .where(*_behaviour_filter(cid, until))
    )


def _recent_behaviour(when, cid, until, recent_from):
    """One customer's behaviour events as the features read them: type and time only (amounts,
    products and categories are purchase features), every event since ``recent_from`` and of the
    older ones only the oldest, the latest view and the latest ``MIN_BEHAVIOUR_EVENTS``.

    Events older than ``BEHAVIOUR_RECENT`` feed only three things: the first event's age, the
    last view's age, and whether there are at least ``MIN_BEHAVIOUR_EVENTS``; so the features are
    the same as from every row (a test compares them), for a fraction of a long-time browser's
    rows."""
    base = (select(Event.id, Event.customer_id, _event_kind().label("kind"),
                   Event.occurred_at.label("t"))
            .where(*_behaviour_filter(cid, until)))
    older = Event.occurred_at < recent_from

    def first(stmt, n):  # LIMIT inside a UNION needs its own subquery
        sub = stmt.limit(n).subquery()
        return select(sub.c.id, sub.c.customer_id, sub.c.kind, sub.c.t)

    events = union(
        base.where(Event.occurred_at >= recent_from),
        first(base.order_by(Event.occurred_at), 1),
        first(base.where(older, Event.event_type == VIEW).order_by(Event.occurred_at.desc()), 1),
        first(base.where(older).order_by(Event.occurred_at.desc()), MIN_BEHAVIOUR_EVENTS),
    ).subquery()
    return _row(events.c.customer_id, events.c.kind, when(events.c.t), _none(Float),
                _none(Float), _none(Integer), _none(Integer), _none(String), _none(String))


def _needs_table(engine) -> Table | None:
    """The captured needs log, or None when the DB has none (the need features stay 0)."""
    if not inspect(engine).has_table("needs"):
        return None
    table = Table("needs", MetaData(), autoload_with=engine)
    if not {"customer_id", "created_at"} <= set(table.c.keys()):
        logger.warning("needs table lacks customer_id/created_at; need features stay 0")
        return None
    return table


def _needs(table, when, cid=None, until=None):
    c = table.c
    where = [c.customer_id.isnot(None)]
    if cid is not None:
        where.append(c.customer_id == cid)
    if until is not None:
        where.append(c.created_at < until)
    text = {name: cast(c[name], String) if name in c else _none(String)
            for name in ("status", "category")}
    return _row(c.customer_id, literal(NEED_KIND, Integer), when(c.created_at), _none(Float),
                _none(Float), _none(Integer), _none(Integer), text["status"],
                text["category"]).where(*where)


def _product_buyers():
    """Distinct buyers per product in [before_from, recent_from) and [recent_from, until)."""
    recent_from, buyer = bindparam("recent_from"), Order.customer_id
    return (
        select(OrderLine.product_id,
               func.count(distinct(case((Order.placed_at >= recent_from, buyer)))),
               func.count(distinct(case((Order.placed_at < recent_from, buyer)))))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status != "cancelled", Order.placed_at >= bindparam("before_from"),
               Order.placed_at < bindparam("until"))
        .group_by(OrderLine.product_id)
    )


class _Compiled:
    """A statement compiled once for the engine's dialect and run on a pooled DBAPI connection:
    plain tuples back, without SQLAlchemy's per-row Result machinery (a third of the query's
    cost for a few hundred rows). Bound values go through the column types' bind processors,
    exactly as SQLAlchemy would send them."""

    def __init__(self, engine, stmt):
        self.engine = engine
        self.compiled = stmt.compile(dialect=engine.dialect)
        self.sql = str(self.compiled)
        self._datetime = DateTime().bind_processor(engine.dialect) or (lambda v: v)

    def fetch(self, **params) -> list[tuple]:
        values = {k: self._datetime(v) if isinstance(v, dt.datetime) else v
                  for k, v in params.items()}
        bound = self.compiled.construct_params(values)
        if self.compiled.positional:
            bound = [bound[name] for name in self.compiled.positiontup]
        raw = self.engine.raw_connection()  # from the engine's pool
        try:
            cur = raw.cursor()
            try:
                cur.execute(self.sql, bound)
                return cur.fetchall()
            finally:
                cur.close()
        finally:
            raw.close()  # back to the pool


def _filters(customer_id, until) -> tuple[dict, object, object]:
    """Bound parameters for the optional customer and time filters: (values, cid, until)."""
    values = {}
    if customer_id is not None:
        values["cid"] = int(customer_id)
    if until is not None:
        values["until"] = until
    return (values, bindparam("cid") if "cid" in values else None,
            bindparam("until") if "until" in values else None)


# --- rows -> arrays ----------------------------------------------------------------------------


class _Columns:
    """History rows as numpy columns (NULL: NaN in the float ones, None in the text ones)."""

    def __init__(self, rows: list[tuple]):
        cols = list(zip(*rows)) if rows else [()] * len(_ROW)
        self.customer = np.array(cols[0], dtype=np.int64)
        self.kind = np.array(cols[1], dtype=np.int64)
        self.t_ns = np.array(cols[2], dtype="datetime64[ns]").view(np.int64)
        self.amount = np.array(cols[3], dtype=float)
        self.qty = np.array(cols[4], dtype=float)
        self.product = np.array(cols[5], dtype=float)
        self.category = np.array(cols[6], dtype=float)
        self.text = np.array(cols[7], dtype=object)
        self.need_category = np.array(cols[8], dtype=object)


def _id_text(ids: np.ndarray) -> np.ndarray:
    """Integer ids (float, NaN for none) as str, None for none."""
    out = np.full(len(ids), None, dtype=object)
    known = ~np.isnan(ids)
    out[known] = ids[known].astype(np.int64).astype(str).astype(object)
    return out


def _lookup(ids: np.ndarray, names: dict[int, str]) -> np.ndarray:
    """``names[id]`` for integer ids (float, NaN for none), None where unknown."""
    out = np.full(len(ids), None, dtype=object)
    known = ~np.isnan(ids)
    if names and known.any():
        pos = pd.Index(list(names)).get_indexer(ids[known].astype(np.int64))
        out[known] = np.append(np.array(list(names.values()), dtype=object), None)[pos]
    return out


def _events_frame(c: _Columns, category_slugs: dict[int, str]) -> pd.DataFrame:
    df = pd.DataFrame({
        "customer_id": c.customer.astype(str).astype(object),
        "timestamp": c.t_ns.view("datetime64[ns]"),
        "amount": np.nan_to_num(c.amount, nan=0.0),
        "quantity": c.qty,
        "product_id": _id_text(c.product),
        "category": _lookup(c.category, category_slugs),
        "event_type": np.where(c.kind == PURCHASE_KIND, PURCHASE, c.text),
    })
    return df[list(EVENT_COLUMNS)]


def _one_customer(c: _Columns, customer_id: int,
                  catalogue: frozenset[str]) -> tuple[EventArrays, NeedArrays | None]:
    is_need = c.kind == NEED_KIND
    ev = ~is_need
    prod, cat = c.product[ev], c.category[ev]
    known = ~np.isnan(prod)
    product_ids, codes = np.unique(prod[known].astype(np.int64), return_inverse=True)
    product = np.full(len(prod), -1, dtype=np.int64)
    product[known] = codes
    events = EventArrays(
        ids=np.array([str(customer_id)], dtype=object), cust=np.zeros(int(ev.sum()), np.int64),
        t_ns=c.t_ns[ev], amount=np.nan_to_num(c.amount[ev], nan=0.0), qty=c.qty[ev],
        product=product, category=np.where(np.isnan(cat), -1, cat).astype(np.int64),
        etype=c.kind[ev], category_names=np.array([], dtype=object),
        product_ids=product_ids.astype(str))
    needs = None
    if is_need.any():
        needs = NeedArrays.from_columns(np.zeros(int(is_need.sum()), np.int64), c.t_ns[is_need],
                                        c.text[is_need], c.need_category[is_need], catalogue)
    return events, needs


# --- the whole shop (or one customer) as frames ------------------------------------------------


def load_events_from_db(engine, *, customer_id=None, until=None) -> pd.DataFrame:
    """Purchases (order lines of non-cancelled orders) and behaviour events from the shop DB,
    as an events frame.

    Filters are pushed down to the database: ``customer_id`` limits to one shopper,
    ``until`` keeps events strictly before that time.
    """
    values, cid, until_p = _filters(customer_id, until)
    when = _time(engine)
    stmt = union_all(_order_lines(when, cid, until_p), _behaviour(when, cid, until_p))
    rows = _Compiled(engine, stmt).fetch(**values)
    return _events_frame(_Columns(rows), _category_slugs(engine))


def load_needs_from_db(engine, *, customer_id=None, until=None) -> pd.DataFrame | None:
    """The captured needs log, or None when the DB has no ``needs`` table (features become 0)."""
    table = _needs_table(engine)
    if table is None:
        return None
    values, cid, until_p = _filters(customer_id, until)
    c = _Columns(_Compiled(engine, _needs(table, _time(engine), cid, until_p)).fetch(**values))
    df = pd.DataFrame({"customer_id": c.customer.astype(str).astype(object),
                       "created_at": c.t_ns.view("datetime64[ns]"),
                       "status": c.text, "category": c.need_category})
    return df[list(NEEDS_COLUMNS)]


def load_catalogue_categories(engine) -> set[str]:
    """Slugs and names of the catalogue's categories (lower case)."""
    with engine.connect() as conn:
        rows = conn.execute(select(Category.slug, Category.name)).fetchall()
    return {str(v).lower() for row in rows for v in row if v}


def _category_slugs(engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {int(i): s for i, s in conn.execute(select(Category.id, Category.slug))}


# --- one customer, for serving -----------------------------------------------------------------


class HistoryQueries:
    """The serving statements of one engine, built and compiled once (the needs table is
    looked up and the catalogue's categories read then too).

    ``customer(id, now)``: one statement for one customer's order lines, behaviour events and,
    when the table exists, captured needs; ``product_stats(now)``: one aggregate query for the
    shop-wide buyers of every product."""

    def __init__(self, engine):
        when = _time(engine)
        cid, until = bindparam("cid"), bindparam("until")
        parts = [_order_lines(when, cid, until),
                 _recent_behaviour(when, cid, until, bindparam("behaviour_from"))]
        needs = _needs_table(engine)
        if needs is not None:
            parts.append(_needs(needs, when, cid, until))
        self._history = _Compiled(engine, union_all(*parts))
        self._buyers = _Compiled(engine, _product_buyers())
        self.catalogue = frozenset(load_catalogue_categories(engine))

    def customer(self, customer_id: int, now: dt.datetime
                 ) -> tuple[EventArrays, NeedArrays | None]:
        """One customer's events and needs strictly before ``now``."""
        rows = self._history.fetch(cid=int(customer_id), until=now,
                                   behaviour_from=now - BEHAVIOUR_RECENT)
        return _one_customer(_Columns(rows), int(customer_id), self.catalogue)

    def product_stats(self, now: dt.datetime) -> ProductStats:
        """Shop-wide distinct buyers per product at ``now``, from orders strictly before it."""
        rows = self._buyers.fetch(
            until=now, recent_from=now - dt.timedelta(days=PRODUCT_RECENT_DAYS),
            before_from=now - dt.timedelta(days=PRODUCT_BEFORE_DAYS))
        return ProductStats(pd.Index([str(int(r[0])) for r in rows]),
                            np.array([r[1] for r in rows], dtype=float),
                            np.array([r[2] for r in rows], dtype=float),
                            int(np.datetime64(now, "ns").view(np.int64)))
