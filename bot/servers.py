"""Start the real Rasa and action servers as child processes (integration tests, benchmarks)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import requests
import yaml

from bot.settings import REPO_ROOT

BIN_DIR = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
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


@dataclass
class Running:
    url: str
    proc: subprocess.Popen
    log: Path


@contextmanager
def action_server(workdir: Path, env: dict[str, str], actions: str = "actions",
                  repo: Path = REPO_ROOT) -> Iterator[Running]:
    """Our action server (``python -m actions``), or rasa-sdk's for another ``actions`` package
    (the benchmarks' do-nothing actions, or a checkout from before ``python -m actions``)."""
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


@contextmanager
def rasa_server(
    workdir: Path,
    model: Path,
    env: dict[str, str],
    actions_port: int | None,
    auth_token: str,
    repo: Path = REPO_ROOT,
) -> Iterator[Running]:
    port = free_port()
    log = workdir / f"rasa-{port}.log"
    endpoints = write_endpoints(workdir / f"endpoints-{port}.yml", workdir / f"tracker-{port}.db",
                                actions_port, repo)
    proc = subprocess.Popen(
        [str(BIN_DIR / "rasa"), "run", "--model", str(model), "--endpoints", str(endpoints),
         "--credentials", str(repo / "credentials.yml"), "--port", str(port),
         "--enable-api", "--auth-token", auth_token],
        cwd=repo, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/status?token={auth_token}", proc, log)
        yield Running(f"http://127.0.0.1:{port}", proc, log)
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
