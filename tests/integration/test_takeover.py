"""An agent takes a conversation over, against the real Rasa server and action server: the
console's messages go through Rasa's HTTP API (bot.console.delivery), pause the bot, land in
the tracker as the agent payload, wait for Rasa when it is unreachable, and hand the chat back
to the bot."""
from __future__ import annotations

from datetime import datetime

import pytest
import requests
from sqlalchemy import select

from bot import servers as srv
from bot.console import delivery
from bot.console.delivery import RasaApi
from bot.services import Services
from bot.settings import ConsoleSettings, Settings
from bot.store.models import Escalation, Staff
from tests.integration.conftest import JWT_SECRET, SECRET

pytestmark = pytest.mark.integration


@pytest.fixture
def console(live):
    """The console's services (real clock) on the servers' shop database, and its Rasa API."""
    settings = Settings(database_url=live.db_url, identity_secret=SECRET,
                        console=ConsoleSettings(rasa_url=live.rasa.url,
                                                rasa_jwt_secret=JWT_SECRET))
    services = Services(settings)
    yield services, RasaApi.from_settings(settings)
    services.close()


def tracker(live, sender: str) -> dict:
    resp = requests.get(f"{live.rasa.url}/conversations/{sender}/tracker",
                        headers=live.rasa.headers, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def agent_payloads(events: list[dict]) -> list[dict]:
    return [e["data"]["custom"] for e in events
            if e["event"] == "bot" and (e.get("data") or {}).get("custom")]


def test_an_agent_takes_over_talks_and_hands_back(chat, live, console):
    services, api = console
    shopper = chat()
    assert "ESC-" in shopper.text(shopper.say("I'd like to speak to a real person please"))
    with services.unit_of_work() as s:
        escalation = s.execute(select(Escalation).where(
            Escalation.conversation_id == shopper.sender)).scalar_one()
        staff = Staff(email=f"sam-{shopper.sender}@shop.test", name="Sam Carter",
                      password_hash="x", role="agent", created_at=datetime.utcnow())
        s.add(staff)
        s.flush()
        staff_id = staff.id

    def post(kind, text="", rasa=api):
        return delivery.post(services, rasa, conversation_id=shopper.sender,
                             escalation_id=escalation.id, staff_id=staff_id,
                             staff_name="Sam Carter", kind=kind, text=text)

    joined = post("joined")
    assert joined.delivered, joined.error
    state = tracker(live, shopper.sender)
    assert state["paused"] is True
    assert agent_payloads(state["events"])[-1] == {
        "type": "agent_message", "id": joined.id, "from": "Sam", "kind": "joined",
        "text": "Sam from support has joined the chat."}
    with services.unit_of_work() as s:
        assert s.get(Escalation, escalation.id).paused is True

    # Paused: the shopper's message is stored in the tracker, and the bot says nothing.
    assert shopper.say("hello? is anyone there") == []
    state = tracker(live, shopper.sender)
    assert state["latest_message"]["text"] == "hello? is anyone there"
    assert state["events"][-1]["event"] == "user"

    # Rasa unreachable for the console: the reply waits, and the worker's job delivers it.
    dead = RasaApi(f"http://127.0.0.1:{srv.free_port()}", JWT_SECRET, timeout=1)
    reply = post("text", "Hi, I'm Sam. Let me look into it.", rasa=dead)
    assert not reply.delivered and reply.error == "Rasa is not reachable"
    assert delivery.deliver_pending(services, api) == 1
    events = tracker(live, shopper.sender)["events"]
    (bot_event,) = [e for e in events if e["event"] == "bot"
                    and e["metadata"].get("agent_message_id") == reply.id]
    assert bot_event["text"] in ("", None)
    assert bot_event["data"]["custom"] == {
        "type": "agent_message", "id": reply.id, "from": "Sam", "kind": "text",
        "text": "Hi, I'm Sam. Let me look into it."}
    with services.unit_of_work() as s:
        assert s.get(Escalation, escalation.id).first_reply_at is not None

    back = post("handed_back")
    assert back.delivered, back.error
    state = tracker(live, shopper.sender)
    assert state["paused"] is False
    assert [p["kind"] for p in agent_payloads(state["events"])] == ["joined", "text",
                                                                   "handed_back"]
    with services.unit_of_work() as s:
        assert s.get(Escalation, escalation.id).paused is False
    answer = shopper.say("hi")
    assert answer and shopper.text(answer).strip()
