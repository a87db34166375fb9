"""`python -m bot demo-data`: build the demo shop database."""
from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from bot.demo.build import build_demo_data
from bot.demo.generate import DEFAULT_CUSTOMERS
from bot.demo.needs import DEFAULT_MESSAGES


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _customers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 3 <= value <= 200_000:
        raise argparse.ArgumentTypeError("--customers must be between 3 and 200000")
    return value


def _messages(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("--need-messages must be between 0 and 1000000")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo-data",
        help="build the demo shop database (catalogue, customers, a year of orders, events and "
             "logged needs)",
        description="Migrate the shop database and fill it with deterministic demo data.",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--anchor-date", type=_date, default=None, metavar="YYYY-MM-DD",
                        help="the data's 'now'; history ends here (default: today)")
    parser.add_argument("--customers", type=_customers, default=DEFAULT_CUSTOMERS,
                        help=f"number of customers (default {DEFAULT_CUSTOMERS})")
    parser.add_argument("--if-missing", action="store_true",
                        help="keep a database that already has products (only add the product "
                             "images it lacks)")
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: DATABASE_URL or var/shop.db)")
    parser.add_argument("--images-dir", type=Path, default=None,
                        help="where the product images go (default: SHOP_IMAGES_DIR or "
                             "var/images)")
    parser.add_argument("--need-messages", type=_messages, default=DEFAULT_MESSAGES,
                        help="demo messages run through the need extractor into a year of "
                             f"logged needs (default {DEFAULT_MESSAGES}; 0: none)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = args.services.settings
    result = build_demo_data(settings.database_url, seed=args.seed,
                             anchor=args.anchor_date, customers=args.customers,
                             if_missing=args.if_missing,
                             images_dir=args.images_dir or settings.images_dir,
                             need_history=args.need_messages > 0,
                             need_messages=args.need_messages)
    print(result.summary())
    return 0
