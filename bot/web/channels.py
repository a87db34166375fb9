"""Hardened Rasa input channels for the widget (socket.io) and scripts (REST).

Use them in ``credentials.yml`` instead of ``socketio`` / ``rest``::

    bot.web.channels.ShopRestInput:
      max_message_chars: 1000
    bot.web.channels.ShopSocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
      metadata_key: customData
      # cors_origins: "http://localhost:8080"   (default: env SHOP_CORS_ORIGINS)

What they add to Rasa's own channels:

* socket.io accepts connections only from the configured origins (Engine.IO checks the Origin
  header on the websocket handshake; no origins configured means same-origin only);
* identity: the signed token the widget sends (``customer_token``) is verified here, once per
  message, against the message's own sender (tokens are bound to one chat session), and only the
  verified customer id goes on, under ``bot.identity.VERIFIED_KEY``; every other key the client
  sends is dropped and the token itself is never stored;
* message rates per conversation and per client address (``rate_per_minute``,
  ``address_rate_per_minute``), counted in the shop database or Redis so that they hold across
  processes and new sender ids; X-Forwarded-For counts only from ``SHOP_TRUSTED_PROXIES``;
* a message longer than ``max_message_chars`` gets a polite reply instead of reaching the bot,
  and the REST body is read as a stream, refused (413) past ``max_body_bytes`` before it is
  parsed;
* a turn that fails or produces no message at all (the action server is down) gets one polite
  "something went wrong" instead of silence, unless staff paused the conversation;
* socket.io messages must carry the session id this connection was confirmed for;
* custom JSON (``json_message``) reaches the browser as one payload, e.g.
  ``{"type": "product_cards", ...}``; Rasa's own socket.io channel passes it to ``emit`` as keyword
  arguments (RasaHQ/rasa#3823) and fails on any key but ``data``/``room``;
* the staff console's agent messages (``bot.console.delivery``; appended through Rasa's HTTP API
  with ``output_channel=socketio``, so they leave through this channel's output) are
  acknowledged by the widget (``agent_seen``), sent again to a shopper who comes back to the
  session before seeing them (on ``session_request``), and the widget's rating after a resolved
  conversation (``satisfaction``) is stored; these read and write the shop database in a worker
  thread, and a database error is logged and the chat goes on;
* with ``REDIS_URL`` (or ``redis_url`` in credentials.yml) socket.io rooms live in Redis, so a
  message emitted by one Rasa replica reaches a widget connected to another.

Importing this module also applies ``bot.web.rasa_patches`` (the action-response validator is
built once instead of on every custom-action call).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from bot.console import delivery
from bot.web.guard import (
    NO_REPLY,
    TOO_FAST_REPLY,
    BodyTooLarge,
    ChannelGuard,
    Limits,
    MessageRejected,
    check_text,
    parse_origins,
    read_limited,
    valid_session_id,
)
from bot.web import rasa_patches

logger = logging.getLogger(__name__)

# Rasa imports this module when it loads credentials.yml: the one place our code runs inside the
# Rasa server's process before the first turn.
rasa_patches.apply()

# Engine.IO refuses frames bigger than this before they are parsed.
MAX_FRAME_BYTES = 64 * 1024


class ShopSocketIOOutput(SocketIOOutput):
    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        payload = dict(json_message)
        room = payload.pop("room", recipient_id)
        # Rasa's documented socket.io form is {"data": {...}}; accept it and the bare payload.
        if set(payload) == {"data"}:
            payload = payload["data"]
        await self.sio.emit(self.bot_message_evt, payload, room=room)


class _TurnOutput(ShopSocketIOOutput):
    """The output of one shopper message: counts what it sends, so that a turn that sends
    nothing can be told apart."""

    def __init__(self, sio: AsyncServer, bot_message_evt: Text) -> None:
        super().__init__(sio, bot_message_evt)
        self.sent = 0

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        self.sent += 1
        await super()._send_message(socket_id, response)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        self.sent += 1
        await super().send_custom_json(recipient_id, json_message, **kwargs)


async def _paused(app: Any, sender_id: str) -> bool:
    """True when staff paused the conversation (the bot is silent on purpose). Read only for a
    turn that produced nothing, so it costs the normal turn nothing."""
    store = getattr(getattr(getattr(app, "ctx", None), "agent", None), "tracker_store", None)
    if store is None:
        return False
    try:
        tracker = await store.retrieve(sender_id)
    except Exception:  # noqa: BLE001 - unknown: better one apology too many than silence
        logger.warning("could not read the tracker of a silent turn", exc_info=True)
        return False
    return bool(tracker is not None and tracker.is_paused())


def _close_unread(request: Request) -> None:
    """After a refused body: answer with ``Connection: close`` and let Sanic close the connection
    instead of reading ("draining") the rest of the body (Sanic 21.12's ``Http`` object)."""
    stream = request.stream
    if stream is not None:
        stream.keep_alive = False
        stream.request_max_size = 0


def _forwarded_for(values: list[str]) -> Optional[str]:
    return ",".join(values) if values else None


class ShopSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel with an origin allow-list, verified identity, size and rate
    limits."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "ShopSocketIOInput":
        credentials = credentials or {}
        channel = cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("session_persistence", True),
            credentials.get("socketio_path", "/socket.io"),
            None,
            "HS256",
            credentials.get("metadata_key", "customData"),
        )
        channel.guard = ChannelGuard(Limits.from_credentials(credentials))
        channel.cors_origins = parse_origins(
            credentials.get("cors_origins") or os.environ.get("SHOP_CORS_ORIGINS", "")
        )
        channel.redis_url = credentials.get("redis_url") or os.environ.get("REDIS_URL", "")
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = ChannelGuard(Limits())
        self.cors_origins: list[str] = []
        self.redis_url = ""  # socket.io rooms shared through Redis (several Rasa replicas)
        self.app: Any = None  # the Sanic app, once the server started (its agent's tracker store)

    @property
    def limits(self) -> Limits:
        return self.guard.limits

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        if self.sio is None:
            return None
        return ShopSocketIOOutput(self.sio, self.bot_message_evt)

    async def shop_call(self, what: str, function: Callable[..., Any], *args: Any) -> Any:
        """``function(services, *args)`` in a worker thread (it blocks on the shop database);
        None when it fails, which is logged: an acknowledgement or a rating lost must not stop
        the chat. The services are built here, on the event loop's thread, so never twice."""
        try:
            services = self.guard.services
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, function, services, *args)
        except Exception:  # noqa: BLE001 - the chat goes on without it
            logger.warning("socket.io %s: shop database call failed", what, exc_info=True)
            return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # None = same origin only (python-engineio's default); never [] which disables the check.
        # Several Rasa replicas: rooms in Redis, so that an emit to a conversation's room (a
        # reply, an agent message appended on another replica) reaches its widget wherever it
        # is connected. The connection is made on first use.
        manager = {"client_manager": AsyncRedisManager(self.redis_url)} if self.redis_url else {}
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.cors_origins or None,
            max_http_buffer_size=MAX_FRAME_BYTES,
            **manager,
        )
        bp = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        sessions: dict[str, str] = {}  # socket id -> confirmed session id
        addresses: dict[str, str] = {}  # socket id -> client address, fixed at connect time
        ns = self.namespace

        @bp.listener("after_server_start")
        async def remember_app(app, _loop) -> None:
            self.app = app

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=ns)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            # python-engineio's Sanic driver writes REMOTE_ADDR as a constant "127.0.0.1": the
            # peer's real address is on the Sanic request it keeps in the environ.
            request = environ.get("sanic.request")
            peer = getattr(request, "ip", None) or environ.get("REMOTE_ADDR")
            addresses[sid] = self.guard.address(peer, environ.get("HTTP_X_FORWARDED_FOR"))
            return True

        @sio.on("disconnect", namespace=ns)
        async def disconnect(sid: Text) -> None:
            sessions.pop(sid, None)
            addresses.pop(sid, None)

        @sio.on("session_request", namespace=ns)
        async def session_request(sid: Text, data: Any = None) -> None:
            asked = data.get("session_id") if isinstance(data, dict) else None
            session_id = asked if valid_session_id(asked) else uuid.uuid4().hex
            sessions[sid] = session_id
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=ns)
            await sio.emit("session_confirm", session_id, room=sid, namespace=ns)
            if session_id == asked:
                # A shopper back in a conversation: what an agent said that the widget never
                # acknowledged (it shows each id once, and acknowledges it).
                unseen = await self.shop_call("session_request", delivery.unseen_payloads,
                                              session_id)
                for agent_payload in unseen or ():
                    await sio.emit(self.bot_message_evt, agent_payload, room=sid, namespace=ns)

        async def tell(sid: str, text: str) -> None:
            await sio.emit(self.bot_message_evt, {"text": text}, room=sid, namespace=ns)

        def confirmed(sid: str, data: Any, event: str) -> Optional[str]:
            """The conversation of an event from ``sid``: its confirmed session, which the event
            must name (None: the event is ignored)."""
            if not isinstance(data, dict):
                return None
            if not self.session_persistence:
                return sid
            sender_id = sessions.get(sid)
            if sender_id is None or data.get("session_id") != sender_id:
                logger.info("socket.io %s without its confirmed session id; ignored", event)
                return None
            return sender_id

        @sio.on("agent_seen", namespace=ns)
        async def agent_seen(sid: Text, data: Any = None) -> None:
            sender_id = confirmed(sid, data, "agent_seen")
            if sender_id is not None and isinstance(data.get("ids"), list) and data["ids"]:
                await self.shop_call("agent_seen", delivery.mark_seen, sender_id, data["ids"])

        @sio.on("satisfaction", namespace=ns)
        async def satisfaction(sid: Text, data: Any = None) -> None:
            sender_id = confirmed(sid, data, "satisfaction")
            if sender_id is not None:
                await self.shop_call("satisfaction", delivery.record_rating, sender_id,
                                     data.get("rating"))

        @sio.on(self.user_message_evt, namespace=ns)
        async def handle_message(sid: Text, data: Any = None) -> None:
            sender_id = confirmed(sid, data, "message")
            if sender_id is None:
                return
            if not await self.guard.allow(sender_id, addresses.get(sid, "unknown")):
                await tell(sid, TOO_FAST_REPLY)
                return
            try:
                text = check_text(data.get("message"), self.limits)
            except MessageRejected as rejected:
                await tell(sid, rejected.reply)
                return
            output = _TurnOutput(sio, self.bot_message_evt)
            message = UserMessage(
                text, output, sender_id, input_channel=self.name(),
                metadata=self.guard.metadata(data.get(self.metadata_key), sender_id),
            )
            try:
                await on_new_message(message)
            except Exception:  # noqa: BLE001 - the shopper gets an apology, not silence
                logger.exception("socket.io message failed")
            if not output.sent and not await _paused(self.app, sender_id):
                await output.send_text_message(sender_id, NO_REPLY)

        return bp


