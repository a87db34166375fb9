"""Start the real Rasa and action servers as child processes (integration tests, benchmarks).

They are started as ``scripts/run.sh`` starts them: the action server answers only calls with
the shared secret ``SHOP_ACTION_SECRET`` (which Rasa sends, endpoints.yml), the Rasa HTTP API
wants a bearer JWT signed with the run's JWT secret (``Running.headers`` holds one), and Sanic's
request size limit is set for Rasa.
"""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Iterator

import requests
import yaml

from bot.rasa_api import JWT_METHOD, auth_headers
from bot.settings import REPO_ROOT

BIN_DIR = Path(sys.executable).parent
# Sanic (the Rasa server) reads SANIC_REQUEST_MAX_SIZE from the environment; its default is
# 100 MB. Nothing we send Rasa comes near 1 MB (a chat message, an API call); the REST channel
# refuses far less itself.
RASA_MAX_REQUEST_BYTES = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 300,
               headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2, headers=headers).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_endpoints(path: Path, tracker_db: Path, actions_port: int | None,
                    repo: Path = REPO_ROOT) -> Path:
    """The project's endpoints.yml with this run's action server port and tracker database."""
    config = yaml.safe_load((repo / "endpoints.yml").read_text())
    if actions_port is None:
        config.pop("action_endpoint", None)
    else:
        config["action_endpoint"]["url"] = f"http://127.0.0.1:{actions_port}/webhook"
    config["tracker_store"]["db"] = str(tracker_db)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_credentials(path: Path, repo: Path = REPO_ROOT, **channel_settings) -> Path:
    """The project's credentials.yml with ``channel_settings`` (e.g. higher rate limits for a
    suite that sends many messages from one address) set on every channel."""
    config = yaml.safe_load((repo / "credentials.yml").read_text())
    for channel in config.values():
        channel.update(channel_settings)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# Load generators send from 127.0.0.1 far faster than a shopper: limits off (the counting,
# and so its cost per message, stays).
UNLIMITED = MappingProxyType({"rate_per_minute": 1_000_000, "address_rate_per_minute": 1_000_000})


def identity_token(secret: str, customer_id: int, sender: str, repo: Path = REPO_ROOT,
                   ttl_seconds: int = 24 * 3600) -> str:
    """A signed-in shopper's token for conversation ``sender`` that ``repo``'s checkout
    accepts: bound to the conversation since tokens are (bot.identity ``session``), the older
    unbound form for a checkout from before (benchmarks compare the two)."""
    from bot.identity import sign

    bound = "session: str" in (repo / "bot" / "identity.py").read_text()
    return sign(customer_id, secret, ttl_seconds, session=sender if bound else "")


def with_action_secret(env: dict[str, str]) -> dict[str, str]:
    """``env`` itself, given a ``SHOP_ACTION_SECRET`` when it has none (the caller's environment's,
    else a random one): every server started with the same ``env`` dict shares it, so the Rasa
    server sends the secret the action server expects."""
    env.setdefault("SHOP_ACTION_SECRET",
                   os.environ.get("SHOP_ACTION_SECRET") or secrets.token_hex(32))
    return env


@dataclass
class Running:
    url: str
    proc: subprocess.Popen
    log: Path
    # Headers that authenticate to this server's HTTP API (the Rasa server: a bearer admin JWT).
    headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def action_server(workdir: Path, env: dict[str, str], actions: str = "actions",
                  repo: Path = REPO_ROOT) -> Iterator[Running]:
    """Our action server (``python -m actions``), or rasa-sdk's for another ``actions`` package
    (the benchmarks' do-nothing actions, or a checkout from before ``python -m actions``).
    ``env`` gains the shared action secret (:func:`with_action_secret`): pass the same dict to
    :func:`rasa_server`."""
    with_action_secret(env)
    port = free_port()
    log = workdir / f"actions-{port}.log"
    ours = actions == "actions" and (repo / "actions" / "__main__.py").exists()
    command = ["-m", "actions"] if ours else ["-m", "rasa_sdk", "--actions", actions]
    proc = subprocess.Popen(
        [str(BIN_DIR / "python"), *command, "--port", str(port)],
        cwd=repo, env={**os.environ, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/health", proc, log)
        yield Running(f"http://127.0.0.1:{port}", proc, log)
    finally:
        stop(proc)


def rasa_command(model: Path, endpoints: Path, port: int, jwt_secret: str, credentials: Path,
                 extra_args: tuple[str, ...] = ()) -> list[str]:
    """``rasa run`` as scripts/run.sh starts it: HTTP API behind a JWT, our channels."""
    return [str(BIN_DIR / "rasa"), "run", "--model", str(model), "--endpoints", str(endpoints),
            "--credentials", str(credentials), "--port", str(port), "--enable-api",
            "--jwt-secret", jwt_secret, "--jwt-method", JWT_METHOD, *extra_args]


def rasa_env(env: dict[str, str]) -> dict[str, str]:
    """The Rasa server's environment: ours, ``env``, and Sanic's request size limit."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
            "SANIC_REQUEST_MAX_SIZE": str(RASA_MAX_REQUEST_BYTES), **env}


@contextmanager
def rasa_server(
    workdir: Path,
    model: Path,
    env: dict[str, str],
    actions_port: int | None,
    jwt_secret: str = "",
    repo: Path = REPO_ROOT,
    credentials: Path | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[Running]:
    """The Rasa server with the HTTP API behind a JWT signed with ``jwt_secret`` (random when
    empty); ``Running.headers`` authenticates to it. ``env`` gains the shared action secret."""
    with_action_secret(env)
    jwt_secret = jwt_secret or secrets.token_hex(32)
    port = free_port()
    log = workdir / f"rasa-{port}.log"
    endpoints = write_endpoints(workdir / f"endpoints-{port}.yml", workdir / f"tracker-{port}.db",
                                actions_port, repo)
    proc = subprocess.Popen(
        rasa_command(model, endpoints, port, jwt_secret,
                     credentials or repo / "credentials.yml", extra_args),
        cwd=repo, env=rasa_env(env), stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    # Long enough for the slowest benchmark run on this server.
    headers = auth_headers(jwt_secret, ttl_seconds=24 * 3600)
    try:
        wait_ready(f"http://127.0.0.1:{port}/status", proc, log, headers=headers)
        yield Running(f"http://127.0.0.1:{port}", proc, log, headers)
    finally:
        stop(proc)


def seed_live_db(url: str) -> None:
    """Migrate a fresh DB and load the fixture shop relative to the real clock."""
    from datetime import datetime

    from bot.demo.fixtures import seed_fixture
    from bot.store.db import make_engine, session_scope
    from bot.store.schema import upgrade

    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        seed_fixture(session, datetime.utcnow())
    engine.dispose()
