"""The REST channel as an attacker meets it: a real Sanic server running ``ShopRestInput``, a
scripted bot, limits counted in the test database."""
from __future__ import annotations

import json
import time
from urllib.parse import urlparse

import aiohttp
import pytest

from bot.identity import VERIFIED_KEY, sign
from bot.web.channels import ShopRestInput
from bot.web.guard import NO_REPLY, TOO_FAST_REPLY, Limits
from tests.web.channel_helpers import SECRET, PausedAgent, make_guard, raw_request, serve

PREFIX = "/webhooks/rest"


class Bot:
    """``on_new_message``: records every message that reached "Rasa" and answers it."""

    def __init__(self, reply=True, fail=False):
        self.received = []
        self.reply, self.fail = reply, fail

    async def __call__(self, message):
        self.received.append(message)
        if self.fail:
            raise RuntimeError("action server down")
        if self.reply:
            await message.output_channel.send_text_message(message.sender_id, "hello")


def channel(db_url, engine, **kwargs) -> ShopRestInput:
    settings = {k: kwargs.pop(k) for k in ("trusted_proxies",) if k in kwargs}
    rest = ShopRestInput.from_credentials(kwargs)
    rest.guard = make_guard(db_url, engine, rest.limits, **settings)
    return rest


async def post(session, url, body, headers=None):
    async with session.post(f"{url}{PREFIX}/webhook", data=body, headers=headers) as resp:
        text = await resp.text()
        return resp.status, (json.loads(text) if text else None)


async def test_a_message_reaches_the_bot_and_the_reply_comes_back(db_url, engine):
    bot = Bot()
    async with serve(channel(db_url, engine).blueprint(bot), PREFIX) as url, \
            aiohttp.ClientSession() as s:
        status, body = await post(s, url, json.dumps({"sender": "me", "message": "hi"}))
    assert status == 200 and body == [{"recipient_id": "me", "text": "hello"}]
    assert [m.text for m in bot.received] == ["hi"]


# --- 3: size, before parsing -------------------------------------------------------------------

async def test_an_oversized_body_is_refused_413_before_it_is_parsed(db_url, engine):
    bot = Bot()
    rest = channel(db_url, engine, max_body_bytes=1000)
    async with serve(rest.blueprint(bot), PREFIX) as url, aiohttp.ClientSession() as s:
        # invalid JSON: were it parsed, this would be a 400
        status, body = await post(s, url, "{" + "x" * 2000)
        assert status == 413 and body == {"error": "request body too large"}
        # the same garbage under the limit is parsed, and refused as JSON
        assert (await post(s, url, "{" + "x" * 500))[0] == 400
    assert bot.received == []


async def test_a_huge_content_length_with_a_tiny_body_is_refused_up_front(db_url, engine):
    rest = channel(db_url, engine, max_body_bytes=1000)
    async with serve(rest.blueprint(Bot()), PREFIX) as url:
        port = urlparse(url).port
        for declared in (2000, 10 ** 12):  # under and over Sanic's own 100 MB
            head = (f"POST {PREFIX}/webhook HTTP/1.1\r\nHost: x\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n")
            started = time.monotonic()
            answer = await raw_request(port, head.encode(), b'{"sender": "me"')
            # answered at once, without waiting for the body that never comes
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            assert time.monotonic() - started < 3


async def test_a_chunked_body_stops_being_read_once_over_the_limit(db_url, engine):
    bot = Bot()
    rest = channel(db_url, engine, max_body_bytes=1000)
    async with serve(rest.blueprint(bot), PREFIX) as url:
        head = (f"POST {PREFIX}/webhook HTTP/1.1\r\nHost: x\r\n"
                "Transfer-Encoding: chunked\r\n\r\n").encode()
        chunk = b"x" * 600
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3))  # no end chunk
        answer = await raw_request(urlparse(url).port, head, body)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert bot.received == []


# --- 2: rates by client address as well as by conversation -------------------------------------

async def test_rotating_sender_ids_from_one_address_are_stopped(db_url, engine):
    bot = Bot()
    rest = channel(db_url, engine, rate_per_minute=3, address_rate_per_minute=5)
    async with serve(rest.blueprint(bot), PREFIX) as url, aiohttp.ClientSession() as s:
        results = [await post(s, url, json.dumps({"sender": f"fresh-{i}", "message": "hi"}))
                   for i in range(8)]
    assert [status for status, _ in results] == [200] * 5 + [429] * 3
    assert results[-1][1][0]["text"] == TOO_FAST_REPLY
    assert len(bot.received) == 5


