"""The hardened socket.io channel's handlers, called directly with a recording Socket.IO server;
limits counted in the test database."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.identity import VERIFIED_KEY, sign
from bot.services import Services
from bot.settings import Settings
from bot.web.channels import ShopSocketIOInput, ShopSocketIOOutput
from bot.web.guard import NO_REPLY, TOO_FAST_REPLY, ChannelGuard
from tests.web.channel_helpers import SECRET, PausedAgent, make_guard

SESSION = "0123456789abcdef0123456789abcdef"
CREDS = {"session_persistence": True, "metadata_key": "customData", "max_message_chars": 50,
         "rate_per_minute": 3, "address_rate_per_minute": 5,
         "cors_origins": "http://shop.example"}


def environ(peer="203.0.113.9", forwarded_for=None):
    """What python-engineio's Sanic driver hands ``connect``: REMOTE_ADDR is always its constant
    127.0.0.1; the real peer is on the Sanic request."""
    env = {"REMOTE_ADDR": "127.0.0.1", "sanic.request": SimpleNamespace(ip=peer)}
    if forwarded_for:
        env["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return env


def no_shop_guard(limits):
    """A guard whose shop database has no tables (a test that needs none must not build one
    from the environment, under the repository's var/)."""
    return ChannelGuard(limits, Services(Settings(database_url="sqlite:///:memory:",
                                                  identity_secret=SECRET)))


class Harness:
    def __init__(self, credentials=CREDS, guard=None, reply=False, fail=False):
        self.channel = ShopSocketIOInput.from_credentials(credentials)
        self.channel.guard = guard if guard is not None else no_shop_guard(self.channel.limits)
        self.received = []

        async def on_new_message(message):
            self.received.append(message)
            if fail:
                raise RuntimeError("action server down")
            if reply:
                await message.output_channel.send_text_message(message.sender_id, "hello")

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

    async def join(self, sid, session=SESSION, peer="203.0.113.9", forwarded_for=None):
        await self.call("connect", sid, environ(peer, forwarded_for))
        await self.call("session_request", sid, {"session_id": session})

    def texts(self):
        return [e[1]["text"] for e in self.emitted if e[0] == "bot_uttered"]


@pytest.fixture
def guard(db_url, engine):
    def make(**settings):
        channel = ShopSocketIOInput.from_credentials(CREDS)
        return make_guard(db_url, engine, channel.limits, **settings)

    return make


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


async def test_message_reaches_rasa_with_only_the_verified_id_in_metadata(guard):
    h = Harness(guard=guard())
    await h.join("sid1")
    await h.call("user_uttered", "sid1", {
        "message": "where is my order", "session_id": SESSION,
        "customData": {"customer_token": sign(1, SECRET, session=SESSION), "customer_id": 2,
                       VERIFIED_KEY: 2},
    })
    (msg,) = h.received
    assert msg.text == "where is my order" and msg.sender_id == SESSION
    assert msg.metadata == {VERIFIED_KEY: 1}  # the token itself goes no further
    assert isinstance(msg.output_channel, ShopSocketIOOutput)


async def test_a_token_replayed_in_another_session_is_anonymous(guard):
    h = Harness(guard=guard(), reply=True)
    stolen = sign(1, SECRET, session="f" * 32)  # Alice's, for her own session
    await h.join("sid1")
    await h.call("user_uttered", "sid1", {"message": "my orders", "session_id": SESSION,
                                          "customData": {"customer_token": stolen}})
    (msg,) = h.received
    assert msg.metadata == {}
    assert h.texts()[-1] == "hello"  # an ordinary answer: nothing tells the replayer why


async def test_message_for_another_session_or_before_confirmation_is_ignored(guard):
    h = Harness(guard=guard())
    await h.call("user_uttered", "sid1", {"message": "hi", "session_id": SESSION})
    await h.call("session_request", "sid1", {"session_id": SESSION})
    await h.call("user_uttered", "sid1", {"message": "hi", "session_id": "f" * 32})
    await h.call("user_uttered", "sid1", "not a dict")
    assert h.received == []


async def test_too_long_and_empty_messages_get_a_reply_not_the_bot(guard):
    h = Harness(guard=guard())
    await h.join("sid1")
    h.emitted.clear()
    await h.call("user_uttered", "sid1", {"message": "x" * 51, "session_id": SESSION})
    await h.call("user_uttered", "sid1", {"message": "  ", "session_id": SESSION})
    assert h.received == []
    assert [e[0] for e in h.emitted] == ["bot_uttered", "bot_uttered"]
    assert "too long" in h.emitted[0][1]["text"]


async def test_rate_limit_per_session(guard):
    h = Harness(guard=guard())
    await h.join("sid1")
    for i in range(5):
        await h.call("user_uttered", "sid1", {"message": f"m{i}", "session_id": SESSION})
    assert [m.text for m in h.received] == ["m0", "m1", "m2"]  # 3 a minute
    assert h.texts().count(TOO_FAST_REPLY) == 2


async def test_rotating_sessions_and_connections_from_one_address_are_stopped(guard):
    h = Harness(guard=guard())
    for i in range(8):  # a new connection and a new session id for every message
        session = f"rotating-session-{i:04d}"
        await h.join(f"sid{i}", session)
        await h.call("user_uttered", f"sid{i}", {"message": "hi", "session_id": session})
    assert len(h.received) == 5  # the address's 5 a minute
    assert h.texts().count(TOO_FAST_REPLY) == 3


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(guard):
    untrusted = Harness(guard=guard())
    trusted = Harness(guard=guard(trusted_proxies=("10.0.0.0/8",)))
    for h, peer in ((untrusted, "203.0.113.9"), (trusted, "10.0.0.1")):
        for i in range(7):  # every message claims another client
            session = f"xff-session-{peer}-{i:04d}".replace(".", "-")
            await h.join(f"sid{i}", session, peer=peer, forwarded_for=f"198.51.100.{i}")
            await h.call("user_uttered", f"sid{i}", {"message": "hi", "session_id": session})
    assert len(untrusted.received) == 5  # the claims are ignored: one address
    assert len(trusted.received) == 7  # behind our proxy: seven clients


@pytest.mark.parametrize("kind", ["raises", "silent"])
async def test_a_turn_without_a_reply_gets_a_polite_one(guard, kind):
    h = Harness(guard=guard(), fail=kind == "raises")
    await h.join("sid1")
    await h.call("user_uttered", "sid1", {"message": "hi", "session_id": SESSION})
    assert h.texts() == [NO_REPLY]
    assert h.emitted[-1][2] == SESSION  # to the conversation's room


async def test_a_paused_conversation_stays_silent_and_answered_turns_get_no_apology(guard):
    h = Harness(guard=guard())
    h.channel.app = SimpleNamespace(ctx=SimpleNamespace(agent=PausedAgent({SESSION})))
    await h.join("sid1")
    await h.call("user_uttered", "sid1", {"message": "hi", "session_id": SESSION})
    assert h.texts() == []
    answered = Harness(guard=guard(), reply=True)
    await answered.join("sid1")
    await answered.call("user_uttered", "sid1", {"message": "hi", "session_id": SESSION})
    assert answered.texts() == ["hello"]


async def test_custom_json_is_emitted_as_one_payload():
    h = Harness()
    out = h.channel.get_output_channel()
    cards = {"type": "product_cards", "products": [{"id": 1, "name": "Boot", "price": 89.99,
                                                    "currency": "GBP", "url": "/p/boot",
                                                    "image": None}]}
    await out.send_custom_json(SESSION, dict(cards))
    await out.send_custom_json(SESSION, {"data": dict(cards)})  # Rasa's documented form
    assert h.emitted == [("bot_uttered", cards, SESSION), ("bot_uttered", cards, SESSION)]
