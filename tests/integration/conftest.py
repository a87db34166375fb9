"""Start the real action server and Rasa server on free ports for REST conversations.

The servers share a fresh SQLite shop database seeded with the fixture data (relative to the real
clock, so eligibility rules see recent orders as recent) and use the SQL tracker store. They are
secured as in production (the action server's shared secret, the HTTP API's JWT); only the
per-address message limit is raised, since every test talks from 127.0.0.1.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from bot import servers as srv
from bot.settings import REPO_ROOT

# SHOP_TEST_MODEL lets a developer test a model trained elsewhere; `make test` uses the default.
MODEL = Path(os.environ.get("SHOP_TEST_MODEL") or REPO_ROOT / "models" / "shop.tar.gz")
SECRET = "integration-test-secret"
JWT_SECRET = "integration-test-jwt-secret"
# Every test's messages come from 127.0.0.1: the suite would hit the shipped 120 a minute.
SUITE_LIMITS = {"address_rate_per_minute": 100_000}


@pytest.fixture(scope="session")
def live_db_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'shop.db'}"
    srv.seed_live_db(url)
    return url


@dataclass
class Live:
    rasa: srv.Running
    actions: srv.Running
    db_url: str
    env: dict


def need_model() -> None:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make models` first")


@pytest.fixture(scope="session")
def live(live_db_url, tmp_path_factory) -> Live:
    """A running Rasa server wired to a running action server."""
    need_model()
    work = tmp_path_factory.mktemp("servers")
    env = {"DATABASE_URL": live_db_url, "SHOP_IDENTITY_SECRET": SECRET}
    credentials = srv.write_credentials(work / "credentials.yml", **SUITE_LIMITS)
    with srv.action_server(work, env) as actions:
        actions_port = urlparse(actions.url).port
        with srv.rasa_server(work, MODEL, env, actions_port, JWT_SECRET,
                             credentials=credentials) as rasa:
            yield Live(rasa, actions, live_db_url, env)


@pytest.fixture(scope="session")
def servers(live):
    """(rasa_url, db_url)."""
    return live.rasa.url, live.db_url


class Chat:
    """One shopper's conversation over the REST channel; a signed-in shopper's token is signed
    for this conversation (tokens are bound to the chat session)."""

    def __init__(self, rasa_url: str, token: str | None = None, customer_id: int | None = None):
        from bot.identity import sign

        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.sender = f"it-{uuid.uuid4().hex[:12]}"
        self.token = sign(customer_id, SECRET, session=self.sender) if customer_id else token

    def say(self, text: str, expect_status: tuple[int, ...] = (200,)) -> list[dict]:
        body: dict = {"sender": self.sender, "message": text}
        if self.token:
            body["metadata"] = {"customer_token": self.token}
        resp = requests.post(self.url, json=body, timeout=60)
        assert resp.status_code in expect_status, (resp.status_code, resp.text)
        return resp.json()

    @staticmethod
    def text(replies: list[dict]) -> str:
        return "\n".join(r.get("text", "") for r in replies)


@pytest.fixture
def chat(servers):
    rasa_url, _ = servers

    def make(customer_id: int | None = None, token: str | None = None) -> Chat:
        return Chat(rasa_url, token, customer_id)

    return make
