"""The socket.io channel's side of the staff console's agent messages: the widget's
acknowledgements (``agent_seen``) and rating (``satisfaction``) reach the shop database only
for the socket's own confirmed session, a shopper who comes back gets again what an agent said
that the widget never acknowledged, a database failure never stops the chat, and with
``REDIS_URL`` rooms are shared through Redis."""
from __future__ import annotations

import asyncio
import itertools
import json
import os

import pytest

from bot.console import delivery
from bot.demo.fixtures import FIXTURE_NOW
from bot.store.models import AgentMessage, Escalation, Staff
from bot.web.channels import ShopSocketIOInput
from tests.web.channel_helpers import make_guard
from tests.web.test_channels import CREDS, SESSION, Harness

OTHER = "f" * 32
_numbers = itertools.count(1)


@pytest.fixture
def guard(db_url, engine):
    return make_guard(db_url, engine)


def add_messages(services, conversation_id, *kinds, delivered=True, status="claimed"):
    """An escalation of ``conversation_id`` worked by Sam, with one message per kind; ids."""
    with services.unit_of_work() as s:
        staff = Staff(email=f"sam-{next(_numbers)}@shop.test", name="Sam Carter",
                      password_hash="x", role="agent", created_at=FIXTURE_NOW)
        escalation = Escalation(conversation_id=conversation_id, reason="human_request",
                                status=status, summary="", created_at=FIXTURE_NOW,
                                updated_at=FIXTURE_NOW)
        s.add_all([staff, escalation])
        s.flush()
        rows = [AgentMessage(conversation_id=conversation_id, escalation_id=escalation.id,
                             staff_id=staff.id, kind=kind, text=f"{kind} message",
                             created_at=FIXTURE_NOW, attempts=1,
                             delivered_at=FIXTURE_NOW if delivered else None)
                for kind in kinds]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def seen(services, ids):
    with services.unit_of_work() as s:
        return [s.get(AgentMessage, i).seen_at is not None for i in ids]


def agent_payloads(h):
    return [e[1] for e in h.emitted if e[0] == "bot_uttered"]


async def test_agent_seen_marks_only_the_confirmed_sessions_messages(guard):
    services = guard.services
    mine = add_messages(services, SESSION, "text", "text")
    theirs = add_messages(services, OTHER, "text")
    h = Harness(guard=guard)
    await h.join("sid1")
    await h.call("agent_seen", "sid1", {"session_id": OTHER, "ids": theirs})  # not its session
    await h.call("agent_seen", "sid2", {"session_id": SESSION, "ids": mine})  # not confirmed
    await h.call("agent_seen", "sid1", "not a dict")
    assert seen(services, mine + theirs) == [False, False, False]
    await h.call("agent_seen", "sid1", {"session_id": SESSION, "ids": [mine[0], theirs[0]]})
    assert seen(services, mine + theirs) == [True, False, False]


async def test_satisfaction_rates_the_resolved_escalation_of_the_session(guard):
    services = guard.services
    add_messages(services, SESSION, "resolved", status="resolved")
    h = Harness(guard=guard)
    await h.join("sid1")
    joined = len(h.emitted)
    await h.call("satisfaction", "sid1", {"session_id": SESSION, "rating": "5"})  # not an int
    await h.call("satisfaction", "sid2", {"session_id": SESSION, "rating": 1})  # not confirmed
    await h.call("satisfaction", "sid1", {"session_id": SESSION, "rating": 4})
    await h.call("satisfaction", "sid1", {"session_id": SESSION, "rating": 1})  # once
    with services.unit_of_work() as s:
        assert [e.rating for e in s.query(Escalation).all()] == [4]
    assert len(h.emitted) == joined  # the widget thanks the shopper itself


