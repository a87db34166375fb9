"""A storefront app over the seeded fixture shop (see tests/conftest.py: ``shop``)."""
from __future__ import annotations

import pytest

from bot.settings import Settings
from bot.web.app import create_app
from bot.web.config import WebConfig, WidgetConfig

SECRET = "web-test-secret"
RASA_URL = "http://chat.example:5005"


def make_config(db_url: str, secret: str = SECRET) -> WebConfig:
    return WebConfig(
        settings=Settings(database_url=db_url, identity_secret=secret),
        widget=WidgetConfig(server_url=RASA_URL, title="Help <desk>", colour="#123456"),
    )


@pytest.fixture
def web_config(db_url) -> WebConfig:
    return make_config(db_url)


@pytest.fixture
async def client(aiohttp_client, web_config, shop):
    return await aiohttp_client(create_app(web_config, engine=shop))
