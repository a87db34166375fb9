"""The hardened socket.io channel's handlers, called directly with a recording Socket.IO server."""
from __future__ import annotations

import pytest

from bot.web.channels import ShopSocketIOInput, ShopSocketIOOutput

SESSION = "0123456789abcdef0123456789abcdef"
CREDS = {"session_persistence": True, "metadata_key": "customData", "max_message_chars": 50,
         "rate_per_minute": 60, "burst": 3, "cors_origins": "http://shop.example"}


class Harness:
    def __init__(self, credentials=CREDS):
        self.channel = ShopSocketIOInput.from_credentials(credentials)
        self.received = []

        async def on_new_message(message):
            self.received.append(message)

        self.channel.blueprint(on_new_message)
        self.sio = self.channel.sio
        self.emitted = []
        self.rooms = []

        async def emit(event, data=None, room=None, namespace=None, **kw):
            self.emitted.append((event, data, room))

        async def enter_room(sid, room, namespace=None):
            self.rooms.append((sid, room))

        self.sio.emit = emit
        self.sio.enter_room = enter_room

    async def call(self, event, sid, data=None):
        return await self.sio.handlers["/"][event](sid, data)


def test_origins_come_from_credentials_or_environment(monkeypatch):
    assert Harness().sio.eio.cors_allowed_origins == ["http://shop.example"]
    monkeypatch.setenv("SHOP_CORS_ORIGINS", "http://a:1,http://b:2")
    h = Harness({k: v for k, v in CREDS.items() if k != "cors_origins"})
    assert h.sio.eio.cors_allowed_origins == ["http://a:1", "http://b:2"]
    monkeypatch.delenv("SHOP_CORS_ORIGINS")
    h = Harness({k: v for k, v in CREDS.items() if k != "cors_origins"})
    assert h.sio.eio.cors_allowed_origins is None  # same origin only, never "any"


async def test_session_request_confirms_and_joins_the_room():
    h = Harness()
    await h.call("session_request", "sid1", {"session_id": SESSION})
    assert h.rooms == [("sid1", SESSION)]
    assert h.emitted == [("session_confirm", SESSION, "sid1")]


@pytest.mark.parametrize("asked", [None, "short", "<script>", {"x": 1}, "a" * 200])
async def test_session_request_with_bad_id_gets_a_new_one(asked):
    h = Harness()
    await h.call("session_request", "sid1", {"session_id": asked})
    event, new_id, _ = h.emitted[0]
    assert event == "session_confirm" and new_id != asked and len(new_id) == 32


async def test_message_reaches_rasa_with_only_the_token_in_metadata():
    h = Harness()
    await h.call("session_request", "sid1", {"session_id": SESSION})
    await h.call("user_uttered", "sid1", {
        "message": "where is my order", "session_id": SESSION,
        "customData": {"customer_token": "1.99.sig", "customer_id": 1},
    })
    (msg,) = h.received
    assert msg.text == "where is my order" and msg.sender_id == SESSION
    assert msg.metadata == {"customer_token": "1.99.sig"}
    assert isinstance(msg.output_channel, ShopSocketIOOutput)


async def test_message_for_another_session_or_before_confirmation_is_ignored():
    h = Harness()
    await h.call("user_uttered", "sid1", {"message": "hi", "session_id": SESSION})
    await h.call("session_request", "sid1", {"session_id": SESSION})
    await h.call("user_uttered", "sid1", {"message": "hi", "session_id": "f" * 32})
    await h.call("user_uttered", "sid1", "not a dict")
    assert h.received == []


async def test_too_long_and_empty_messages_get_a_reply_not_the_bot():
    h = Harness()
    await h.call("session_request", "sid1", {"session_id": SESSION})
    h.emitted.clear()
    await h.call("user_uttered", "sid1", {"message": "x" * 51, "session_id": SESSION})
    await h.call("user_uttered", "sid1", {"message": "  ", "session_id": SESSION})
    assert h.received == []
    assert [e[0] for e in h.emitted] == ["bot_uttered", "bot_uttered"]
    assert "too long" in h.emitted[0][1]["text"]


async def test_rate_limit_per_session():
    h = Harness()
    await h.call("session_request", "sid1", {"session_id": SESSION})
    for i in range(5):
        await h.call("user_uttered", "sid1", {"message": f"m{i}", "session_id": SESSION})
    assert [m.text for m in h.received] == ["m0", "m1", "m2"]  # burst of 3
    assert sum("faster" in (e[1] or {}).get("text", "") for e in h.emitted
               if isinstance(e[1], dict)) == 2


async def test_custom_json_is_emitted_as_one_payload():
    h = Harness()
    out = h.channel.get_output_channel()
    cards = {"type": "product_cards", "products": [{"id": 1, "name": "Boot", "price": 89.99,
                                                    "currency": "GBP", "url": "/p/boot",
                                                    "image": None}]}
    await out.send_custom_json(SESSION, dict(cards))
    await out.send_custom_json(SESSION, {"data": dict(cards)})  # Rasa's documented form
    assert h.emitted == [("bot_uttered", cards, SESSION), ("bot_uttered", cards, SESSION)]
