"""The action server is Rasa's alone: a forged call (a hand-built tracker claiming a verified
customer) without the shared secret is refused before its body is read."""
from __future__ import annotations

import json
import zlib
from dataclasses import replace
from urllib.parse import urlparse

import aiohttp
import pytest
from sqlalchemy import func, select

from actions.server import SECRET_HEADER, create_app, main
from bot.identity import VERIFIED_KEY
from bot.services import Services
from bot.store.db import session_scope
from bot.store.models import Escalation
from tests.web.channel_helpers import raw_request, serve_app, test_mode

ACTION_SECRET = "action-test-secret-0123456789"


def action_call(customer_id=1, action="action_escalate") -> dict:
    """What Rasa would send for a turn of a signed-in customer, built by hand."""
    latest = {"intent": {"name": "human_handoff", "confidence": 1.0}, "entities": [],
              "text": "a person please", "metadata": {VERIFIED_KEY: customer_id}}
    return {
        "next_action": action, "sender_id": "forged-1", "version": "3.6.0", "domain": {},
        "tracker": {"sender_id": "forged-1", "slots": {}, "latest_message": latest,
                    "events": [{"event": "user", "text": "a person please"}], "paused": False,
                    "followup_action": None, "active_loop": {},
                    "latest_action_name": "action_listen"},
    }


def escalation_count(engine) -> int:
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(Escalation)).scalar()


@pytest.fixture
def app_for(services):
    def make(secret=ACTION_SECRET):
        test_mode()
        settings = replace(services.settings, action_secret=secret)
        return create_app(Services(settings, engine=services.engine, clock=services.clock,
                                   extractor=services._extractor),
                          name=f"actions_test_{abs(hash(secret)) % 10 ** 8}")

    return make


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "guessed"},
                                     {SECRET_HEADER: ACTION_SECRET[:-1]},
                                     {"Authorization": f"Bearer {ACTION_SECRET}"}],
                         ids=["no-header", "wrong", "prefix", "other-header"])
async def test_a_forged_call_is_refused_401(services, app_for, headers):
    async with serve_app(app_for()) as url, aiohttp.ClientSession() as s:
        for path in ("/webhook", "/webhook/"):
            async with s.post(url + path, json=action_call(), headers=headers) as resp:
                assert resp.status == 401
                assert await resp.json() == {"error": "unauthorised"}
        async with s.get(url + "/actions", headers=headers) as resp:
            assert resp.status == 401
    assert escalation_count(services.engine) == 0  # the forged customer escalated nothing


async def test_rasas_call_with_the_secret_runs_the_action(services, app_for):
    headers = {SECRET_HEADER: ACTION_SECRET}
    async with serve_app(app_for()) as url, aiohttp.ClientSession() as s:
        async with s.get(url + "/health") as resp:  # open to anyone
            assert resp.status == 200
        async with s.get(url + "/actions", headers=headers) as resp:
            assert {"name": "action_escalate"} in await resp.json()
        async with s.post(url + "/webhook", json=action_call(), headers=headers) as resp:
            assert resp.status == 200
            assert "ESC-000001" in (await resp.json())["responses"][0]["text"]
        # Rasa may deflate its calls (RASA_COMPRESS_ACTION_SERVER_REQUEST)
        body = zlib.compress(json.dumps(action_call()).encode())
        async with s.post(url + "/webhook", data=body,
                          headers={**headers, "Content-Encoding": "deflate",
                                   "Content-Type": "application/json"}) as resp:
            assert resp.status == 200


async def test_without_a_configured_secret_every_call_is_refused(services, app_for):
    async with serve_app(app_for(secret="")) as url, aiohttp.ClientSession() as s:
        for headers in ({}, {SECRET_HEADER: ""}):
            async with s.post(url + "/webhook", json=action_call(), headers=headers) as resp:
                assert resp.status == 401


def test_the_server_refuses_to_start_without_a_secret(monkeypatch, db_url, capsys):
    monkeypatch.delenv("SHOP_ACTION_SECRET", raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["--port", "0"]) == 2
    assert "SHOP_ACTION_SECRET" in capsys.readouterr().err


async def test_an_unauthenticated_body_is_never_read(app_for):
    async with serve_app(app_for()) as url:
        head = (b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000000000000\r\n\r\n")
        answer = await raw_request(urlparse(url).port, head, b'{"next_action"')
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


async def test_oversized_and_inflating_bodies_are_refused(app_for):
    headers = {SECRET_HEADER: ACTION_SECRET}
    async with serve_app(app_for()) as url:
        port = urlparse(url).port
        head = (f"POST /webhook HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {ACTION_SECRET}\r\n"
                "Content-Length: 100000000\r\n\r\n").encode()
        assert (await raw_request(port, head, b"{")).startswith(b"HTTP/1.1 413")
        bomb = zlib.compress(b" " * (64 * 1024 * 1024))  # 64 MB of spaces in ~64 KB
        async with aiohttp.ClientSession() as s:
            async with s.post(url + "/webhook", data=bomb,
                              headers={**headers, "Content-Encoding": "deflate"}) as resp:
                assert resp.status == 413
