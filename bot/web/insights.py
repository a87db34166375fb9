"""The product team's pages: ``/insights/`` over :mod:`bot.insights` (analysts and leads).

Pages (GET, every filter a query parameter, so any view can be bookmarked and shared):

- ``/insights/`` overview: needs per day/week/month by category with the share unmet;
- ``/insights/top``: the most requested values of a field (product, attribute, colour, size,
  brand, price band, recipient, occasion, category, theme);
- ``/insights/unmet``: unmet demand ranked by volume or by expected value, with reasons and
  example messages;
- ``/insights/themes`` and ``/insights/emerging``: themes, and those that grew beyond chance;
- ``/insights/needs``: the needs behind any number (every figure on the other pages links here
  with its filters), paged.

Each view is also ``/insights/<view>.csv`` (formula-safe, :func:`bot.insights.to_csv`) and
``/insights/<view>.json`` (:func:`bot.insights.to_json`) with the same parameters; the overview
is ``overview.csv``/``overview.json``. Charts are drawn by ``/console/static/insights.js``
(Chart.js from npm, served by :mod:`bot.web.console_review`) from the tables on the page, so
every figure is readable without JavaScript and the page needs no inline script (the CSP allows
none).

Bad filters (a malformed or future date, an inverted range, an unknown category or field,
control characters) give the page with a polite message and status 400 (JSON: ``{"error"}``;
CSV: a plain-text 400); the figures come from the service only. Roles are checked once, in
:data:`INSIGHTS_ROLES` (every role with the ``insights`` permission).
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

from aiohttp import web

from bot import insights
from bot.insights.emerging import DEFAULT_MIN_RECENT
from bot.staff import accounts
from bot.store.errors import StoreUnavailable
from bot.web.console_review import CONSOLE_ASSETS
from bot.web.keys import SERVICES, TEMPLATES
from bot.web.staff import STAFF, csrf_token, require_staff

log = logging.getLogger(__name__)

INSIGHTS_ROLES = tuple(role for role in accounts.ROLES if accounts.can(role, "insights"))
OVERVIEW_DAYS = 364  # the overview's default period: a year (52 whole weeks) up to today
CHART_CATEGORIES = 8  # the overview chart's stacks: the busiest categories, then "other"
TOP_FIELDS = ("product", "attribute", "colour", "size", "brand", "price_band", "recipient",
              "occasion", "category", "theme")
UNMET_BY = ("product", "category", "attribute", "brand", "colour", "size", "price_band")
FIELD_LABELS = MappingProxyType({
    "product": "products", "attribute": "attributes", "colour": "colours", "size": "sizes",
    "brand": "brands", "price_band": "price bands", "recipient": "recipients",
    "occasion": "occasions", "category": "categories", "theme": "themes"})
REASON_LABELS = MappingProxyType({
    "not_stocked": "not stocked", "out_of_stock": "out of stock",
    "over_budget": "over budget", "size_or_colour": "size or colour", "other": "other"})
STATUS_LABELS = MappingProxyType({
    "matched": "matched", "pending": "pending", "unmet": "unmet (any reason)",
    **{f"unmet:{r}": f"unmet: {label}" for r, label in REASON_LABELS.items() if r != "other"}})
MAX_PARAM_CHARS = 200
UNAVAILABLE = "The shop database cannot be read right now; try again in a moment."
PER_PAGE = 50


class BadFilter(insights.InsightsError):
    """A query parameter the page refuses before asking the service."""


# --- helpers ----------------------------------------------------------------------------------

async def _run(fn: Callable, *args, **kwargs) -> Any:
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs))


def _params(request: web.Request) -> dict[str, str]:
    """The query's parameters (first value of each), refused when one is absurd: too long or
    with control characters (a NUL would reach the database driver)."""
    out: dict[str, str] = {}
    for key, value in request.query.items():
        if key in out:
            continue
        if len(value) > MAX_PARAM_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in value):
            name = key[:30] if key.isprintable() else "a"
            raise BadFilter(f"the {name} filter is not valid")
        out[key] = value.strip()
    return out


def _today(request: web.Request) -> date:
    return request.app[SERVICES].now().date()


def _query(**values: Any) -> str:
    """A query string of the values that are set, in a stable order."""
    return urlencode([(k, v) for k, v in values.items() if v not in (None, "", False)])


def needs_link(**filters: Any) -> str:
    """The drill-down page for these filters (field, value, category, status, since, until)."""
    return "/insights/needs?" + _query(**filters)


def _money(value: float | None, currency: str) -> str:
    if value is None:
        return "–"
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency, currency + " ")
    return f"{symbol}{value:,.2f}"


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f}%"


@dataclass(frozen=True)
class View:
    """One insights view: its filters (with their defaults filled in) and the service call."""

    name: str
    template: str
    title: str
    form: Callable[[Mapping[str, str], date], dict]  # (query, today) -> filters, as text
    compute: Callable[[Any, Mapping[str, str]], Any]  # (services, filters) -> report


def _period_form(params: Mapping[str, str], today: date, days: int) -> dict:
    return {"since": params.get("since") or (today - timedelta(days=days - 1)).isoformat(),
            "until": params.get("until") or today.isoformat(),
            "category": params.get("category", "")}


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise BadFilter(f"unknown {name} {value[:40]!r}: use one of {', '.join(allowed)}")
    return value


def _overview_form(params, today):
    return {**_period_form(params, today, OVERVIEW_DAYS),
            "bucket": params.get("bucket") or "week"}


def _overview(services, f):
    return insights.volume(services, since=f["since"], until=f["until"],
                           category=f["category"] or None, bucket=f["bucket"])


def _top_form(params, today):
    return {**_period_form(params, today, insights.filters.DEFAULT_DAYS),
            "field": params.get("field") or "product", "limit": params.get("limit") or "20"}


def _top(services, f):
    return insights.top(services, _choice(f["field"], TOP_FIELDS, "field"), since=f["since"],
                        until=f["until"], category=f["category"] or None, limit=f["limit"])


def _unmet_form(params, today):
    return {**_period_form(params, today, insights.filters.DEFAULT_DAYS),
            "by": params.get("by") or "product", "order": params.get("order") or "value",
            "limit": params.get("limit") or "20"}


def _unmet(services, f):
    return insights.unmet(services, by=_choice(f["by"], UNMET_BY, "field"),
                          order=_choice(f["order"], ("value", "volume"), "order"),
                          since=f["since"], until=f["until"], category=f["category"] or None,
                          limit=f["limit"])


def _themes_form(params, today):
    return {**_period_form(params, today, insights.filters.DEFAULT_DAYS),
            "limit": params.get("limit") or "20",
            "with_attributes": params.get("with_attributes", "")}


def _themes(services, f):
    flag = f["with_attributes"]
    if flag not in ("", "0", "1"):
        raise BadFilter("with_attributes is 1 (only themes with attributes) or left out")
    return insights.themes(services, since=f["since"], until=f["until"],
                           category=f["category"] or None, limit=f["limit"],
                           with_attributes=flag == "1")


def _emerging_form(params, today):
    return {"as_of": params.get("as_of") or today.isoformat(),
            "weeks": params.get("weeks") or "4",
            "category": params.get("category", "")}


def _emerging(services, f):
    return insights.emerging(services, as_of=f["as_of"], weeks=f["weeks"],
                             category=f["category"] or None)


def _needs_form(params, today):
    return {**_period_form(params, today, insights.filters.DEFAULT_DAYS),
            "field": params.get("field", ""), "value": params.get("value", ""),
            "status": params.get("status", ""), "page": params.get("page") or "1",
            "per_page": params.get("per_page") or str(PER_PAGE)}


def _needs(services, f):
    return insights.drilldown(services, field=f["field"] or None, value=f["value"] or None,
                              category=f["category"] or None, status=f["status"] or None,
                              since=f["since"], until=f["until"], page=f["page"],
                              per_page=f["per_page"])


VIEWS = MappingProxyType({v.name: v for v in (
    View("overview", "insights_overview.html", "Overview", _overview_form, _overview),
    View("top", "insights_top.html", "Top requested", _top_form, _top),
    View("unmet", "insights_unmet.html", "Unmet demand", _unmet_form, _unmet),
    View("themes", "insights_themes.html", "Themes", _themes_form, _themes),
    View("emerging", "insights_emerging.html", "Emerging themes", _emerging_form, _emerging),
    View("needs", "insights_needs.html", "Needs", _needs_form, _needs),
)})
PAGE_PATHS = MappingProxyType({"overview": "/insights/", **{
    name: f"/insights/{name}" for name in VIEWS if name != "overview"}})


def setup(app: web.Application) -> None:
    """The insights routes (their scripts and styles are the console's static files)."""
    r = app.router
    r.add_get("/insights", lambda request: _redirect("/insights/"))
    for name, path in PAGE_PATHS.items():
        r.add_get(path, page_handler(name), name=f"insights_{name}")
        r.add_get(f"/insights/{name}.json", json_handler(name), name=f"insights_{name}_json")
        r.add_get(f"/insights/{name}.csv", csv_handler(name), name=f"insights_{name}_csv")


def _redirect(path: str):
    raise web.HTTPMovedPermanently(path)


async def _compute(request: web.Request, view: View) -> tuple[Any, dict]:
    """(report, filters) of ``view`` for this request. Raises InsightsError, StoreUnavailable."""
    form = view.form(_params(request), _today(request))
    return await _run(view.compute, request.app[SERVICES], form), form


def _shown_form(request: web.Request, view: View) -> dict:
    """The filters as the form shows them again after an error: short printable values only."""
    params = {k: v for k, v in request.query.items()
              if len(v) <= MAX_PARAM_CHARS and v.isprintable()}
    return view.form(params, _today(request))


def page_handler(name: str):
    view = VIEWS[name]

    @require_staff(*INSIGHTS_ROLES)
    async def handler(request: web.Request) -> web.Response:
        status, error, report, form = 200, "", None, None
        try:
            report, form = await _compute(request, view)
        except insights.InsightsError as err:
            status, error = 400, str(err)
        except StoreUnavailable:
            status, error = 503, UNAVAILABLE
        try:
            categories = await _run(insights.categories, request.app[SERVICES])
        except StoreUnavailable:
            categories = []
        context = {
            "view": name, "title": view.title, "error": error, "report": report,
            "form": form if form is not None else _shown_form(request, view),
            "categories": categories, "query": _query(**form) if form is not None else "",
            "paths": PAGE_PATHS,
            "page_query": lambda number: _query(**{**(form or {}), "page": number}),
        }
        return await _render(request, view.template, context, status=status)

    handler.__name__ = f"insights_{name}_page"
    return handler


def _json_error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status,
                             headers={"Cache-Control": "no-store"})


