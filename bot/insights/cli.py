"""``python -m bot insights ...``: product insights at a terminal (contract in DESIGN.md).

- ``emerging --as-of YYYY-MM-DD [--weeks 4] [--ratio 3] [--category C] [--json]``: themes that
  grew significantly (``{"themes": [{"label", "recent", "before", "growth", "p_value",
  "examples", ...}]}``, most significant first);
- ``unmet --since YYYY-MM-DD [--until D] [--by product|category|attribute] [--order
  volume|value] [--category C] [--limit N] [--json]``: unmet demand with its expected value;
- ``top --since YYYY-MM-DD [--until D] --by FIELD [--category C] [--limit N] [--json]``: the
  most requested products, categories, attributes, colours, sizes, brands...;
- ``volume --since D [--until D] [--bucket day|week|month] [--category C] [--json]``;
- ``rebuild``: recompute the facets and the daily rollup from the needs table.

Without ``--json`` a readable table. Bad arguments (a malformed or future date, an unknown
category) print one line and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from bot.insights import filters
from bot.insights.filters import FIELDS, InsightsError

EXIT_ERROR = 2
UNMET_BY = ("product", "category", "attribute", *[f for f in FIELDS
                                                    if f not in ("product", "category",
                                                                 "attribute")])


def register(subparsers) -> None:
    parser = subparsers.add_parser("insights", help="product insights from the logged needs")
    sub = parser.add_subparsers(dest="insights_command", metavar="ACTION", required=True)

    emerging = sub.add_parser("emerging", help="themes that grew in the last weeks")
    emerging.add_argument("--as-of", type=_day, default=None,
                          help="last day of the recent window (default: today)")
    emerging.add_argument("--weeks", type=_positive, default=4,
                          help="weeks in the recent window (default 4)")
    emerging.add_argument("--ratio", type=_positive, default=3,
                          help="the window before is this many times longer (default 3)")
    _common(emerging, period=False)
    emerging.set_defaults(handler=_emerging)

    unmet = sub.add_parser("unmet", help="unmet demand, by volume or expected value")
    _period(unmet)
    unmet.add_argument("--by", choices=UNMET_BY, default="product")
    unmet.add_argument("--order", choices=("volume", "value"), default="volume")
    _common(unmet)
    unmet.set_defaults(handler=_unmet)

    top = sub.add_parser("top", help="the most requested values of a field")
    _period(top)
    top.add_argument("--by", choices=FIELDS, required=True)
    _common(top)
    top.set_defaults(handler=_top)

    volume = sub.add_parser("volume", help="needs per day, week or month with the share unmet")
    _period(volume)
    volume.add_argument("--bucket", choices=filters.BUCKETS, default="week")
    _common(volume, limit=False)
    volume.set_defaults(handler=_volume)

    rebuild = sub.add_parser("rebuild", help="recompute facets and the daily rollup")
    _database(rebuild)
    rebuild.set_defaults(handler=_rebuild)


def _period(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=_day, required=True, help="first day (YYYY-MM-DD)")
    parser.add_argument("--until", type=_day, default=None,
                        help="last day, included (default: today)")


def _common(parser: argparse.ArgumentParser, *, period: bool = True, limit: bool = True) -> None:
    parser.add_argument("--category", default=None, help="only this category (slug)")
    if limit:
        parser.add_argument("--limit", type=_positive, default=20)
    parser.add_argument("--json", action="store_true", help="print JSON")
    _database(parser)


def _database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: DATABASE_URL or var/shop.db)")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a date like 2026-01-31") from None


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return int(text)


def _run(args: argparse.Namespace, make, show) -> int:
    try:
        report = make()
    except InsightsError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        show(report)
    return 0


def _table(headers: list[str], rows: list[list]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    if not rows:
        print("(nothing)")


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if value < 0.001 else f"{value:,.3f}".rstrip("0").rstrip(".")
    text = " ".join(str(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _emerging(args: argparse.Namespace) -> int:
    from bot.insights.emerging import emerging

    def show(report) -> None:
        print(f"recent {report.recent.since}..{report.recent.until} ({report.recent_needs} "
              f"needs) against {report.before.since}..{report.before.until} "
              f"({report.before_needs}); {report.tested} themes tested")
        _table(["theme", "recent", "before", "growth", "p_value", "q_value", "example"],
               [[t.label, t.recent, t.before, t.growth if t.growth is not None else "new",
                 t.p_value, t.q_value, t.examples[0] if t.examples else ""]
                for t in report.themes])

    return _run(args, lambda: emerging(args.services, as_of=args.as_of, weeks=args.weeks,
                                       ratio=args.ratio, category=args.category,
                                       limit=args.limit), show)


def _unmet(args: argparse.Namespace) -> int:
    from bot.insights.service import unmet

    def show(report) -> None:
        print(f"unmet demand by {report.by}, {report.period.since}..{report.period.until}; "
              f"expected value in {report.currency}, default propensity "
              f"{report.default_propensity:.3f} ({report.default_propensity_source})")
        _table([report.by, "unmet", "needs", "shoppers", "expected_value", "reasons",
                "example"],
               [[r.value, r.unmet, r.needs, r.shoppers, r.expected_value,
                 ", ".join(f"{k} {v}" for k, v in r.reasons.items() if v),
                 r.examples[0] if r.examples else ""] for r in report.rows])

    return _run(args, lambda: unmet(args.services, by=args.by, since=args.since,
                                    until=args.until, category=args.category,
                                    order=args.order, limit=args.limit), show)


def _top(args: argparse.Namespace) -> int:
    from bot.insights.service import top

    def show(report) -> None:
        print(f"top {report.field} values, {report.period.since}..{report.period.until} "
              f"({report.total_needs} needs)")
        _table([report.field, "needs", "unmet", "share_unmet"],
               [[r.value, r.needs, r.unmet, r.share_unmet] for r in report.rows])

    return _run(args, lambda: top(args.services, args.by, since=args.since, until=args.until,
                                  category=args.category, limit=args.limit), show)


def _volume(args: argparse.Namespace) -> int:
    from bot.insights.service import volume

    def show(report) -> None:
        _table([report.bucket, "needs", "unmet", "pending", "share_unmet"],
               [[p.start, p.needs, p.unmet, p.pending, p.share_unmet] for p in report.totals])

    return _run(args, lambda: volume(args.services, since=args.since, until=args.until,
                                     category=args.category, bucket=args.bucket), show)


def _rebuild(args: argparse.Namespace) -> int:
    from bot.insights.facets import rebuild

    with args.services.unit_of_work(write=True) as session:
        counts = rebuild(session)
    print(f"rebuilt: {counts['needs']} needs, {counts['facets']} facet rows, "
          f"{counts['rollup_rows']} daily rollup rows")
    return 0
