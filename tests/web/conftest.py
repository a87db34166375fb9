"""A storefront app over the seeded fixture shop (see tests/conftest.py: ``shop``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.demo.fixtures import FIXTURE_NOW, fixture_rows
from bot.demo.images import images_for_rows, write_images
from bot.services import Services
from bot.settings import Settings
from bot.web.app import create_app
from bot.web.config import WebConfig, WidgetConfig

SECRET = "web-test-secret"
RASA_URL = "http://chat.example:5005"


def make_config(db_url: str, secret: str = SECRET, images_dir: Path | None = None) -> WebConfig:
    settings = Settings(database_url=db_url, identity_secret=secret)
    if images_dir is not None:
        settings = Settings(database_url=db_url, identity_secret=secret, images_dir=images_dir)
    return WebConfig(
        settings=settings,
        widget=WidgetConfig(server_url=RASA_URL, title="Help <desk>", colour="#123456"),
    )


@pytest.fixture
def images_dir(tmp_path) -> Path:
    """The fixture shop's generated product images, as the demo builder writes them."""
    folder = tmp_path / "images"
    write_images(images_for_rows(fixture_rows(FIXTURE_NOW)), folder)
    return folder


@pytest.fixture
def web_config(db_url, images_dir) -> WebConfig:
    return make_config(db_url, images_dir=images_dir)


@pytest.fixture
async def client(aiohttp_client, web_config, shop):
    return await aiohttp_client(create_app(web_config, Services(web_config.settings, engine=shop)))