def json_handler(name: str):
    view = VIEWS[name]

    @require_staff(*INSIGHTS_ROLES)
    async def handler(request: web.Request) -> web.Response:
        try:
            report, _form = await _compute(request, view)
        except insights.InsightsError as err:
            return _json_error(str(err), 400)
        except StoreUnavailable:
            return _json_error(UNAVAILABLE, 503)
        return web.json_response(insights.to_json(report),
                                 dumps=functools.partial(json.dumps, default=str),
                                 headers={"Cache-Control": "no-store"})

    handler.__name__ = f"insights_{name}_json"
    return handler


def _filename(name: str, report: Any) -> str:
    span = getattr(report, "period", None)
    if span is not None:
        return f"insights-{name}-{span.since.isoformat()}-{span.until.isoformat()}.csv"
    as_of = getattr(report, "as_of", None)
    return f"insights-{name}-{as_of.isoformat()}.csv" if as_of else f"insights-{name}.csv"


def csv_handler(name: str):
    view = VIEWS[name]

    @require_staff(*INSIGHTS_ROLES)
    async def handler(request: web.Request) -> web.Response:
        try:
            report, _form = await _compute(request, view)
        except insights.InsightsError as err:
            raise web.HTTPBadRequest(text=str(err)) from err
        except StoreUnavailable as err:
            raise web.HTTPServiceUnavailable(text=UNAVAILABLE) from err
        return web.Response(
            text=insights.to_csv(report), content_type="text/csv", charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{_filename(name, report)}"',
                     "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    handler.__name__ = f"insights_{name}_csv"
    return handler


# --- rendering --------------------------------------------------------------------------------

def overview_chart(report) -> dict:
    """The overview's chart and table shape: the busiest categories of the period (up to
    :data:`CHART_CATEGORIES`), the rest as "other", per bucket; and every category's totals."""
    totals: dict[str | None, list[int]] = {}
    for point in report.by_category:
        counts = totals.setdefault(point.category, [0, 0])
        counts[0] += point.needs
        counts[1] += point.unmet
    ranked = sorted(totals, key=lambda c: (-totals[c][0], c or ""))
    shown = ranked[:CHART_CATEGORIES]
    other = len(ranked) > len(shown)
    cells: dict[tuple[date, str | None], int] = {}
    for point in report.by_category:
        key = point.category if point.category in shown else "__other__"
        cells[(point.start, key)] = cells.get((point.start, key), 0) + point.needs
    columns = [*shown, *(["__other__"] if other else [])]
    return {
        "columns": columns,
        "cells": cells,
        "categories": [(c, totals[c][0], totals[c][1]) for c in ranked],
    }


def bucket_end(start: date, bucket: str, until: date) -> date:
    """The last day of the bucket starting on ``start``, cut at ``until``."""
    if bucket == "week":
        end = start + timedelta(days=6)
    elif bucket == "month":
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    else:
        end = start
    return min(end, until)


async def _render(request: web.Request, template: str, context: dict,
                  status: int = 200) -> web.Response:
    staff = request[STAFF]
    assets = request.app[CONSOLE_ASSETS]
    html = request.app[TEMPLATES].get_template(template).render({
        **context, "staff": staff, "csrf_token": await csrf_token(request),
        "console": accounts.can(staff.role, "queue"),
        "asset_version": {name: a.etag for name, a in assets.items()},
        "needs_link": needs_link, "money": _money, "percent": _percent,
        "field_labels": FIELD_LABELS, "reason_labels": REASON_LABELS,
        "status_labels": STATUS_LABELS, "top_fields": TOP_FIELDS, "unmet_by": UNMET_BY,
        "buckets": insights.BUCKETS, "overview_chart": overview_chart,
        "bucket_end": bucket_end, "min_recent": DEFAULT_MIN_RECENT,
    })
    return web.Response(text=html, content_type="text/html", status=status,
                        headers={"Cache-Control": "no-store"})
