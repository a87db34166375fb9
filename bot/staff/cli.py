"""`python -m bot staff ...`: staff accounts (add, list, disable, password, ensure-demo).

Passwords come from stdin (``--password-stdin``, one line) or are asked for twice without echo;
they are never printed or logged.
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys

from bot.staff import accounts


def register(subparsers) -> None:
    parser = subparsers.add_parser("staff", help="staff accounts (agents, leads, analysts)",
                                   description="Manage the accounts that sign in to the staff "
                                               "pages. See docs/staff.md.")
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: DATABASE_URL or var/shop.db)")
    sub = parser.add_subparsers(dest="staff_command", metavar="COMMAND", required=True)

    add = sub.add_parser("add", help="add an account")
    _account_args(add)
    add.set_defaults(handler=_add)

    demo = sub.add_parser("ensure-demo",
                          help="add this demo account only when there is no account with its role yet")
    _account_args(demo)
    demo.set_defaults(handler=_ensure_demo)

    listing = sub.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=_list)

    disable = sub.add_parser("disable", help="stop an account from signing in")
    disable.add_argument("--email", required=True)
    disable.set_defaults(handler=_disable)

    password = sub.add_parser("password", help="set a new password (also lifts a lock-out)")
    password.add_argument("--email", required=True)
    password.add_argument("--password-stdin", action="store_true",
                          help="read the password from the first line of stdin")
    password.set_defaults(handler=_password)


def _account_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--role", required=True, choices=accounts.ROLES)
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of stdin")


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise accounts.StaffError("the two passwords differ")
    accounts.check_password(password)  # before anything else is done
    return password


def _add(args: argparse.Namespace) -> int:
    password = _read_password(args)
    view = accounts.add(args.services, email=args.email, name=args.name, role=args.role,
                        password=password)
    print(f"added {view.role} {view.email}")
    return 0


def _ensure_demo(args: argparse.Namespace) -> int:
    password = _read_password(args)
    if accounts.count(args.services, role=args.role):
        print("exists")
        return 0
    view = accounts.add(args.services, email=args.email, name=args.name, role=args.role,
                        password=password)
    print(f"created {view.role} {view.email}")
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = accounts.list_staff(args.services)
    if args.json:
        for r in rows:
            print(json.dumps({"email": r.email, "name": r.name, "role": r.role,
                              "active": r.active, "created_at": _iso(r.created_at),
                              "last_login_at": _iso(r.last_login_at),
                              "locked_until": _iso(r.locked_until)}))
        return 0
    if not rows:
        print("no staff accounts")
        return 0
    print(f"{'EMAIL':<40} {'ROLE':<8} {'STATUS':<9} {'LAST SIGN-IN':<20} NAME")
    for r in rows:
        status = "active" if r.active else "disabled"
        print(f"{r.email:<40} {r.role:<8} {status:<9} {_iso(r.last_login_at) or '-':<20} {r.name}")
    return 0


def _disable(args: argparse.Namespace) -> int:
    view = accounts.disable(args.services, args.email)
    print(f"disabled {view.email}")
    return 0


def _password(args: argparse.Namespace) -> int:
    password = _read_password(args)
    view = accounts.set_password(args.services, args.email, password)
    print(f"password set for {view.email}")
    return 0


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
