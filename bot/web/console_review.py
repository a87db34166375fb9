"""The console's review and report pages (:mod:`bot.console.review`, :mod:`bot.console.reports`).

- ``GET /console/review`` (agents, leads): the review inbox - the shopper messages the bot
  understood least - each with three small forms: "understood correctly", "wrong intent" (a
  select of the domain's intents) and "product need". Leads also see the pending corrections
  with Approve / Reject.
- ``POST /console/review/corrections`` (agents, leads; a form or JSON): one correction. Forms
  are redirected back to the inbox; ``Accept: application/json`` (or a JSON body) gets JSON.
- ``POST /console/review/corrections/{id}/decide`` (leads; ``decision=approve|reject``).
- ``GET /console/reports`` (leads): charts (Chart.js from npm, served at
  ``/console/static/chart.umd.js``) of ``GET /console/reports.json``; ``GET /console/reports.csv``
  downloads the same figures.

CSRF is checked by :func:`bot.web.staff.csrf_middleware` for every POST under ``/console``.
The tracker store's read-only engine is built once per app when it starts (``app[TRACKER]``)
and disposed when it stops; blocking database work runs in the default executor.
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.console import reports, review
from bot.console.transcript import TrackerUnavailable, tracker_engine_for
from bot.needs.follow import NotASqlTrackerStore
from bot.settings import REPO_ROOT
from bot.staff import accounts
from bot.web.bundle import BundleMissing, STATIC_DIR, make_asset
from bot.web.keys import SERVICES, TEMPLATES, TRACKER
from bot.web.staff import STAFF, csrf_token, require_staff

log = logging.getLogger(__name__)

CONSOLE_ASSETS = "shop_console_assets"  # app key: {name: Asset} served at /console/static/
CHART_JS = REPO_ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.js"
CONSOLE_STATIC = STATIC_DIR / "console"
_CONTENT_TYPES = MappingProxyType({".js": "application/javascript; charset=utf-8",
                                   ".css": "text/css; charset=utf-8"})
REPORT_DAYS = 14  # the reports page's default range: the last two weeks
NEED_FORM_FIELDS = ("product", "category", "colour", "size", "brand", "price_max")
DECISIONS = MappingProxyType({"approve": True, "reject": False})
UNAVAILABLE = "The conversation store cannot be read right now; try again in a moment."


def load_assets(chart_js: Path = CHART_JS) -> dict:
    """Chart.js (npm, pinned) and the console's own scripts and styles, read once at start."""
    if not chart_js.exists():
        raise BundleMissing(f"{chart_js.name} is missing: run `npm ci` in the repository root")
    assets = {"chart.umd.js": make_asset(chart_js.read_bytes(), _CONTENT_TYPES[".js"])}
    for path in sorted(CONSOLE_STATIC.iterdir()):
        if path.suffix in _CONTENT_TYPES:
            assets[path.name] = make_asset(path.read_bytes(), _CONTENT_TYPES[path.suffix])
    return assets


def setup(app: web.Application) -> None:
    """The review and report routes, their static files and the tracker engine's lifetime."""
    app[CONSOLE_ASSETS] = load_assets()
    app.cleanup_ctx.append(tracker_store)
    app.router.add_get("/console/static/{name}", static_file, name="console_static")
    app.router.add_get("/console/review", review_page, name="console_review")
    app.router.add_post("/console/review/corrections", create_correction,
                        name="console_review_correct")
    app.router.add_post("/console/review/corrections/{id}/decide", decide_correction,
                        name="console_review_decide")
    app.router.add_get("/console/reports", reports_page, name="console_reports")
    app.router.add_get("/console/reports.json", reports_json, name="console_reports_json")
    app.router.add_get("/console/reports.csv", reports_csv, name="console_reports_csv")


async def tracker_store(app: web.Application):
    """cleanup_ctx: the tracker store's engine, once per app (unless another part of the
    console built it already). A store that is not a SQL one leaves it None: the pages say the
    conversations cannot be read."""
    if app.get(TRACKER) is not None:
        yield
        return
    try:
        engine = tracker_engine_for(app[SERVICES])
    except (NotASqlTrackerStore, OSError, ValueError) as err:
        log.warning("console: no readable tracker store (%s)", err)
        engine = None
    app[TRACKER] = engine
    try:
        yield
    finally:
        if engine is not None:
            engine.dispose()


# --- helpers ----------------------------------------------------------------------------------

async def _run(fn: Callable, *args, **kwargs) -> Any:
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs))


