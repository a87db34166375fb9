"""``python -m bot privacy ...``: retention, export and erasure for staff.

- ``retention [--days N] [--dry-run]``: delete conversation events older than N days;
- ``export --customer ID [--out FILE]``: a customer's data as JSON (stdout or FILE);
- ``erase --customer ID [--yes]``: erase a customer's data (asks unless ``--yes``); the
  conversations go from the tracker store at once when they are quiet, else the worker finishes;
- ``erasures [--complete]``: list erasure requests, or finish the pending ones now.

``--tracker-url`` overrides the tracker store (default: ``SHOP_TRACKER_URL`` or endpoints.yml),
``--actor`` names who ran the command in the audit log (default ``staff:<login name>``).
"""
from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path


def _common(parser) -> None:
    parser.add_argument("--database-url", help="shop database (default: DATABASE_URL)")
    parser.add_argument("--tracker-url", help="Rasa SQL tracker store (default: "
                                              "SHOP_TRACKER_URL or endpoints.yml)")


def _actor_arg(parser) -> None:
    parser.add_argument("--actor", help="who runs this, for the audit log "
                                        "(default staff:<login name>)")


def register(subparsers) -> None:
    privacy = subparsers.add_parser("privacy", help="retention, data export and erasure")
    sub = privacy.add_subparsers(dest="privacy_command", metavar="ACTION", required=True)

    retention = sub.add_parser("retention", help="delete conversation events older than the "
                                                 "retention period")
    retention.add_argument("--days", type=int, help="retention in days (default "
                                                    "SHOP_RETENTION_DAYS or 90)")
    retention.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    _common(retention)
    _actor_arg(retention)
    retention.set_defaults(handler=_retention)

    export = sub.add_parser("export", help="a customer's data as JSON")
    export.add_argument("--customer", type=int, required=True, help="customer id")
    export.add_argument("--out", type=Path, help="write to FILE (mode 600) instead of stdout")
    _common(export)
    _actor_arg(export)
    export.set_defaults(handler=_export)

    erase = sub.add_parser("erase", help="erase a customer's data (orders kept, anonymised)")
    erase.add_argument("--customer", type=int, required=True, help="customer id")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _common(erase)
    _actor_arg(erase)
    erase.set_defaults(handler=_erase)

    erasures = sub.add_parser("erasures", help="list erasure requests; --complete finishes the "
                                               "pending ones whose conversations are quiet")
    erasures.add_argument("--complete", action="store_true")
    _common(erasures)
    erasures.set_defaults(handler=_erasures)


def _actor(args) -> str:
    if getattr(args, "actor", None):
        return args.actor
    try:
        return f"staff:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (a container): still say it was staff
        return "staff:cli"


def _tracker(args):
    from bot.privacy.trackerstore import TrackerStore, tracker_url

    return TrackerStore(args.tracker_url or tracker_url(args.services.settings))


def _print(data) -> None:
    print(json.dumps(data, indent=2, default=str))


def _retention(args) -> int:
    from bot.privacy.retention import run_retention

    with _tracker(args) as tracker:
        result = run_retention(args.services, tracker, days=args.days, dry_run=args.dry_run,
                               actor=_actor(args))
    _print(result.as_dict())
    return 0


def _export(args) -> int:
    from bot.privacy.export import export_customer, to_json

    with _tracker(args) as tracker:
        data = export_customer(args.services, args.customer, actor=_actor(args), tracker=tracker)
    text = to_json(data)
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        print(f"customer {args.customer}: exported to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _erase(args) -> int:
    from bot.cli import CommandError
    from bot.privacy.erasure import complete_pending, erase_customer

    if not args.yes:
        if not sys.stdin.isatty():
            raise CommandError("refusing to erase without --yes (no terminal to ask on)")
        answer = input(f"Erase customer {args.customer}'s data for good? Type the id to "
                       "confirm: ").strip()
        if answer != str(args.customer):
            print("nothing erased", file=sys.stderr)
            return 1
    with _tracker(args) as tracker:
        result = erase_customer(args.services, args.customer, actor=_actor(args),
                                tracker=tracker)
        completed = complete_pending(args.services, tracker, actor=_actor(args))
    done = any(r.request_id == result.request_id for r in completed)
    _print({"customer_id": result.customer_id, "request": result.request_id,
            "erased": result.counts, "conversations": len(result.conversations),
            "conversations_erased": done})
    if not done:
        print("a conversation was active in the last few minutes: the worker erases the "
              "conversations once it is quiet (python -m bot privacy erasures)", file=sys.stderr)
    return 0


def _erasures(args) -> int:
    from bot.privacy.erasure import complete_pending, pending_requests

    if args.complete:
        with _tracker(args) as tracker:
            done = complete_pending(args.services, tracker, actor=_actor(args))
        print(f"erasures completed: {len(done)}", file=sys.stderr)
    _print(pending_requests(args.services))
    return 0
