"""`python -m bot web`: serve the demo storefront with the chat widget.

``register(subparsers)`` adds the subcommand to ``bot.cli``; ``python -m bot.web`` runs it alone.
"""
from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--rasa-url", default=None,
                        help="URL the browser uses for the Rasa server "
                             "(default: env SHOP_RASA_PUBLIC_URL or http://localhost:5005)")


def run(args: argparse.Namespace) -> int:
    import os
    from dataclasses import replace

    from aiohttp import web

    from bot.web.app import create_app
    from bot.web.bundle import BundleMissing
    from bot.web.config import WebConfig

    config = WebConfig.from_env(dict(os.environ))
    if args.rasa_url:
        widget = replace(config.widget, server_url=args.rasa_url.rstrip("/"))
        config = replace(config, widget=widget)
    if not config.settings.identity_secret:
        logger.warning("SHOP_IDENTITY_SECRET is not set: the demo sign-in is disabled")
    try:
        app = create_app(config, getattr(args, "services", None))
    except BundleMissing as exc:
        logger.error("%s", exc)
        return 2
    print(f"Storefront: http://{args.host}:{args.port}/  (chat server {config.widget.server_url})",
          flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("web", help="serve the demo storefront with the chat widget")
    add_arguments(parser)
    parser.set_defaults(handler=run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.web", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.logs import install_redaction

    install_redaction()
    return run(args)
