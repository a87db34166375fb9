"""`python -m bot audit list`: the staff-visible audit log (locked orders, data exports and
erasures, retention runs, quarantined outbox lines, refused escalation updates)."""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta

from bot import audit
from bot.store.models import AUDIT_ACTIONS


def register(subparsers) -> None:
    parser = subparsers.add_parser("audit", help="the staff-visible audit log",
                                   description="Read the audit log, newest first.")
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: DATABASE_URL or var/shop.db)")
    sub = parser.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    listing = sub.add_parser("list", help="list recent records")
    listing.add_argument("--action", choices=AUDIT_ACTIONS, default=None)
    listing.add_argument("--days", type=int, default=30, help="only the last N days (30)")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    services = args.services
    since = services.now() - timedelta(days=args.days)
    with services.unit_of_work() as session:
        rows = audit.recent(session, limit=args.limit, action=args.action, since=since)
    for r in rows:
        if args.json:
            print(json.dumps({"id": r.id, "created_at": _iso(r.created_at), "actor": r.actor,
                              "action": r.action, "subject": r.subject, "detail": r.detail}))
        else:
            detail = " ".join(f"{k}={v}" for k, v in sorted(r.detail.items()))
            print(f"{_iso(r.created_at)}  {r.action:<18} {r.actor:<20} {r.subject}  {detail}")
    if not rows and not args.json:
        print("no audit records")
    return 0


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")