def _tracker(request: web.Request):
    engine = request.app.get(TRACKER)
    if engine is None:
        raise TrackerUnavailable("no SQL tracker store is configured")
    return engine


def _wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return request.content_type == "application/json" or (
        "application/json" in accept and "text/html" not in accept)


def _json_error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status,
                             headers={"Cache-Control": "no-store"})


def _render(request: web.Request, template: str, context: dict, status: int = 200):
    assets = request.app[CONSOLE_ASSETS]
    staff = request.get(STAFF)
    html = request.app[TEMPLATES].get_template(template).render(
        {**context, "asset_version": {name: a.etag for name, a in assets.items()},
         "lead": staff is not None and staff.role == "lead"})
    return web.Response(text=html, content_type="text/html", status=status,
                        headers={"Cache-Control": "no-store"})


def _days(raw: Any, default: int = 7) -> int:
    text = str(raw or "")
    if text.isascii() and text.isdigit() and 1 <= int(text) <= review.MAX_INBOX_DAYS:
        return int(text)
    return default


def conversation_link(conversation_id: str) -> str:
    return "/console/c/" + quote(conversation_id, safe="")


async def static_file(request: web.Request) -> web.Response:
    asset = request.app[CONSOLE_ASSETS].get(request.match_info["name"])
    if asset is None:
        raise web.HTTPNotFound()
    headers = {"ETag": f'"{asset.etag}"', "Vary": "Accept-Encoding",
               "Cache-Control": "public, max-age=86400" if request.query.get("v") == asset.etag
               else "no-cache"}
    if request.headers.get("If-None-Match") == f'"{asset.etag}"':
        return web.Response(status=304, headers=headers)
    body = asset.body
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = asset.gzipped
    headers["Content-Type"] = asset.content_type
    return web.Response(body=body, headers=headers)


# --- review -----------------------------------------------------------------------------------

@require_staff("agent", "lead")
async def review_page(request: web.Request) -> web.Response:
    return await _review_page(request, days=_days(request.query.get("days")),
                              saved=request.query.get("saved") == "1",
                              decided=request.query.get("decided", ""))


async def _review_page(request: web.Request, *, days: int, error: str = "",
                       saved: bool = False, decided: str = "", status: int = 200):
    staff = request[STAFF]
    services = request.app[SERVICES]
    notice = ""
    try:
        items = await _run(review.inbox, services, _tracker(request), days=days)
    except TrackerUnavailable:
        items, notice = [], UNAVAILABLE
    is_lead = accounts.can(staff.role, "corrections")
    waiting = await _run(review.pending, services) if is_lead else []
    return _render(request, "console_review.html", {
        "staff": staff, "csrf_token": await csrf_token(request), "items": items,
        "pending": waiting, "is_lead": is_lead, "intents": review.domain_intents(),
        "days": days, "error": error, "notice": notice, "saved": saved,
        "decided": decided if decided in ("approved", "rejected") else "",
        "need_fields": NEED_FORM_FIELDS, "link": conversation_link,
    }, status=status)


async def _body(request: web.Request) -> dict:
    """The request's fields: a JSON object, or the form (need fields as ``need_<field>``)."""
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise review.ReviewError("the body is not JSON") from None
        if not isinstance(data, dict):
            raise review.ReviewError("the body must be a JSON object")
        return data
    form = await request.post()
    data = {key: str(form.get(key, "")) for key in ("conversation_id", "event_id", "kind",
                                                    "corrected_intent", "days", "decision")}
    if data["kind"] == "need":
        data["need"] = {field: str(form.get(f"need_{field}", "")).strip()
                        for field in NEED_FORM_FIELDS}
    return data


@require_staff("agent", "lead")
async def create_correction(request: web.Request) -> web.Response:
    wants_json = _wants_json(request)
    data: dict = {}
    try:
        data = await _body(request)
        kind = data.get("kind")
        correction_id = await _run(
            review.correct, request.app[SERVICES], staff_id=request[STAFF].id,
            conversation_id=data.get("conversation_id"), event_id=data.get("event_id"),
            kind=kind, corrected_intent=(data.get("corrected_intent") or None)
            if kind == "intent" else None,
            need=data.get("need") if kind == "need" else None, tracker=_tracker(request))
    except review.ReviewError as err:
        if wants_json:
            return _json_error(str(err), 400)
        return await _review_page(request, days=_days(data.get("days")), error=str(err),
                                  status=400)
    except TrackerUnavailable:
        if wants_json:
            return _json_error(UNAVAILABLE, 503)
        return await _review_page(request, days=_days(data.get("days")), error=UNAVAILABLE,
                                  status=503)
    if wants_json:
        return web.json_response({"id": correction_id, "status": "pending"}, status=201,
                                 headers={"Cache-Control": "no-store"})
    raise web.HTTPSeeOther("/console/review?" + urlencode(
        {"days": _days(data.get("days")), "saved": 1}))


