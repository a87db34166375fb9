"""Start the real action server and Rasa server on free ports for REST conversations.

The servers share a fresh SQLite shop database seeded with the fixture data (relative to the real
clock, so eligibility rules see recent orders as recent) and use the SQL tracker store.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from bot import servers as srv
from bot.settings import REPO_ROOT

# SHOP_TEST_MODEL lets a developer test a model trained elsewhere; `make test` uses the default.
MODEL = Path(os.environ.get("SHOP_TEST_MODEL") or REPO_ROOT / "models" / "shop.tar.gz")
SECRET = "integration-test-secret"
RASA_TOKEN = "integration-test-token"


@pytest.fixture(scope="session")
def live_db_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'shop.db'}"
    srv.seed_live_db(url)
    return url


@pytest.fixture(scope="session")
def servers(live_db_url, tmp_path_factory):
    """(rasa_url, db_url) of a running Rasa server wired to a running action server."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make models` first")
    work = tmp_path_factory.mktemp("servers")
    env = {"DATABASE_URL": live_db_url, "SHOP_IDENTITY_SECRET": SECRET}
    with srv.action_server(work, env) as actions:
        actions_port = urlparse(actions.url).port
        with srv.rasa_server(work, MODEL, env, actions_port, RASA_TOKEN) as rasa:
            yield rasa.url, live_db_url


class Chat:
    """One shopper's conversation over the REST channel."""

    def __init__(self, rasa_url: str, token: str | None = None):
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.sender = f"it-{uuid.uuid4().hex[:12]}"
        self.token = token

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
        from bot.identity import sign

        if customer_id is not None:
            token = sign(customer_id, SECRET)
        return Chat(rasa_url, token)

    return make
