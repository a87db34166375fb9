"""``python -m bot review ...``: the review of what the bot understood, for leads at a terminal;
``python -m bot console canned-defaults``: the starter canned replies when there are none
(``make run``).

- ``export --format rasa|needs [--out PATH]``: approved corrections as training data (Rasa NLU
  YAML under ``nlu_data/reviewed/``, or gold need JSON lines under ``var/review/``);
- ``list [--status pending|approved|rejected] [--limit N] [--json]``: corrections, newest first;
- ``inbox [--days 7] [--limit N] [--json]``: the least understood shopper messages nobody
  reviewed yet (reads the tracker store: ``--tracker-url``, else ``SHOP_TRACKER_URL`` or
  endpoints.yml).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.console import review
from bot.store.models import CORRECTION_STATUSES


def register(subparsers) -> None:
    console = subparsers.add_parser("console", help="the staff console: starter canned replies")
    console_sub = console.add_subparsers(dest="console_command", metavar="ACTION", required=True)
    canned = console_sub.add_parser("canned-defaults",
                                    help="write the starter canned replies if there are none")
    _database(canned)
    canned.set_defaults(handler=_canned_defaults)

    parser = subparsers.add_parser("review", help="review corrections: list, inbox, export "
                                                  "as training data")
    sub = parser.add_subparsers(dest="review_command", metavar="ACTION", required=True)

    export = sub.add_parser("export", help="write approved corrections as training data")
    export.add_argument("--format", dest="fmt", required=True, choices=review.EXPORT_FORMATS)
    export.add_argument("--out", type=Path, default=None,
                        help=f"file to write (default: {_shown(review.DEFAULT_RASA_OUT)} for "
                             f"rasa, {_shown(review.DEFAULT_NEEDS_OUT)} for needs)")
    _database(export)
    export.set_defaults(handler=_export)

    listing = sub.add_parser("list", help="corrections, newest first")
    listing.add_argument("--status", choices=CORRECTION_STATUSES, default=None)
    listing.add_argument("--limit", type=_positive, default=200)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    _database(listing)
    listing.set_defaults(handler=_list)

    inbox = sub.add_parser("inbox", help="least understood shopper messages not reviewed yet")
    inbox.add_argument("--days", type=_positive, default=7,
                       help=f"look back this many days (1-{review.MAX_INBOX_DAYS}, default 7)")
    inbox.add_argument("--limit", type=_positive, default=50)
    inbox.add_argument("--json", action="store_true", help="one JSON object per line")
    inbox.add_argument("--tracker-url", default=None,
                       help="Rasa SQL tracker store (default: SHOP_TRACKER_URL or endpoints.yml)")
    _database(inbox)
    inbox.set_defaults(handler=_inbox)


def _database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: DATABASE_URL or var/shop.db)")


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return int(text)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(review.REPO_ROOT))
    except ValueError:
        return str(path)


def _canned_defaults(args: argparse.Namespace) -> int:
    from bot.console import queue

    count = queue.ensure_default_canned(args.services)
    print(f"wrote {count} canned replies" if count else "canned replies already exist")
    return 0


def _export(args: argparse.Namespace) -> int:
    out = args.out or (review.DEFAULT_RASA_OUT if args.fmt == "rasa"
                       else review.DEFAULT_NEEDS_OUT)
    count = review.export(args.services, args.fmt, out)
    print(f"wrote {count} example{'s' if count != 1 else ''} to {_shown(out)}")
    return 0


def _one_line(text: str, width: int) -> str:
    said = " ".join(text.split())
    return said if len(said) <= width else said[:width - 1] + "…"


def _list(args: argparse.Namespace) -> int:
    rows = review.list_corrections(args.services, status=args.status, limit=args.limit)
    if args.json:
        for row in rows:
            print(json.dumps(row.as_dict(), ensure_ascii=False))
        return 0
    if not rows:
        print("no corrections")
        return 0
    print(f"{'ID':>5} {'STATUS':<9} {'KIND':<7} {'PREDICTED':<22} {'CORRECTED':<22} "
          f"{'BY':<16} TEXT")
    for row in rows:
        corrected = row.corrected_intent or (", ".join(row.need.get("product") or [])
                                             if row.need else "") or "-"
        print(f"{row.id:>5} {row.status:<9} {row.kind:<7} {row.predicted_intent or '-':<22} "
              f"{_one_line(corrected, 22):<22} {_one_line(row.created_by_name, 16):<16} "
              f"{_one_line(row.text, 60)}")
    return 0


def _inbox(args: argparse.Namespace) -> int:
    from bot.console.transcript import tracker_engine, tracker_url_for

    if args.days > review.MAX_INBOX_DAYS:
        raise review.ReviewError(f"--days: at most {review.MAX_INBOX_DAYS}")
    tracker = tracker_engine(args.tracker_url or tracker_url_for(args.services.settings))
    try:
        items = review.inbox(args.services, tracker, days=args.days, limit=args.limit)
    finally:
        tracker.dispose()
    if args.json:
        for item in items:
            print(json.dumps(item.as_dict(), ensure_ascii=False))
        return 0
    if not items:
        print("nothing to review")
        return 0
    print(f"{'EVENT':>7} {'CONF':>5} {'INTENT':<22} {'CONVERSATION':<24} TEXT")
    for item in items:
        intent = item.intent.name if item.intent else "-"
        print(f"{item.event_id:>7} {item.confidence:>5.2f} {intent:<22} "
              f"{_one_line(item.conversation_id, 24):<24} {_one_line(item.text, 60)}")
    return 0