async def test_x_forwarded_for_from_an_untrusted_peer_does_not_buy_a_new_allowance(db_url, engine):
    rest = channel(db_url, engine, rate_per_minute=3, address_rate_per_minute=5)
    async with serve(rest.blueprint(Bot()), PREFIX) as url, aiohttp.ClientSession() as s:
        statuses = [(await post(s, url, json.dumps({"sender": f"fresh-{i}", "message": "hi"}),
                                {"X-Forwarded-For": f"198.51.100.{i}"}))[0] for i in range(7)]
    assert statuses == [200] * 5 + [429] * 2


async def test_x_forwarded_for_from_a_trusted_proxy_is_honoured(db_url, engine):
    rest = channel(db_url, engine, rate_per_minute=3, address_rate_per_minute=2,
                   trusted_proxies=("127.0.0.1",))
    async with serve(rest.blueprint(Bot()), PREFIX) as url, aiohttp.ClientSession() as s:
        async def send(i, client):
            return (await post(s, url, json.dumps({"sender": f"fresh-{i}", "message": "hi"}),
                               {"X-Forwarded-For": client}))[0]

        # each client behind the proxy has its own allowance...
        assert [await send(i, f"198.51.100.{i}") for i in range(6)] == [200] * 6
        # ...and one client is still limited, whatever it writes to the left of the proxy's hop
        assert [await send(10 + i, f"1.1.1.{i}, 203.0.113.9") for i in range(3)] == \
            [200, 200, 429]


# --- 1: identity verified once, bound to the sender -------------------------------------------

async def test_only_the_verified_id_reaches_the_bot(db_url, engine):
    bot = Bot()
    async with serve(channel(db_url, engine).blueprint(bot), PREFIX) as url, \
            aiohttp.ClientSession() as s:
        mine = sign(1, SECRET, session="alice-chat")
        await post(s, url, json.dumps({"sender": "alice-chat", "message": "hi", "metadata": {
            "customer_token": mine, "shop_customer_id": 2, "customer_id": 2}}))
        # Alice's token replayed from another conversation: anonymous, and nothing says why
        status, body = await post(s, url, json.dumps({"sender": "mallory", "message": "hi",
                                                      "metadata": {"customer_token": mine}}))
        # a client claiming to be verified
        await post(s, url, json.dumps({"sender": "mallory", "message": "hi",
                                       "metadata": {VERIFIED_KEY: 1}}))
    assert [m.metadata for m in bot.received] == [{VERIFIED_KEY: 1}, {}, {}]
    assert status == 200 and body == [{"recipient_id": "mallory", "text": "hello"}]
    assert all("customer_token" not in json.dumps(m.metadata) for m in bot.received)


# --- 4: a turn that fails or says nothing gets an apology -------------------------------------

@pytest.mark.parametrize("bot", [Bot(fail=True), Bot(reply=False)], ids=["raises", "silent"])
async def test_a_turn_without_a_reply_gets_a_polite_one(db_url, engine, bot):
    async with serve(channel(db_url, engine).blueprint(bot), PREFIX) as url, \
            aiohttp.ClientSession() as s:
        status, body = await post(s, url, json.dumps({"sender": "me", "message": "hi"}))
    assert status == 200 and body == [{"recipient_id": "me", "text": NO_REPLY}]


async def test_a_paused_conversation_stays_silent(db_url, engine):
    agent = PausedAgent({"taken-over"})
    async with serve(channel(db_url, engine).blueprint(Bot(reply=False)), PREFIX,
                     agent=agent) as url, aiohttp.ClientSession() as s:
        assert await post(s, url, json.dumps({"sender": "taken-over", "message": "hi"})) == \
            (200, [])
        assert (await post(s, url, json.dumps({"sender": "other", "message": "hi"})))[1][0][
            "text"] == NO_REPLY


@pytest.mark.parametrize("body, status", [
    ("not json", 400), ("[]", 400), ('{"sender": "", "message": "hi"}', 400),
    ('{"sender": "me", "message": ""}', 400), (json.dumps({"sender": "me", "message": "x" * 1001}),
                                               413),
])
async def test_bad_input_is_refused_without_reaching_the_bot(db_url, engine, body, status):
    bot = Bot()
    async with serve(channel(db_url, engine).blueprint(bot), PREFIX) as url, \
            aiohttp.ClientSession() as s:
        assert (await post(s, url, body))[0] == status
    assert bot.received == []


def test_limits_come_from_credentials():
    rest = ShopRestInput.from_credentials({"max_body_bytes": 2048, "address_rate_per_minute": 9})
    assert rest.limits == Limits(max_body_bytes=2048, address_rate_per_minute=9)
