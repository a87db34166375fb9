"""The entry points of the real servers, attacked: the Rasa HTTP API, a replayed identity token,
a forged call to the action server, and a turn whose action server is down."""
from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
import requests

from bot import servers as srv
from bot.identity import VERIFIED_KEY, sign
from bot.rasa_api import admin_token, auth_headers
from bot.web.guard import NO_REPLY
from tests.integration.conftest import JWT_SECRET, MODEL, SECRET, SUITE_LIMITS, Chat, need_model

pytestmark = pytest.mark.integration

TRACKING = "DPD123456789GB"  # Alice's shipped order SH-100003 in the fixture shop


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- 7: the HTTP API wants a bearer JWT -------------------------------------------------------

def test_the_http_api_refuses_the_query_token_and_no_token(live):
    status = f"{live.rasa.url}/status"
    assert requests.get(status, timeout=10).status_code == 401
    # the old ways: --auth-token is gone, and sanic-jwt reads no token from the query string
    for token in ("integration-test-token", admin_token(JWT_SECRET)):
        assert requests.get(status, params={"token": token}, timeout=10).status_code == 401
    forged = admin_token("guessed-secret")
    expired = admin_token(JWT_SECRET, ttl_seconds=-3600)
    for token in (forged, expired, "not.a.jwt"):
        assert requests.get(status, headers=bearer(token), timeout=10).status_code == 401


def test_the_http_api_accepts_the_admin_bearer_jwt(live):
    resp = requests.get(f"{live.rasa.url}/status", headers=auth_headers(JWT_SECRET), timeout=10)
    assert resp.status_code == 200 and resp.json()["model_file"]


def test_a_shoppers_jwt_reaches_only_its_own_conversation(live):
    mine = jwt.encode({"user": {"username": "conv-a", "role": "user"}}, JWT_SECRET,
                      algorithm="HS256")
    url = f"{live.rasa.url}/conversations/{{}}/tracker"
    assert requests.get(url.format("conv-a"), headers=bearer(mine), timeout=10).status_code == 200
    assert requests.get(url.format("conv-b"), headers=bearer(mine), timeout=10).status_code == 403


# --- 1: identity tokens are bound to the conversation and never stored -----------------------

def tracker_json(live, sender: str) -> str:
    resp = requests.get(f"{live.rasa.url}/conversations/{sender}/tracker",
                        headers=live.rasa.headers, timeout=10)
    assert resp.status_code == 200
    return resp.text


def test_a_token_replayed_in_another_conversation_is_anonymous(live, chat):
    alice = chat(customer_id=1)
    assert TRACKING in alice.text(alice.say("where is my order SH-100003"))
    # Mallory copies Alice's token (from the network, a log, the tracker store...)
    mallory = chat(token=alice.token)
    reply = mallory.text(mallory.say("where is my order SH-100003"))
    assert TRACKING not in reply
    assert "email" in reply  # treated as anonymous: asked to prove ownership, nothing else
    # the tracker store keeps the verified id, never the token
    stored = tracker_json(live, alice.sender)
    assert alice.token not in stored and "customer_token" not in stored
    user_events = [e for e in json.loads(stored)["events"] if e["event"] == "user"]
    # Rasa adds its own keys (assistant_id, model_id); the client's are all gone
    assert user_events[-1]["metadata"][VERIFIED_KEY] == 1
    assert set(user_events[-1]["metadata"]) <= {VERIFIED_KEY, "assistant_id", "model_id"}
    assert "customer_token" not in tracker_json(live, mallory.sender)


def test_a_client_claiming_the_verified_key_is_anonymous(live):
    sender = f"it-{uuid.uuid4().hex[:12]}"
    resp = requests.post(f"{live.rasa.url}/webhooks/rest/webhook", timeout=60, json={
        "sender": sender, "message": "where is my order SH-100003",
        "metadata": {VERIFIED_KEY: 1, "customer_id": 1}})
    assert TRACKING not in resp.text


# --- 5: the action server is Rasa's alone -----------------------------------------------------

def test_a_forged_call_to_the_live_action_server_is_refused(live):
    latest = {"intent": {"name": "track_order", "confidence": 1.0}, "text": "SH-100003",
              "entities": [], "metadata": {VERIFIED_KEY: 1}}
    forged = {"next_action": "action_handle_order_request", "sender_id": "forged", "domain": {},
              "version": "3.6.0",
              "tracker": {"sender_id": "forged", "latest_message": latest, "events": [],
                          "slots": {"order_number": "SH-100003", "pending_action": "track"},
                          "paused": False, "followup_action": None, "active_loop": {},
                          "latest_action_name": "action_listen"}}
    for headers in ({}, {"X-Shop-Action-Secret": "guess"}):
        resp = requests.post(f"{live.actions.url}/webhook", json=forged, headers=headers,
                             timeout=10)
        assert resp.status_code == 401 and TRACKING not in resp.text
    assert requests.get(f"{live.actions.url}/health", timeout=10).status_code == 200


# --- 4: a turn whose action server is down gets an apology, not silence ----------------------

@pytest.fixture(scope="module")
def rasa_without_actions(live_db_url, tmp_path_factory):
    """The real Rasa server whose action endpoint has nobody listening."""
    need_model()
    work = tmp_path_factory.mktemp("no-actions")
    env = {"DATABASE_URL": live_db_url, "SHOP_IDENTITY_SECRET": SECRET}
    credentials = srv.write_credentials(work / "credentials.yml", **SUITE_LIMITS)
    with srv.rasa_server(work, MODEL, env, srv.free_port(), credentials=credentials) as rasa:
        yield rasa.url


def test_rest_turn_with_the_action_server_down_gets_a_polite_reply(rasa_without_actions):
    shopper = Chat(rasa_without_actions, customer_id=1)
    replies = shopper.say("where is my order SH-100003")
    assert replies == [{"recipient_id": shopper.sender, "text": NO_REPLY}]
    # a turn that needs no custom action still gets its ordinary answer
    assert "Hello" in shopper.text(shopper.say("hello"))


def test_socketio_turn_with_the_action_server_down_gets_a_polite_reply(rasa_without_actions):
    import socketio

    received, confirmed = [], []
    client = socketio.Client(reconnection=False)
    client.on("session_confirm", lambda sid: confirmed.append(sid))
    client.on("bot_uttered", lambda data: received.append(data))
    client.connect(rasa_without_actions, transports=["polling"], socketio_path="/socket.io")
    try:
        client.emit("session_request", {"session_id": None})
        wait_for(lambda: confirmed)
        session = confirmed[0]
        client.emit("user_uttered", {"message": "where is my order SH-100003",
                                     "session_id": session,
                                     "customData": {"customer_token": sign(1, SECRET,
                                                                           session=session)}})
        wait_for(lambda: received)
        time.sleep(0.5)  # nothing else follows
    finally:
        client.disconnect()
    assert received == [{"text": NO_REPLY}]


def wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