@require_staff("lead")
async def decide_correction(request: web.Request) -> web.Response:
    wants_json = _wants_json(request)
    raw_id = request.match_info["id"]
    if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 12):
        raise web.HTTPNotFound()
    try:
        data = await _body(request)
        decision = data.get("decision")
        if decision not in DECISIONS:
            raise review.ReviewError("decision must be approve or reject")
        view = await _run(review.decide, request.app[SERVICES], lead_id=request[STAFF].id,
                          correction_id=int(raw_id), approve=DECISIONS[decision])
    except review.CorrectionNotFound as err:
        if wants_json:
            return _json_error(str(err), 404)
        raise web.HTTPNotFound() from err
    except review.ReviewError as err:
        status = 409 if isinstance(err, review.AlreadyDecided) else 400
        if wants_json:
            return _json_error(str(err), status)
        return await _review_page(request, days=7, error=str(err), status=status)
    if wants_json:
        return web.json_response(view.as_dict(), headers={"Cache-Control": "no-store"})
    raise web.HTTPSeeOther("/console/review?" + urlencode({"decided": view.status}))


# --- reports ----------------------------------------------------------------------------------

def _date(raw: str | None, default: date) -> date:
    if raw in (None, ""):
        return default
    if not (len(raw) == 10 and raw.isascii()):
        raise reports.ReportError("dates are written YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise reports.ReportError("dates are written YYYY-MM-DD") from None


def _range(request: web.Request) -> tuple[date, date]:
    today = request.app[SERVICES].now().date()
    until = _date(request.query.get("until"), today)
    since = _date(request.query.get("since"), until - timedelta(days=REPORT_DAYS - 1))
    reports.period(since, until)  # raises ReportError for a bad range
    return since, until


async def _report(request: web.Request) -> reports.Report:
    since, until = _range(request)
    return await _run(reports.report, request.app[SERVICES], _tracker(request), since=since,
                      until=until)


@require_staff("lead")
async def reports_page(request: web.Request) -> web.Response:
    staff = request[STAFF]
    today = request.app[SERVICES].now().date()
    context = {"staff": staff, "csrf_token": await csrf_token(request), "error": "",
               "report": None, "outcomes": reports.OUTCOME_KEYS,
               "since": (today - timedelta(days=REPORT_DAYS - 1)).isoformat(),
               "until": today.isoformat(), "query": ""}
    status = 200
    try:
        since, until = _range(request)
        context.update(since=since.isoformat(), until=until.isoformat(),
                       query=urlencode({"since": since.isoformat(),
                                        "until": until.isoformat()}))
        context["report"] = await _run(reports.report, request.app[SERVICES],
                                       _tracker(request), since=since, until=until)
    except reports.ReportError as err:
        context["error"], status = str(err), 400
        context.update(since=str(request.query.get("since", ""))[:10],
                       until=str(request.query.get("until", ""))[:10])
    except TrackerUnavailable:
        context["error"], status = UNAVAILABLE, 503
    return _render(request, "console_reports.html", context, status=status)


@require_staff("lead")
async def reports_json(request: web.Request) -> web.Response:
    try:
        report = await _report(request)
    except reports.ReportError as err:
        return _json_error(str(err), 400)
    except TrackerUnavailable:
        return _json_error(UNAVAILABLE, 503)
    return web.json_response(report.as_dict(), dumps=functools.partial(json.dumps, default=str),
                             headers={"Cache-Control": "no-store"})


@require_staff("lead")
async def reports_csv(request: web.Request) -> web.Response:
    try:
        report = await _report(request)
    except reports.ReportError as err:
        raise web.HTTPBadRequest(text=str(err)) from err
    except TrackerUnavailable as err:
        raise web.HTTPServiceUnavailable(text=UNAVAILABLE) from err
    name = f"console-report-{report.since.isoformat()}-{report.until.isoformat()}.csv"
    return web.Response(text=reports.to_csv(report), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "Cache-Control": "no-store"})
