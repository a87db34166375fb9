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
* a message longer than ``max_message_chars`` or faster than ``rate_per_minute`` (token bucket of
  ``burst``) per session and per connection gets a polite reply instead of reaching the bot;
* metadata is reduced to the ``customer_token`` string (the actions verify it on every turn), so
  the browser cannot hand the bot any other claim such as a customer id;
* socket.io messages must carry the session id this connection was confirmed for;
* custom JSON (``json_message``) reaches the browser as one payload, e.g.
  ``{"type": "product_cards", ...}``; Rasa's own socket.io channel passes it to ``emit`` as keyword
  arguments (RasaHQ/rasa#3823) and fails on any key but ``data``/``room``.

Importing this module also applies ``bot.web.rasa_patches`` (the action-response validator is
built once instead of on every custom-action call).
"""
from __future__ import annotations

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
from socketio import AsyncServer

from bot.web.guard import (
    Limits,
    MessageRejected,
    RateLimiter,
    TOO_FAST_REPLY,
    check_text,
    clean_metadata,
    parse_origins,
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


class ShopSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel with an origin allow-list, size and rate limits."""

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
        channel.limits = Limits.from_credentials(credentials)
        channel.cors_origins = parse_origins(
            credentials.get("cors_origins") or os.environ.get("SHOP_CORS_ORIGINS", "")
        )
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = Limits()
        self.cors_origins: list[str] = []

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        if self.sio is None:
            return None
        return ShopSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # None = same origin only (python-engineio's default); never [] which disables the check.
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.cors_origins or None,
            max_http_buffer_size=MAX_FRAME_BYTES,
        )
        bp = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        limiter = RateLimiter(self.limits.rate_per_minute, self.limits.burst)
        sessions: dict[str, str] = {}  # socket id -> confirmed session id
        ns = self.namespace

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=ns)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            return True

        @sio.on("disconnect", namespace=ns)
        async def disconnect(sid: Text) -> None:
            sessions.pop(sid, None)

        @sio.on("session_request", namespace=ns)
        async def session_request(sid: Text, data: Any = None) -> None:
            asked = data.get("session_id") if isinstance(data, dict) else None
            session_id = asked if valid_session_id(asked) else uuid.uuid4().hex
            sessions[sid] = session_id
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=ns)
            await sio.emit("session_confirm", session_id, room=sid, namespace=ns)

        async def tell(sid: str, text: str) -> None:
            await sio.emit(self.bot_message_evt, {"text": text}, room=sid, namespace=ns)

        @sio.on(self.user_message_evt, namespace=ns)
        async def handle_message(sid: Text, data: Any = None) -> None:
            if not isinstance(data, dict):
                return
            if self.session_persistence:
                sender_id = sessions.get(sid)
                if sender_id is None or data.get("session_id") != sender_id:
                    logger.info("socket.io message without its confirmed session id; ignored")
                    return
            else:
                sender_id = sid
            if not (limiter.allow(f"s:{sender_id}") and limiter.allow(f"c:{sid}")):
                await tell(sid, TOO_FAST_REPLY)
                return
            try:
                text = check_text(data.get("message"), self.limits)
            except MessageRejected as rejected:
                await tell(sid, rejected.reply)
                return
            message = UserMessage(
                text,
                ShopSocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=clean_metadata(data.get(self.metadata_key)),
            )
            await on_new_message(message)

        return bp


class ShopRestInput(RestInput):
    """Rasa's REST channel (same URL, ``/webhooks/rest/webhook``) with size and rate limits."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "ShopRestInput":
        channel = cls()
        channel.limits = Limits.from_credentials(credentials)
        return channel

    def __init__(self) -> None:
        self.limits = Limits()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bp = Blueprint("custom_webhook_ShopRestInput", __name__)
        limiter = RateLimiter(self.limits.rate_per_minute, self.limits.burst)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # sanic raises its own InvalidUsage on malformed JSON
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "expected a JSON object"}, status=400)
            sender = body.get("sender")
            if not isinstance(sender, str) or not 0 < len(sender) <= 255:
                return response.json({"error": "sender must be a short string"}, status=400)
            if not limiter.allow(sender):
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
                    metadata=clean_metadata(body.get("metadata")),
                ))
            except Exception:
                logger.exception("REST message failed")
            return response.json(collector.messages)

        return bp
