"""Image origins: the storefront's CSP img-src and the widget's card filter agree."""
from dataclasses import replace

import pytest

from bot.services import Services
from bot.web.app import create_app
from bot.web.config import WebConfig
from bot.web.security import BadOrigin, content_security_policy, parse_origins


def test_parse_origins_normalises():
    assert parse_origins(None) == ()
    assert parse_origins("") == ()
    assert parse_origins("https://CDN.Example.com/, http://img.example.org:8080 "
                         "https://cdn.example.com:443,https://x.example") == (
        "https://cdn.example.com", "http://img.example.org:8080", "https://x.example")


@pytest.mark.parametrize("bad", [
    "cdn.example.com", "ftp://cdn.example.com", "https://*.example.com", "'self'", "data:",
    "https://cdn.example.com/images", "https://user:pw@cdn.example.com",
    "https://cdn.example.com?x=1", "https://cdn.example.com:99999", "javascript:alert(1)",
])
def test_parse_origins_refuses_anything_but_an_origin(bad):
    with pytest.raises(BadOrigin):
        parse_origins(bad)


def test_csp_lists_self_and_only_the_configured_image_origins():
    csp = content_security_policy("http://chat.example:5005")
    assert "img-src 'self';" in csp and "data:" not in csp
    csp = content_security_policy("http://chat.example:5005",
                                  ("https://cdn.example.com", "http://img.example.org:8080"))
    assert "img-src 'self' https://cdn.example.com http://img.example.org:8080;" in csp


def test_from_env_reads_shop_image_origins(db_url):
    config = WebConfig.from_env({"DATABASE_URL": db_url,
                                 "SHOP_IMAGE_ORIGINS": "https://cdn.example.com"})
    assert config.widget.image_origins == ("https://cdn.example.com",)
    with pytest.raises(BadOrigin):
        WebConfig.from_env({"DATABASE_URL": db_url, "SHOP_IMAGE_ORIGINS": "*"})


async def test_pages_send_the_same_origins_to_the_csp_and_the_widget(aiohttp_client, web_config,
                                                                     shop):
    widget = replace(web_config.widget,
                     image_origins=("https://cdn.example.com", "https://img.example.org"))
    config = replace(web_config, widget=widget)
    client = await aiohttp_client(create_app(config, Services(config.settings, engine=shop)))
    resp = await client.get("/")
    assert "img-src 'self' https://cdn.example.com https://img.example.org;" in \
        resp.headers["Content-Security-Policy"]
    html = await resp.text()
    assert 'data-image-origins="https://cdn.example.com https://img.example.org"' in html


async def test_without_configured_origins_the_widget_gets_none(client):
    html = await (await client.get("/")).text()
    assert 'data-image-origins=""' in html