async def test_a_returning_shopper_gets_the_unseen_agent_messages(guard):
    services = guard.services
    joined, text, resolved = add_messages(services, SESSION, "joined", "text", "resolved",
                                          status="resolved")
    (pending,) = add_messages(services, SESSION, "text", delivered=False)
    delivery.mark_seen(services, SESSION, [joined])
    h = Harness(guard=guard)
    await h.join("sid1")
    assert h.emitted[0] == ("session_confirm", SESSION, "sid1")
    assert agent_payloads(h) == [
        {"type": "agent_message", "id": text, "from": "Sam", "kind": "text",
         "text": "text message"},
        {"type": "agent_message", "id": resolved, "from": "Sam", "kind": "resolved",
         "text": "resolved message"},
        {"type": "rating_request", "id": resolved},
    ]
    assert {e[2] for e in h.emitted} == {"sid1"}  # to that socket only
    assert pending not in [p["id"] for p in agent_payloads(h)]  # not delivered: Rasa sends it

    fresh = Harness(guard=guard)  # a new visitor: a new session, nothing to look up
    await fresh.call("session_request", "sid9", {"session_id": None})
    assert len(fresh.emitted) == 1


async def test_the_chat_goes_on_when_the_shop_database_is_down(tmp_path, engine):
    from bot.store.db import make_engine
    from tests.web.channel_helpers import make_guard as guard_on

    url = f"sqlite:///{tmp_path}"  # a directory: every query fails
    broken = guard_on(url, make_engine(url))
    h = Harness(guard=broken, reply=True)
    await h.join("sid1")
    await h.call("agent_seen", "sid1", {"session_id": SESSION, "ids": [1]})
    await h.call("satisfaction", "sid1", {"session_id": SESSION, "rating": 5})
    await h.call("user_uttered", "sid1", {"message": "hi", "session_id": SESSION})
    assert h.emitted[0] == ("session_confirm", SESSION, "sid1")
    assert h.texts() == ["hello"]


def test_redis_url_puts_the_rooms_in_redis(monkeypatch):
    from socketio import AsyncRedisManager

    assert not isinstance(Harness().sio.manager, AsyncRedisManager)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/0")
    assert isinstance(Harness().sio.manager, AsyncRedisManager)
    monkeypatch.delenv("REDIS_URL")
    h = Harness({**CREDS, "redis_url": "redis://127.0.0.1:6391/2"})
    assert h.sio.manager.redis_url == "redis://127.0.0.1:6391/2"


REDIS_URL = os.environ.get("SHOP_TEST_REDIS_URL", "")


@pytest.mark.skipif(not REDIS_URL, reason="SHOP_TEST_REDIS_URL not set (scripts/with_redis.sh)")
async def test_an_emit_on_one_replica_reaches_a_widget_on_another():
    """Two channels (two Rasa replicas) on one Redis: an agent message appended through replica
    A's API is emitted by A's output channel to the conversation's room, and replica B, where the
    widget is connected, sends it."""
    channel = "shop-test-" + os.urandom(4).hex()
    replicas = []
    for _ in range(2):
        ch = ShopSocketIOInput.from_credentials({**CREDS, "redis_url": REDIS_URL})

        async def on_new_message(message):
            pass

        ch.blueprint(on_new_message)
        ch.sio.manager.channel = channel
        ch.sio.manager.set_server(ch.sio)
        replicas.append(ch)
    a, b = replicas
    sent = []

    async def send_eio_packet(eio_sid, pkt):  # what B writes to the widget's Engine.IO socket
        assert pkt.data.startswith("2")  # a Socket.IO EVENT
        sent.append((eio_sid, json.loads(pkt.data[1:])))

    b.sio._send_eio_packet = send_eio_packet
    b.sio.manager.initialize()  # B's listener (started by its first connection in real life)
    await b.sio.manager.connect("eio-1", "/")
    sid = b.sio.manager.sid_from_eio_sid("eio-1", "/")
    await b.sio.manager.enter_room(sid, "/", SESSION)
    await asyncio.sleep(0.5)  # B subscribed
    payload = {"type": "agent_message", "id": 7, "from": "Sam", "kind": "text", "text": "hi"}
    await a.get_output_channel().send_custom_json(SESSION, dict(payload))
    for _ in range(50):
        if sent:
            break
        await asyncio.sleep(0.1)
    assert sent == [("eio-1", ["bot_uttered", payload])]
