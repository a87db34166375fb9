"""Fixtures for the browser tests: headless system Chromium, a seeded shop DB, the storefront,
and either the stand-in chat server (widget mechanics) or the real Rasa + action servers (e2e)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot import servers as srv
from bot.demo.fixtures import FIXTURE_NOW, fixture_rows
from bot.demo.images import images_for_rows, write_images
from tests.browser import harness

SECRET = "browser-test-secret"


@pytest.fixture(scope="session")
def browser():
    if harness.chromium_path() is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium")
    with harness.chromium() as b:
        yield b


@pytest.fixture(scope="session")
def live_shop_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'shop.db'}"
    srv.seed_live_db(url)
    return url


@pytest.fixture(scope="session")
def live_images_dir(tmp_path_factory) -> Path:
    """The fixture shop's product images (their URLs are on its products) for the storefront."""
    folder = tmp_path_factory.mktemp("browser-images")
    write_images(images_for_rows(fixture_rows(FIXTURE_NOW)), folder)
    return folder


@pytest.fixture(scope="session")
def standin_site(tmp_path_factory, live_shop_db, live_images_dir):
    """(storefront, stand-in) services; the stand-in accepts only the storefront's origin."""
    work = tmp_path_factory.mktemp("standin-site")
    shop_port, chat_port = srv.free_port(), srv.free_port()
    chat = harness.standin(work, chat_port, f"http://127.0.0.1:{shop_port}",
                           db_url=live_shop_db, secret=SECRET).start()
    shop = harness.storefront(work, shop_port, live_shop_db, SECRET, chat.url,
                              live_images_dir).start()
    try:
        yield shop, chat
    finally:
        shop.stop()
        chat.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def real_site(tmp_path_factory, live_shop_db, live_images_dir):
    """(storefront URL, Rasa URL) with the real Rasa server, action server and trained model."""
    work = tmp_path_factory.mktemp("real-site")
    shop_port = srv.free_port()
    origin = f"http://127.0.0.1:{shop_port}"
    try:
        servers = harness.real_chat_servers(work, live_shop_db, SECRET, origin)
        rasa_url = servers.__enter__()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    shop = harness.storefront(work, shop_port, live_shop_db, SECRET, rasa_url,
                              live_images_dir, env=harness.console_env(work, rasa_url)).start()
    try:
        yield shop.url, rasa_url
    finally:
        shop.stop()
        servers.__exit__(None, None, None)
