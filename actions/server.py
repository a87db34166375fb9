"""The action server: ``python -m actions`` (``make run``, the integration tests).

It is rasa-sdk's endpoint (``/health``, ``/webhook``, ``/actions``) with one difference that
matters: rasa-sdk builds every ``Action`` subclass it can find with no arguments, so actions
could only reach the shop through module globals. Here the process builds one
:class:`~bot.services.Services` from the settings, loads the need extractor and the propensity
model before it accepts a call (no chat turn pays for the load, and two first turns never load
them twice), and registers one instance of each action of :data:`actions.ACTIONS` built with it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import zlib
from typing import Sequence

from rasa_sdk import utils
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.logs import install_redaction
from bot.services import Services

log = logging.getLogger(__name__)

DEFAULT_PORT = 5055


def build_executor(services: Services) -> ActionExecutor:
    """An executor with one instance of every action, each built with ``services``."""
    from actions import ACTIONS

    executor = ActionExecutor()
    for action_class in ACTIONS:
        executor.register_action(action_class(services))
    return executor


def create_app(services: Services, name: str = "shop_actions") -> Sanic:
    """rasa-sdk's endpoint over our executor; never sends a traceback to the caller."""
    app = Sanic(name, configure_logging=False)
    executor = build_executor(services)

    @app.get("/health")
    async def health(_) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/actions")
    async def actions(_) -> HTTPResponse:
        return response.json([{"name": key} for key in executor.actions])

    @app.post("/webhook")
    async def webhook(request: Request) -> HTTPResponse:
        try:
            if request.headers.get("Content-Encoding") == "deflate":
                action_call = json.loads(zlib.decompress(request.body))
            else:
                action_call = request.json
        except (ValueError, zlib.error):
            action_call = None
        if not isinstance(action_call, dict):
            return response.json({"error": "Invalid body request"}, status=400)
        utils.check_version_compatibility(action_call.get("version"))
        try:
            result = await executor.run(action_call)
        except ActionExecutionRejection as err:
            return response.json({"error": err.message, "action_name": err.action_name},
                                 status=400)
        except ActionNotFoundException as err:
            log.error("%s", err)
            return response.json({"error": err.message, "action_name": err.action_name},
                                 status=404)
        return response.json(result)

    @app.exception(Exception)
    async def failed(request, exception: Exception):
        log.error("action call failed", exc_info=exception)
        return response.json({"error": "internal error"}, status=500)

    add_outbox_drainer(app, services)
    return app


OUTBOX_TASK = "needs-outbox-drain"


def add_outbox_drainer(app: Sanic, services: Services) -> None:
    """Import needs queued while the shop database was down, every few seconds, in the
    background (``Settings.outbox_drain_seconds``): chat turns only ever append to the outbox."""
    from bot.support.product_search import drain_needs_outbox

    interval = services.settings.outbox_drain_seconds

    async def drain_forever() -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(None, drain_needs_outbox, services)
            except Exception:  # noqa: BLE001 - try again next time; nothing is lost
                log.exception("needs outbox drain failed")
            await asyncio.sleep(interval)

    @app.after_server_start
    async def _start_draining(app_, loop) -> None:
        app_.ctx.outbox_task = loop.create_task(drain_forever(), name=OUTBOX_TASK)

    @app.before_server_stop
    async def _stop_draining(app_, _loop) -> None:
        task = getattr(app_.ctx, "outbox_task", None)
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT",
                                                                        DEFAULT_PORT)))
    parser.add_argument("--host", default=os.environ.get("ACTIONS_HOST", "127.0.0.1"),
                        help="interface to listen on (default 127.0.0.1: only Rasa on this "
                             "machine calls it)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction()  # no shopper's email, phone, card or address in var/actions.log
    services = Services.from_env().warm()
    app = create_app(services)
    log.info("action server on http://%s:%s", args.host, args.port)
    try:
        app.run(args.host, args.port, workers=1, access_log=False)
    finally:
        services.close()
    return 0
