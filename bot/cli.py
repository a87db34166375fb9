"""`python -m bot`: the command line. Each feature module registers its own subcommands.

A module listed in :data:`COMMAND_MODULES` exposes ``register(subparsers) -> None`` and sets a
``handler(args) -> int`` default on its parsers. Modules that are not there yet are skipped.
:func:`main` builds the process's one :class:`~bot.services.Services` from the settings (a
command's ``--database-url`` replaces the database URL) and hands it to the handler as
``args.services``; the heavy parts (need extractor, propensity model) load only if used.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from bot.logs import install_redaction

log = logging.getLogger(__name__)

# Adding a command group is one line here.
COMMAND_MODULES = (
    "bot.store.cli",
    "bot.audit.cli",
    "bot.demo.cli",
    "bot.needs.cli",
    "bot.nlu.cli",
    "bot.web.cli",
    "bot.privacy.cli",
    "bot.staff.cli",
    "bot.console.cli",
    "bot.insights.cli",
    "bot.insights.digest",  # adds `insights digest` to the commands above
    "bot.worker",
)

EXIT_ERROR = 2


class CommandError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def _load(name: str):
    """The command module ``name``, or ``None`` when it is not there or cannot be imported."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing_itself = exc.name is not None and name.startswith(exc.name)
        if not missing_itself:  # it exists but is broken: say so, keep the other commands
            print(f"warning: commands from {name} unavailable: {exc}", file=sys.stderr)
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bot", description="Shop assistant tools.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = _load(name)
        if module is not None:
            module.register(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_redaction()
    services = None
    try:
        services = args.services = _services(args)
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence: no tracebacks
        log.debug("command failed", exc_info=True)
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if services is not None:
            services.close()


def _services(args: argparse.Namespace):
    from dataclasses import replace

    from bot.services import Services
    from bot.settings import Settings

    settings = Settings.from_env()
    if getattr(args, "database_url", None):
        settings = replace(settings, database_url=args.database_url)
    return Services(settings)
