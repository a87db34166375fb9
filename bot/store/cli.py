"""`python -m bot db upgrade|current`: shop database migrations."""
from __future__ import annotations

import argparse

from bot.store.schema import current_revision, head_revision, upgrade


def register(subparsers) -> None:
    parser = subparsers.add_parser("db", help="shop database migrations",
                                   description="Manage the shop database schema (Alembic).")
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: DATABASE_URL or var/shop.db)")
    db_sub = parser.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    up = db_sub.add_parser("upgrade", help="migrate the database to the newest revision")
    up.set_defaults(handler=_upgrade)
    cur = db_sub.add_parser("current", help="print the database's revision and the newest one")
    cur.set_defaults(handler=_current)


def _url(args: argparse.Namespace) -> str:
    return args.services.settings.database_url


def _upgrade(args: argparse.Namespace) -> int:
    upgrade(_url(args))
    print(f"database at revision {current_revision(_url(args))}")
    return 0


def _current(args: argparse.Namespace) -> int:
    current = current_revision(_url(args))
    head = head_revision()
    state = "up to date" if current == head else f"behind (newest is {head})"
    print(f"{current or 'none (not migrated)'}: {state}")
    return 0
