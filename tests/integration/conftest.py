"""Start the real action server and Rasa server on free ports for REST conversations.

The servers share a fresh SQLite shop database seeded with the fixture data (relative to the real
clock, so eligibility rules see recent orders as recent) and use the SQL tracker store.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import requests

from bot.settings import REPO_ROOT

MODEL = REPO_ROOT / "models" / "shop.tar.gz"
SECRET = "integration-test-secret"
RASA_TOKEN = "integration-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def live_db_url(tmp_path_factory) -> str:
    from bot.demo.fixtures import seed_fixture
    from bot.store.db import make_engine, session_scope
    from bot.store.schema import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'shop.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        seed_fixture(session, datetime.utcnow())
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def servers(live_db_url, tmp_path_factory):
    """(rasa_url, db_url) of a running Rasa server wired to a running action server."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL.relative_to(REPO_ROOT)}: run `make train` first")
    work = tmp_path_factory.mktemp("servers")
    actions_port, rasa_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": live_db_url,
        "SHOP_IDENTITY_SECRET": SECRET,
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    endpoints = work / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
        f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{work / "tracker.db"}"\n'
    )
    bin_dir = Path(sys.executable).parent
    actions_log, rasa_log = work / "actions.log", work / "rasa.log"
    actions = subprocess.Popen(
        [str(bin_dir / "python"), "-m", "rasa_sdk", "--actions", "actions",
         "--port", str(actions_port)],
        cwd=REPO_ROOT, env=env, stdout=actions_log.open("w"), stderr=subprocess.STDOUT,
    )
    rasa = subprocess.Popen(
        [str(bin_dir / "rasa"), "run", "--model", str(MODEL), "--endpoints", str(endpoints),
         "--credentials", str(REPO_ROOT / "credentials.yml"), "--port", str(rasa_port),
         "--enable-api", "--auth-token", RASA_TOKEN],
        cwd=REPO_ROOT, env=env, stdout=rasa_log.open("w"), stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(f"http://127.0.0.1:{actions_port}/health", actions, actions_log)
        wait_ready(f"http://127.0.0.1:{rasa_port}/status?token={RASA_TOKEN}", rasa, rasa_log)
        yield f"http://127.0.0.1:{rasa_port}", live_db_url
    finally:
        stop(rasa)
        stop(actions)


class Chat:
    """One shopper's conversation over the REST channel."""

    def __init__(self, rasa_url: str, token: str | None = None):
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.sender = f"it-{uuid.uuid4().hex[:12]}"
        self.token = token

    def say(self, text: str) -> list[dict]:
        body: dict = {"sender": self.sender, "message": text}
        if self.token:
            body["metadata"] = {"customer_token": self.token}
        resp = requests.post(self.url, json=body, timeout=60)
        assert resp.status_code == 200, resp.text
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
