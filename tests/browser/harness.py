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


def standin(workdir: Path, port: int, origins: str, *args: str) -> Service:
    return Service("standin", [srv.BIN_DIR.joinpath("python").as_posix(), "-m",
                               "tests.browser.standin_server", "--port", str(port),
                               "--origins", origins, *args], {}, port, "/health", workdir)


CREDENTIALS = """\
bot.web.channels.ShopRestInput:
  max_message_chars: 1000
bot.web.channels.ShopSocketIOInput:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: true
  metadata_key: customData
"""


@contextmanager
def real_chat_servers(workdir: Path, db_url: str, secret: str, origins: str,
                      auth_token: str = "browser-test-token") -> Iterator[str]:
    """The real action server and Rasa server (trained model, our hardened channels) -> Rasa URL."""
    if not MODEL.exists():
        raise RuntimeError(f"no trained model at {MODEL}: run `make train`")
    env = {"DATABASE_URL": db_url, "SHOP_IDENTITY_SECRET": secret, "SHOP_CORS_ORIGINS": origins}
    with srv.action_server(workdir, env) as actions:
        port = srv.free_port()
        log = workdir / f"rasa-{port}.log"
        endpoints = srv.write_endpoints(workdir / f"endpoints-{port}.yml",
                                        workdir / f"tracker-{port}.db", urlparse(actions.url).port)
        credentials = workdir / "credentials.yml"
        credentials.write_text(CREDENTIALS)
        proc = subprocess.Popen(
            [str(srv.BIN_DIR / "rasa"), "run", "--model", str(MODEL), "--endpoints",
             str(endpoints), "--credentials", str(credentials), "--port", str(port),
             "--enable-api", "--auth-token", auth_token, "--cors", origins],
            cwd=REPO_ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
            stdout=log.open("w"), stderr=subprocess.STDOUT,
        )
        try:
            srv.wait_ready(f"http://127.0.0.1:{port}/status?token={auth_token}", proc, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            srv.stop(proc)