class ShopRestInput(RestInput):
    """Rasa's REST channel (same URL, ``/webhooks/rest/webhook``) with a streamed, size-limited
    body, verified identity, rate limits and a reply for every message."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "ShopRestInput":
        channel = cls()
        channel.guard = ChannelGuard(Limits.from_credentials(credentials))
        return channel

    def __init__(self) -> None:
        self.guard = ChannelGuard(Limits())

    @property
    def limits(self) -> Limits:
        return self.guard.limits

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bp = Blueprint("custom_webhook_ShopRestInput", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        # stream=True: Sanic hands over the body unread (and lifts its own 100 MB limit for
        # this route), so nothing is buffered or parsed before our limit is checked.
        @bp.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                raw = await read_limited(request.stream, request.headers.get("content-length"),
                                         self.limits.max_body_bytes)
            except BodyTooLarge as err:
                logger.info("REST body refused: %s", err)
                _close_unread(request)
                return response.json({"error": "request body too large"}, status=413)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "expected a JSON object"}, status=400)
            sender = body.get("sender")
            if not isinstance(sender, str) or not 0 < len(sender) <= 255:
                return response.json({"error": "sender must be a short string"}, status=400)
            address = self.guard.address(
                request.ip, _forwarded_for(request.headers.getall("x-forwarded-for", [])))
            if not await self.guard.allow(sender, address):
                return response.json([{"recipient_id": sender, "text": TOO_FAST_REPLY}],
                                     status=429)
            try:
                text = check_text(body.get("message"), self.limits)
            except MessageRejected as rejected:
                return response.json([{"recipient_id": sender, "text": rejected.reply}],
                                     status=rejected.status)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(
                    text, collector, sender, input_channel=self.name(),
                    metadata=self.guard.metadata(body.get("metadata"), sender),
                ))
            except Exception:  # noqa: BLE001 - the shopper gets an apology, not a 500
                logger.exception("REST message failed")
            messages = collector.messages
            if not messages and not await _paused(request.app, sender):
                messages = [{"recipient_id": sender, "text": NO_REPLY}]
            return response.json(messages)

        return bp
