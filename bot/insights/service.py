"""The insights views over the logged needs: volume, top values, unmet demand with its expected
value, themes, and the needs behind any number. Aggregation runs in SQL over the daily rollup
(``need_daily``) and the facets (``need_facets``) that :mod:`bot.insights.facets` keeps current;
every function takes the process's :class:`~bot.services.Services` and keyword filters, checks
them (:mod:`bot.insights.filters`, :class:`InsightsError` on bad input) and returns a frozen
dataclass with ``as_dict()`` (JSON) and ``csv_rows()`` (:mod:`bot.insights.export`).

Counting rules. A need counts on the UTC day it was stated (``created_at``). ``unmet`` is every
``unmet:<reason>`` status (and a bare ``unmet`` of an old row, reason ``other``); ``pending``
(waiting for the shopper's answer) is never unmet but is part of the volume; a later purchase
(``converted_at``) changes nothing here. Shares are unmet / all needs of the row.

**Expected value** of an unmet row (:func:`unmet`) is the sum, over the shoppers who asked, of
purchase propensity x price:

- price: the price the shopper stated (``price_max``, else ``price_min``), else the median
  price of the active catalogue products of the need's category (its own products and those of
  its sub-categories); a need with neither counts 0. Prices are taken as stated, in the shop's
  currency (the demo shop has one).
- propensity: the shopper's score stored on the need when it was captured (signed-in shoppers
  whom the model scored). Anonymous shoppers and unscored ones get the **default propensity**:
  the mean score of the scored needs in the same period and category filter (the best guess for
  "a shopper who asks for things here", with no information on this one); when nobody in the
  period was scored, :data:`FALLBACK_PROPENSITY`. Each result says which was used.
- one per shopper per row: a signed-in shopper who asked several times for the same row counts
  once, with the largest propensity x price among those needs. An anonymous shopper cannot be
  recognised across conversations, so each of their needs counts (a need restated within one
  conversation is already one record).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import TYPE_CHECKING, Mapping

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from bot.insights import filters
from bot.insights.facets import ALL_VALUE, NO_CATEGORY, UNMET_REASON_COLUMNS, normalise
from bot.insights.filters import UNMET_REASONS, InsightsError, Period
from bot.store.models import Category, Need, NeedDaily, NeedFacet, Product

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from bot.services import Services

FALLBACK_PROPENSITY = 0.1  # used only when no need in the period has a propensity score
DEFAULT_LIMIT = 20
MAX_EXAMPLES = 10
_REASON_COLUMNS = (*UNMET_REASON_COLUMNS, "unmet_other")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _category_out(value: str) -> str | None:
    return None if value == NO_CATEGORY else value


# --- results ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VolumePoint:
    start: date  # first day of the bucket (Monday for weeks, the 1st for months)
    category: str | None  # None: every category together
    needs: int
    unmet: int
    pending: int

    @property
    def share_unmet(self) -> float | None:
        return _share(self.unmet, self.needs)

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "category": self.category, "needs": self.needs,
                "unmet": self.unmet, "pending": self.pending, "share_unmet": self.share_unmet}


@dataclass(frozen=True)
class VolumeReport:
    period: Period
    category: str | None
    bucket: str
    totals: tuple[VolumePoint, ...]  # every bucket of the period, zeros included
    by_category: tuple[VolumePoint, ...]  # (bucket, category) pairs that have needs
    csv_columns = ("start", "category", "needs", "unmet", "pending", "share_unmet")

    def as_dict(self) -> dict:
        return {**self.period.as_dict(), "category": self.category, "bucket": self.bucket,
                "totals": [p.as_dict() for p in self.totals],
                "by_category": [p.as_dict() for p in self.by_category]}

    def csv_rows(self) -> list[dict]:
        rows = [{**p.as_dict(), "category": "(all)"} for p in self.totals]
        return rows + [{**p.as_dict(), "category": p.category or "(none)"}
                       for p in self.by_category]


@dataclass(frozen=True)
class TopRow:
    value: str
    needs: int
    unmet: int

    @property
    def share_unmet(self) -> float | None:
        return _share(self.unmet, self.needs)

    def as_dict(self) -> dict:
        return {"value": self.value, "needs": self.needs, "unmet": self.unmet,
                "share_unmet": self.share_unmet}


@dataclass(frozen=True)
class TopReport:
    period: Period
    category: str | None
    field: str
    total_needs: int  # all needs of the period (and category), with or without this field
    rows: tuple[TopRow, ...]
    csv_columns = ("value", "needs", "unmet", "share_unmet")

    def as_dict(self) -> dict:
        return {**self.period.as_dict(), "category": self.category, "field": self.field,
                "total_needs": self.total_needs, "rows": [r.as_dict() for r in self.rows]}

    def csv_rows(self) -> list[dict]:
        return [r.as_dict() for r in self.rows]


@dataclass(frozen=True)
class UnmetRow:
    value: str
    unmet: int  # unmet needs
    needs: int  # all needs of this value (matched, pending, unmet)
    shoppers: int  # distinct signed-in shoppers + anonymous unmet needs
    expected_value: float  # in the shop's currency (module docstring)
    reasons: Mapping[str, int]  # every UNMET_REASONS key
    examples: tuple[str, ...]  # latest redacted messages

    @property
    def share_unmet(self) -> float | None:
        return _share(self.unmet, self.needs)

    def as_dict(self) -> dict:
        return {"value": self.value, "unmet": self.unmet, "needs": self.needs,
                "share_unmet": self.share_unmet, "shoppers": self.shoppers,
                "expected_value": self.expected_value, "reasons": dict(self.reasons),
                "examples": list(self.examples)}


@dataclass(frozen=True)
class UnmetReport:
    period: Period
    category: str | None
    by: str
    order: str  # "volume" | "value"
    currency: str
    default_propensity: float
    default_propensity_source: str  # "mean of N scored needs" | "fallback"
    rows: tuple[UnmetRow, ...]
    csv_columns = ("value", "unmet", "needs", "share_unmet", "shoppers", "expected_value",
                   *(f"reason_{r}" for r in UNMET_REASONS), "examples")

    def as_dict(self) -> dict:
        return {**self.period.as_dict(), "category": self.category, "by": self.by,
                "order": self.order, "currency": self.currency,
                "default_propensity": self.default_propensity,
                "default_propensity_source": self.default_propensity_source,
                "rows": [r.as_dict() for r in self.rows]}

    def csv_rows(self) -> list[dict]:
        out = []
        for row in self.rows:
            data = row.as_dict()
            reasons = data.pop("reasons")
            data.update({f"reason_{r}": reasons[r] for r in UNMET_REASONS})
            data["examples"] = " | ".join(row.examples)
            out.append(data)
        return out


@dataclass(frozen=True)
class ThemeRow:
    label: str
    needs: int
    unmet: int
    examples: tuple[str, ...]

    @property
    def share_unmet(self) -> float | None:
        return _share(self.unmet, self.needs)

    def as_dict(self) -> dict:
        return {"label": self.label, "needs": self.needs, "unmet": self.unmet,
                "share_unmet": self.share_unmet, "examples": list(self.examples)}


@dataclass(frozen=True)
class ThemeReport:
    period: Period
    category: str | None
    rows: tuple[ThemeRow, ...]
    csv_columns = ("label", "needs", "unmet", "share_unmet", "examples")

    def as_dict(self) -> dict:
        return {**self.period.as_dict(), "category": self.category,
                "rows": [r.as_dict() for r in self.rows]}

    def csv_rows(self) -> list[dict]:
        return [{**r.as_dict(), "examples": " | ".join(r.examples)} for r in self.rows]


@dataclass(frozen=True)
class NeedItem:
    """One logged need as the drill-down shows it (no customer id: only whether signed in)."""

    id: int
    created_at: datetime
    text: str  # the shopper's message, redacted when stored
    product: str | None
    category: str | None
    attributes: tuple[str, ...]
    colour: tuple[str, ...]
    size: tuple[str, ...]
    brand: str | None
    price_min: float | None
    price_max: float | None
    currency: str | None
    recipient: str | None
    occasion: str | None
    status: str
    signed_in: bool
    propensity: float | None
    converted: bool  # a later purchase fulfilled it (never changes the status)
    is_demo: bool

    def as_dict(self) -> dict:
        return {"id": self.id, "created_at": self.created_at.isoformat(), "text": self.text,
                "product": self.product, "category": self.category,
                "attributes": list(self.attributes), "colour": list(self.colour),
                "size": list(self.size), "brand": self.brand, "price_min": self.price_min,
                "price_max": self.price_max, "currency": self.currency,
                "recipient": self.recipient, "occasion": self.occasion, "status": self.status,
                "signed_in": self.signed_in, "propensity": self.propensity,
                "converted": self.converted, "is_demo": self.is_demo}


@dataclass(frozen=True)
class NeedPage:
    period: Period
    filters: Mapping[str, str | None]  # field, value, category, status
    total: int
    page: int
    per_page: int
    items: tuple[NeedItem, ...]
    csv_columns = ("id", "created_at", "text", "product", "category", "attributes", "colour",
                   "size", "brand", "price_min", "price_max", "currency", "recipient",
                   "occasion", "status", "signed_in", "propensity", "converted", "is_demo")

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def as_dict(self) -> dict:
        return {**self.period.as_dict(), "filters": dict(self.filters), "total": self.total,
                "page": self.page, "per_page": self.per_page, "pages": self.pages,
                "items": [i.as_dict() for i in self.items]}

    def csv_rows(self) -> list[dict]:
        rows = []
        for item in self.items:
            data = item.as_dict()
            for key in ("attributes", "colour", "size"):
                data[key] = "; ".join(data[key])
            rows.append(data)
        return rows


# --- shared query parts ---------------------------------------------------------------------------

def _today(services: "Services") -> date:
    return services.now().date()


def _daily_where(field: str, period: Period, category: str | None) -> list:
    where = [NeedDaily.field == field, NeedDaily.day >= period.since,
             NeedDaily.day <= period.until]
    if category is not None:
        where.append(NeedDaily.category == category)
    return where


def _facet_where(field: str, value: str, period: Period, category: str | None) -> list:
    where = [NeedFacet.field == field, NeedFacet.value == value,
             NeedFacet.day >= period.since, NeedFacet.day <= period.until]
    if category is not None:
        where.append(NeedFacet.category == category)
    return where


def _examples(session: Session, field: str, value: str, period: Period, category: str | None,
              count: int, *, unmet_only: bool = False) -> tuple[str, ...]:
    """The latest ``count`` distinct messages behind one value (stored redacted)."""
    if count <= 0:
        return ()
    where = _facet_where(field, value, period, category)
    if unmet_only:
        where.append(NeedFacet.unmet.is_(True))
    rows = session.execute(
        select(Need.text).join(NeedFacet, NeedFacet.need_id == Need.id).where(*where)
        .order_by(NeedFacet.day.desc(), NeedFacet.need_id.desc()).limit(count * 3)).scalars()
    out: list[str] = []
    for text in rows:
        if text and text not in out:
            out.append(text)
        if len(out) == count:
            break
    return tuple(out)


def examples(services: "Services", field: str, value: str, *, since=None, until=None,
             category=None, count: int = 3, unmet_only: bool = False) -> tuple[str, ...]:
    """The latest ``count`` messages (redacted) behind ``value`` of ``field``."""
    field = filters.field(field)
    count = filters.whole(count, "count", low=0, high=MAX_EXAMPLES)
    with services.unit_of_work() as session:
        span = filters.period(since, until, _today(services))
        cat = filters.category(session, category)
        return _examples(session, field, normalise(value), span, cat, count,
                         unmet_only=unmet_only)


def categories(services: "Services") -> list[str]:
    """The category slugs a filter may name (for the pages' choice lists)."""
    with services.unit_of_work() as session:
        return filters.known_categories(session)


# --- volume -------------------------------------------------------------------------------------

def bucket_start(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def _bucket_starts(period: Period, bucket: str) -> list[date]:
    starts, day = [], bucket_start(period.since, bucket)
    while day <= period.until:
        starts.append(day)
        day = (day + timedelta(days=32)).replace(day=1) if bucket == "month" else \
            day + timedelta(days=7 if bucket == "week" else 1)
    return starts


def volume(services: "Services", *, since=None, until=None, category=None,
           bucket: str = "week") -> VolumeReport:
    """Needs per day, week or month, in total and per category, with how many were unmet.

    Buckets are whole calendar weeks (Monday first) and months; the first and last may be cut
    by the period (only the period's days are counted). SQL sums the rollup per day and
    category (at most a few thousand rows); the days are gathered into buckets here."""
    bucket = filters.bucket(bucket)
    with services.unit_of_work() as session:
        span = filters.period(since, until, _today(services))
        cat = filters.category(session, category)
        rows = session.execute(
            select(NeedDaily.day, NeedDaily.category, func.sum(NeedDaily.needs),
                   func.sum(NeedDaily.unmet), func.sum(NeedDaily.pending))
            .where(*_daily_where("all", span, cat))
            .group_by(NeedDaily.day, NeedDaily.category)).all()
    totals: dict[date, list[int]] = {d: [0, 0, 0] for d in _bucket_starts(span, bucket)}
    per_cat: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, slug, needs, unmet, pending in rows:
        start = bucket_start(day, bucket)
        for target in (totals.setdefault(start, [0, 0, 0]), per_cat[(start, slug)]):
            target[0] += int(needs)
            target[1] += int(unmet)
            target[2] += int(pending)
    return VolumeReport(
        span, cat, bucket,
        tuple(VolumePoint(start, None, *totals[start]) for start in sorted(totals)),
        tuple(VolumePoint(start, _category_out(slug), *counts)
              for (start, slug), counts in sorted(per_cat.items())))


# --- top values ---------------------------------------------------------------------------------

def _total_needs(session: Session, span: Period, cat: str | None) -> int:
    return int(session.execute(select(func.coalesce(func.sum(NeedDaily.needs), 0))
                               .where(*_daily_where("all", span, cat))).scalar_one())


def top(services: "Services", field: str, *, since=None, until=None, category=None,
        limit: int = DEFAULT_LIMIT) -> TopReport:
    """The most requested values of ``field`` (one of :data:`filters.FIELDS`), most needs first;
    a need with several values (attributes, colours, sizes) counts for each."""
    field = filters.field(field)
    limit = filters.whole(limit, "limit")
    with services.unit_of_work() as session:
        span = filters.period(since, until, _today(services))
        cat = filters.category(session, category)
        needs = func.sum(NeedDaily.needs).label("needs")
        rows = session.execute(
            select(NeedDaily.value, needs, func.sum(NeedDaily.unmet))
            .where(*_daily_where(field, span, cat)).group_by(NeedDaily.value)
            .order_by(needs.desc(), NeedDaily.value).limit(limit)).all()
        total = _total_needs(session, span, cat)
    return TopReport(span, cat, field, total,
                     tuple(TopRow(value, int(n), int(u)) for value, n, u in rows))


# --- unmet demand and its expected value --------------------------------------------------------

def category_median_cents(session: Session) -> dict[str, int]:
    """Median price (in cents) of the active products of each category slug, a category's
    products counting for its parent too."""
    parent = {cid: pid for cid, pid in session.execute(select(Category.id, Category.parent_id))}
    slug = dict(session.execute(select(Category.id, Category.slug)).all())
    prices: dict[str, list[float]] = defaultdict(list)
    for category_id, price in session.execute(
            select(Product.category_id, Product.price).where(Product.active.is_(True))):
        seen, cid = set(), category_id
        while cid is not None and cid not in seen:
            seen.add(cid)
            prices[slug[cid]].append(float(price))
            cid = parent.get(cid)
    return {s: int(round(median(values) * 100)) for s, values in prices.items() if values}


def _shop_currency(session: Session) -> str:
    row = session.execute(select(Product.currency, func.count()).group_by(Product.currency)
                          .order_by(func.count().desc()).limit(1)).first()
    return row[0] if row else "GBP"


def default_propensity(session: Session, span: Period, cat: str | None) -> tuple[float, str]:
    """Mean propensity of the period's scored needs, else :data:`FALLBACK_PROPENSITY`."""
    scored, micros = session.execute(
        select(func.coalesce(func.sum(NeedDaily.scored), 0),
               func.coalesce(func.sum(NeedDaily.scored_micros), 0))
        .where(*_daily_where("all", span, cat))).one()
    if not scored:
        return FALLBACK_PROPENSITY, "fallback"
    return round(int(micros) / int(scored) / 1_000_000, 6), f"mean of {int(scored)} scored needs"


def _median_case(column, medians: Mapping[str, int]):
    if not medians:
        return literal(0)
    return case(*[(column == slug, cents) for slug, cents in sorted(medians.items())],
                else_=0)


def _signed_values(session: Session, field: str, span: Period, cat: str | None,
                   propensity: float, medians: Mapping[str, int]) -> dict[str, tuple[int, float]]:
    """Per value: distinct signed-in shoppers with an unmet need, and the sum over them of their
    largest propensity x price (currency units)."""
    f = NeedFacet
    price = func.coalesce(f.price_cents, _median_case(f.category, medians))
    weight = func.coalesce(f.propensity_micros, int(round(propensity * 1_000_000)))
    where = [f.field == field, f.unmet.is_(True), f.day >= span.since, f.day <= span.until,
             f.customer_id.isnot(None)]
    if cat is not None:
        where.append(f.category == cat)
    per_shopper = (select(f.value.label("value"), f.customer_id.label("customer_id"),
                          func.max(weight * 1.0 * price).label("best"))
                   .where(*where).group_by(f.value, f.customer_id).subquery())
    rows = session.execute(select(per_shopper.c.value, func.count(),
                                  func.sum(per_shopper.c.best))
                           .group_by(per_shopper.c.value)).all()
    return {value: (int(n), float(best or 0) / 100_000_000) for value, n, best in rows}


def unmet(services: "Services", *, by: str = "product", since=None, until=None, category=None,
          order: str = "volume", limit: int = DEFAULT_LIMIT,
          examples_per_row: int = 3) -> UnmetReport:
    """Unmet demand by ``by`` (product, category, attribute or any of :data:`filters.FIELDS`),
    ranked by unmet needs (``order="volume"``) or by expected value (``order="value"``), each
    row with its reasons and up to ``examples_per_row`` example messages. The expected value and
    the default propensity are explained in the module docstring."""
    by = filters.field(by)
    if order not in ("volume", "value"):
        raise InsightsError("order must be volume or value")
    limit = filters.whole(limit, "limit")
    examples_per_row = filters.whole(examples_per_row, "examples", low=0, high=MAX_EXAMPLES)
    with services.unit_of_work() as session:
        span = filters.period(since, until, _today(services))
        cat = filters.category(session, category)
        propensity, source = default_propensity(session, span, cat)
        medians = category_median_cents(session)
        d = NeedDaily
        rows = session.execute(
            select(d.value, d.category, func.sum(d.needs), func.sum(d.unmet),
                   *[func.sum(getattr(d, c)) for c in _REASON_COLUMNS],
                   func.sum(d.anon_unmet_priced), func.sum(d.anon_unmet_cents),
                   func.sum(d.anon_unmet_unpriced))
            .where(*_daily_where(by, span, cat)).group_by(d.value, d.category)).all()
        signed = _signed_values(session, by, span, cat, propensity, medians)
        found: dict[str, dict] = {}
        for value, slug, needs, unmet_count, *rest in rows:
            reasons, (priced, cents, unpriced) = rest[:len(_REASON_COLUMNS)], \
                rest[len(_REASON_COLUMNS):]
            row = found.setdefault(value, {"needs": 0, "unmet": 0, "anon": 0, "anon_cents": 0,
                                           "reasons": dict.fromkeys(UNMET_REASONS, 0)})
            row["needs"] += int(needs)
            row["unmet"] += int(unmet_count)
            row["anon"] += int(priced) + int(unpriced)
            row["anon_cents"] += int(cents) + int(unpriced) * medians.get(slug, 0)
            for reason, count in zip(UNMET_REASONS, reasons):
                row["reasons"][reason] += int(count)
        scored = []
        for value, row in found.items():
            if not row["unmet"]:
                continue
            shoppers, signed_value = signed.get(value, (0, 0.0))
            worth = propensity * row["anon_cents"] / 100 + signed_value
            scored.append((value, row, row["anon"] + shoppers, round(worth, 2)))
        if order == "value":
            scored.sort(key=lambda r: (-r[3], -r[1]["unmet"], r[0]))
        else:
            scored.sort(key=lambda r: (-r[1]["unmet"], -r[3], r[0]))
        out = tuple(
            UnmetRow(value, row["unmet"], row["needs"], shoppers, worth, row["reasons"],
                     _examples(session, by, value, span, cat, examples_per_row, unmet_only=True))
            for value, row, shoppers, worth in scored[:limit])
        currency = _shop_currency(session)
    return UnmetReport(span, cat, by, order, currency, propensity, source, out)


# --- themes -------------------------------------------------------------------------------------

def themes(services: "Services", *, since=None, until=None, category=None,
           limit: int = DEFAULT_LIMIT, with_attributes: bool = False,
           examples_per_row: int = 3) -> ThemeReport:
    """The most requested themes (:func:`bot.insights.facets.theme_label`: a product with the
    set of attributes asked with it), most needs first; ``with_attributes`` leaves out themes
    that are a bare product."""
    limit = filters.whole(limit, "limit")
    examples_per_row = filters.whole(examples_per_row, "examples", low=0, high=MAX_EXAMPLES)
    with services.unit_of_work() as session:
        span = filters.period(since, until, _today(services))
        cat = filters.category(session, category)
        where = _daily_where("theme", span, cat)
        if with_attributes:
            where.append(NeedDaily.value.like("% + %"))
        needs = func.sum(NeedDaily.needs).label("needs")
        rows = session.execute(select(NeedDaily.value, needs, func.sum(NeedDaily.unmet))
                               .where(*where).group_by(NeedDaily.value)
                               .order_by(needs.desc(), NeedDaily.value).limit(limit)).all()
        out = tuple(ThemeRow(label, int(n), int(u),
                             _examples(session, "theme", label, span, cat, examples_per_row))
                    for label, n, u in rows)
    return ThemeReport(span, cat, out)


# --- drill-down ---------------------------------------------------------------------------------

def _json_list(raw) -> tuple[str, ...]:
    try:
        value = json.loads(raw or "[]")
    except (TypeError, ValueError):
        return ()
    if not isinstance(value, list):
        value = [] if value in (None, "") else [value]
    return tuple(str(v) for v in value)


def _float(value) -> float | None:
    return None if value is None else float(value)


def drilldown(services: "Services", *, field: str | None = None, value: str | None = None,
              category=None, status: str | None = None, since=None, until=None,
              page: int = 1, per_page: int = 50) -> NeedPage:
    """The needs behind a number, newest first: those with ``value`` for ``field`` (or all needs
    when no field is given), of ``category``, with ``status`` (``matched``, ``pending``,
    ``unmet`` for every reason, or one ``unmet:<reason>``), stated in the period; paged."""
    if field in (None, ""):
        if value not in (None, ""):
            raise InsightsError("a value needs a field")
        field_name, wanted = "all", ALL_VALUE
    else:
        field_name = filters.field(field)
        wanted = normalise(value) if value not in (None, "") else ""
        if not wanted:
            raise InsightsError(f"say which {field_name} to list")
    wanted_status = filters.status(status)
    page = filters.whole(page, "page", high=1_000_000)
    per_page = filters.whole(per_page, "per_page")
    with services.unit_of_work() as session:
        span = filters.period(since, until, _today(services))
        cat = filters.category(session, category)
        where = _facet_where(field_name, wanted, span, cat)
        if wanted_status == "unmet":
            where.append(NeedFacet.unmet.is_(True))
        elif wanted_status is not None:
            where.append(NeedFacet.status == wanted_status)
        total = int(session.execute(select(func.count()).select_from(NeedFacet)
                                    .where(*where)).scalar_one())
        rows = session.execute(
            select(Need).join(NeedFacet, NeedFacet.need_id == Need.id).where(*where)
            .order_by(NeedFacet.day.desc(), NeedFacet.need_id.desc())
            .limit(per_page).offset((page - 1) * per_page)).scalars().all()
        items = tuple(NeedItem(
            id=n.id, created_at=n.created_at, text=n.text or "", product=n.product,
            category=n.category, attributes=_json_list(n.attributes),
            colour=_json_list(n.colour), size=_json_list(n.size), brand=n.brand,
            price_min=_float(n.price_min), price_max=_float(n.price_max), currency=n.currency,
            recipient=n.recipient, occasion=n.occasion, status=n.status,
            signed_in=n.customer_id is not None, propensity=n.propensity_probability,
            converted=n.converted_at is not None, is_demo=bool(n.is_demo)) for n in rows)
    return NeedPage(span, {"field": None if field_name == "all" else field_name,
                           "value": None if field_name == "all" else wanted,
                           "category": cat, "status": wanted_status},
                    total, page, per_page, items)
