"""The action server: ``python -m actions`` (``make run``, the integration tests).

It is rasa-sdk's endpoint (``/health``, ``/webhook``, ``/actions``) with one difference that
matters: rasa-sdk builds every ``Action`` subclass it can find with no arguments, so actions
could only reach the shop through module globals. Here the process builds one
:class:`~bot.services.Services` from the settings, loads the need extractor and the propensity
model before it accepts a call (no chat turn pays for the load, and two first turns never load
them twice), and registers one instance of each action of :data:`actions.ACTIONS` built with it.

It is closed to everyone but Rasa: it listens on 127.0.0.1 unless ``ACTIONS_HOST`` says
otherwise, and ``/webhook`` and ``/actions`` answer only a request carrying the shared secret
``SHOP_ACTION_SECRET`` in the :data:`SECRET_HEADER` header (Rasa sends it on every action call:
``endpoints.yml``, ``action_endpoint.headers``); anything else gets 401 before its body is read.
Without a secret it refuses to start (and an app built without one refuses every call).
``/health`` stays open. A tracker is trusted as Rasa built it (the verified customer id in its
metadata), so no one else may hand us one.
"""
from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import sys
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
# The header Rasa sends the shared secret in (endpoints.yml, action_endpoint.headers).
SECRET_HEADER = "X-Shop-Action-Secret"
# The one path anyone may call; every other one (/webhook, /actions) needs the secret. An
# allow-list of the open path, so "/webhook/" or a route added later is closed by default.
OPEN_PATHS = frozenset({"/health"})
# A call carries the conversation's events since its session started (and the domain, for
# the actions that ask for it): megabytes at most. Refused past this, compressed or not.
MAX_BODY_BYTES = 8 * 1024 * 1024


def authorised(request: Request, secret: str) -> bool:
    """True when the request carries the shared secret (constant-time compare)."""
    given = request.headers.get(SECRET_HEADER)
    if not secret or not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode(), secret.encode())


class BodyTooLarge(ValueError):
    """A call's body (declared, received or inflated) is over :data:`MAX_BODY_BYTES`."""


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body of a streamed request, refused as soon as its declared or received size passes
    ``limit`` (the route is ``stream=True``, so Sanic has read nothing before the secret was
    checked, and lifted its own limit)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.strip().isascii() or not declared.strip().isdigit()
                                 or int(declared) > limit):
        raise BodyTooLarge("declared length refused")
    chunks, size = [], 0
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge("body over the limit")
        chunks.append(chunk)


def inflate(body: bytes, limit: int = MAX_BODY_BYTES) -> bytes:
    """A deflate-compressed body, refused (ValueError) once it inflates past ``limit``."""
    inflater = zlib.decompressobj()
    data = inflater.decompress(body, limit)
    if inflater.unconsumed_tail:
        raise BodyTooLarge("compressed body inflates past the limit")
    return data


def build_executor(services: Services) -> ActionExecutor:
    """An executor with one instance of every action, each built with ``services``."""
    from actions import ACTIONS

    executor = ActionExecutor()
    for action_class in ACTIONS:
        executor.register_action(action_class(services))
    return executor


def create_app(services: Services, name: str = "shop_actions") -> Sanic:
    """rasa-sdk's endpoint over our executor, open only to Rasa (the shared secret); never
    sends a traceback to the caller."""
    app = Sanic(name, configure_logging=False)
    # Sanic's default is 100 MB (and it would read SANIC_REQUEST_MAX_SIZE meant for Rasa).
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    executor = build_executor(services)
    secret = services.settings.action_secret
    if not secret:
        log.error("SHOP_ACTION_SECRET is not set: every action call will be refused")

    @app.on_request
    async def only_rasa(request: Request):
        # /webhook streams its body, so this runs before any of it is read: a caller without
        # the secret cannot make us read (or parse) a byte.
        if (request.path.rstrip("/") not in OPEN_PATHS
                and not authorised(request, secret)):
            log.warning("refused %s %s without the shared secret", request.method, request.path)
            return response.json({"error": "unauthorised"}, status=401)
        return None

    @app.get("/health")
    async def health(_) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/actions")
    async def actions(_) -> HTTPResponse:
        return response.json([{"name": key} for key in executor.actions])

    @app.post("/webhook", stream=True)
    async def webhook(request: Request) -> HTTPResponse:
        try:
            body = await read_body(request)
            if request.headers.get("Content-Encoding") == "deflate":
                body = inflate(body)
            action_call = json.loads(body)
        except BodyTooLarge as err:
            log.warning("action call refused: %s", err)
            # Answer with "Connection: close" and close rather than read the rest (Sanic 21.12).
            request.stream.keep_alive = False
            request.stream.request_max_size = 0
            return response.json({"error": "request too large"}, status=413)
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
    services = Services.from_env()
    if not services.settings.action_secret:
        print("SHOP_ACTION_SECRET is not set: the action server will not start without the "
              "secret Rasa sends (endpoints.yml, action_endpoint.headers).", file=sys.stderr)
        services.close()
        return 2
    services.warm()
    app = create_app(services)
    log.info("action server on http://%s:%s", args.host, args.port)
    try:
        app.run(args.host, args.port, workers=1, access_log=False)
    finally:
        services.close()
    return 0
