"""Processes and browser for the browser tests and benchmarks/widget.py: the storefront, the
stand-in chat server, the real Rasa + action servers, and system Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from bot import servers as srv
from bot.settings import REPO_ROOT

ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# SHOP_TEST_MODEL points the e2e tests and the benchmark at another trained model file.
MODEL = Path(os.environ.get("SHOP_TEST_MODEL") or REPO_ROOT / "models" / "shop.tar.gz")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium() -> Iterator:
    """A headless system Chromium (never a Playwright browser download)."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise RuntimeError("Debian's chromium is not installed: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Service:
    """A child process on a fixed port that can be stopped and started again (network drops)."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], port: int, health: str,
                 workdir: Path):
        self.name, self.cmd, self.env, self.port = name, cmd, env, port
        self.url = f"http://127.0.0.1:{port}"
        self.health = self.url + health
        self.log = workdir / f"{name}-{port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Service":
        self.proc = subprocess.Popen(self.cmd, cwd=REPO_ROOT, env={**os.environ, **self.env},
                                     stdout=self.log.open("a"), stderr=subprocess.STDOUT)
        srv.wait_ready(self.health, self.proc, self.log, timeout=120)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            srv.stop(self.proc)
            self.proc = None


def storefront(workdir: Path, port: int, db_url: str, secret: str, rasa_url: str,
               images_dir: Path, env: dict[str, str] | None = None) -> Service:
    return Service("storefront", [srv.BIN_DIR.joinpath("python").as_posix(), "-m", "bot.web",
                                  "--port", str(port), "--rasa-url", rasa_url],
                   {"DATABASE_URL": db_url, "SHOP_IDENTITY_SECRET": secret,
                    "SHOP_IMAGES_DIR": str(images_dir), **(env or {})}, port, "/healthz", workdir)


def standin(workdir: Path, port: int, origins: str, *args: str, db_url: str = "",
            secret: str = "") -> Service:
    """The stand-in chat server (``args``: more of its options). The real channel inside it
    verifies identity tokens with ``secret`` and counts its limits in ``db_url``."""
    env = {"SHOP_IDENTITY_SECRET": secret}
    if db_url:
        env["DATABASE_URL"] = db_url
    return Service("standin", [srv.BIN_DIR.joinpath("python").as_posix(), "-m",
                               "tests.browser.standin_server", "--port", str(port),
                               "--origins", origins, *args], env, port, "/health", workdir)


# The shipped channel settings (credentials.yml), with 127.0.0.1 as a trusted proxy: the rate
# test claims its own client addresses in X-Forwarded-For, so it never uses up the address
# allowance of the browser's messages (which come from 127.0.0.1 without the header).
TRUSTED_PROXIES = "127.0.0.1"


# The Rasa HTTP API's JWT secret in the browser tests: the storefront's console calls the API.
JWT_SECRET = "browser-test-jwt-secret-of-32-bytes-or-more"


@contextmanager
def real_chat_servers(workdir: Path, db_url: str, secret: str, origins: str) -> Iterator[str]:
    """The real action server and Rasa server (trained model, our hardened channels) -> Rasa URL.
    Its tracker store is ``tracker_url(workdir, url)``; its API's JWT secret :data:`JWT_SECRET`."""
    if not MODEL.exists():
        raise RuntimeError(f"no trained model at {MODEL}: run `make train`")
    env = {"DATABASE_URL": db_url, "SHOP_IDENTITY_SECRET": secret, "SHOP_CORS_ORIGINS": origins,
           "SHOP_TRUSTED_PROXIES": TRUSTED_PROXIES}
    with srv.action_server(workdir, env) as actions:
        with srv.rasa_server(workdir, MODEL, env, urlparse(actions.url).port,
                             jwt_secret=JWT_SECRET, extra_args=("--cors", origins)) as rasa:
            yield rasa.url


def tracker_url(workdir: Path, rasa_url: str) -> str:
    """The SQLite tracker store of the Rasa server at ``rasa_url`` (bot.servers.rasa_server)."""
    return f"sqlite:///{workdir / f'tracker-{urlparse(rasa_url).port}.db'}"


def console_env(workdir: Path, rasa_url: str) -> dict[str, str]:
    """What the storefront's staff console needs: the Rasa API, its JWT secret, the tracker
    store, and a fixed session key."""
    return {"SHOP_RASA_URL": rasa_url, "RASA_JWT_SECRET": JWT_SECRET,
            "SHOP_TRACKER_URL": tracker_url(workdir, rasa_url),
            "SHOP_SESSION_SECRET": "bXlmZXJuZXRrZXlmb3J0aGVicm93c2VydGVzdHMxMjM=",
            "SHOP_AGENT_PRESENCE_SECONDS": "60"}
