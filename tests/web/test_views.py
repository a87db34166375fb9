"""Storefront handlers through the real app factory (aiohttp_client), fixture shop data."""
from __future__ import annotations

import gzip
import re

import pytest
from yarl import URL

from bot import identity
from bot.demo.fixtures import ALICE_ID, BEN_ID
from bot.services import Services
from bot.web.app import create_app
from bot.web.views import SESSION_COOKIE
from tests.web.conftest import RASA_URL, SECRET, make_config


SESSION = "0123456789abcdef0123456789abcdef"  # a widget's socket.io session id


def widget_customer(html: str) -> str:
    """Who the page tells the widget is signed in (a hint, not a credential)."""
    match = re.search(r'<script[^>]*data-customer="([^"]*)"', html)
    assert match, "the page has no widget script tag"
    return match.group(1)


async def fetch_token(client, session=SESSION):
    return await (await client.get("/api/identity", params={"session": session})).json()


async def sign_in(client, customer_id, next_path="/"):
    return await client.post("/account/signin", data={"customer_id": str(customer_id),
                                                      "next": next_path},
                             allow_redirects=False)


async def test_home_lists_categories_and_products(client):
    resp = await client.get("/")
    assert resp.status == 200
    html = await resp.text()
    for text in ("Shoes &amp; Boots", "Kitchen &amp; Dining", "Fellrunner Waterproof Hiking Boot",
                 "Alice Carter (#1)", "Ben Okafor (#2)"):
        assert text in html
    assert widget_customer(html) == ""  # anonymous
    assert "customer_token" not in html and "data-customer-token" not in html


async def test_category_page_lists_only_its_products(client):
    html = await (await client.get("/c/footwear")).text()
    assert "<h1>Shoes &amp; Boots</h1>" in html
    assert "Fellrunner Waterproof Hiking Boot" in html
    assert "Northvale Insulated Parka" not in html


async def test_product_page_shows_price_stock_and_attributes(client):
    html = await (await client.get("/p/copperfield-cast-iron-casserole-dish")).text()
    assert "GBP 64.00" in html
    assert "Out of stock" in html
    assert "cast iron" in html


BOOT_IMAGE = "/images/products/fellrunner-waterproof-hiking-boot.svg"


async def test_pages_show_the_product_images(client):
    for path in ("/", "/c/footwear", "/p/fellrunner-waterproof-hiking-boot"):
        html = await (await client.get(path)).text()
        assert '<img class="ph' in html and f'src="{BOOT_IMAGE}"' in html, path


async def test_a_product_without_an_image_shows_its_initial(client, shop):
    from sqlalchemy import update

    from bot.store.db import session_scope
    from bot.store.models import Product

    with session_scope(shop) as s:
        s.execute(update(Product).values(image_url=None))
    html = await (await client.get("/p/fellrunner-waterproof-hiking-boot")).text()
    assert "<img" not in html and '<span class="ph big" aria-hidden="true">F</span>' in html


async def test_product_image_is_a_safe_cacheable_svg(client, images_dir):
    resp = await client.get(BOOT_IMAGE)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/svg+xml"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert resp.headers["Cache-Control"] == "public, max-age=86400"
    body = await resp.text()
    assert body == (images_dir / "products" / "fellrunner-waterproof-hiking-boot.svg").read_text()
    assert body.startswith("<svg") and "<script" not in body
    again = await client.get(BOOT_IMAGE, headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304


@pytest.mark.parametrize("path", [
    "/images/products/nope.svg",  # a valid slug without an image
    "/images/products/fellrunner-waterproof-hiking-boot.png",
    "/images/products/fellrunner-waterproof-hiking-boot",
    "/images/products/Fellrunner-Waterproof-Hiking-Boot.svg",
    "/images/products/.svg",
    "/images/products/a--b.svg",
    "/images/products/..%2fsecret.svg",  # files that exist, outside products/
    "/images/products/..%2f..%2fshop.svg",
    "/images/products/%2e%2e%2fsecret.svg",
    "/images/products/%2e%2e%2f%2e%2e%2fconftest.svg",
    "/images/products/..%2f..%2fshop.db",
    "/images/products/..%5c..%5cshop.db",
    "/images/products/%2Fetc%2Fpasswd",
    "/images/products/x%00.svg",
    "/images/products/../products/fellrunner-waterproof-hiking-boot.svg/..",
    "/images/shop.db",
    "/images/products/",
])
async def test_product_image_refuses_bad_names_and_traversal(client, path, images_dir):
    (images_dir / "secret.svg").write_text("<svg>leaked</svg>")
    (images_dir.parent / "shop.svg").write_text("<svg>leaked</svg>")
    resp = await client.get(URL(path, encoded=True))
    assert resp.status == 404
    assert "leaked" not in await resp.text()


@pytest.mark.parametrize("path", ["/c/nope", "/p/nope", "/p/%3Cscript%3E", "/nothing/here"])
async def test_unknown_pages_are_404_pages_without_traceback(client, path):
    resp = await client.get(path)
    assert resp.status == 404
    html = await resp.text()
    assert "couldn&#39;t find" in html or "couldn't find" in html
    assert "Traceback" not in html and "<script>" not in html.replace(
        '<script src="/widget/widget.js', "")


async def test_pages_carry_csp_that_allows_only_self_and_the_rasa_server(client):
    resp = await client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "img-src 'self';" in csp  # the product images are served by the storefront
    assert f"connect-src 'self' {RASA_URL} ws://chat.example:5005" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    html = await resp.text()
    # CSP forbids inline scripts/styles: the page must not contain any.
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert "<style" not in html and " style=" not in html


async def test_widget_config_is_escaped_into_the_script_tag(client):
    html = await (await client.get("/")).text()
    assert 'data-title="Help &lt;desk&gt;"' in html
    assert f'data-server="{RASA_URL}"' in html


async def test_sign_in_sets_cookie_and_the_page_names_the_customer_but_holds_no_token(client):
    resp = await sign_in(client, ALICE_ID, "/c/footwear")
    assert resp.status == 303 and resp.headers["Location"] == "/c/footwear"
    cookie = resp.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    html = await (await client.get("/")).text()
    assert "Signed in as Alice Carter" in html
    assert widget_customer(html) == str(ALICE_ID)
    assert "customer_token" not in html  # tokens come from /api/identity, per chat session
    # the session cookie is signed for another purpose: it is not a bot token
    with pytest.raises(identity.InvalidToken):
        identity.verify(cookie.value, SECRET)
    with pytest.raises(identity.InvalidToken):
        identity.verify(cookie.value, SECRET, session=SESSION)


async def test_switching_customer_and_signing_out(client):
    await sign_in(client, ALICE_ID)
    await sign_in(client, BEN_ID)
    assert widget_customer(await (await client.get("/")).text()) == str(BEN_ID)
    assert identity.verify((await fetch_token(client))["customer_token"], SECRET,
                           session=SESSION) == BEN_ID
    resp = await client.post("/account/signin", data={"customer_id": "", "next": "/"},
                             allow_redirects=False)
    assert resp.status == 303
    assert widget_customer(await (await client.get("/")).text()) == ""
    assert (await fetch_token(client))["customer_token"] is None


async def test_identity_endpoint_gives_a_short_token_for_that_session_only(client):
    assert (await fetch_token(client))["customer_token"] is None  # anonymous
    await sign_in(client, BEN_ID)
    resp = await client.get("/api/identity", params={"session": SESSION})
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    token = body["customer_token"]
    assert identity.verify(token, SECRET, session=SESSION) == BEN_ID
    assert 0 < body["expires"] - body["now"] <= 300  # minutes, not an hour
    # bound to the session it was asked for: useless in any other conversation
    for other in ("", "another-session-0001"):
        with pytest.raises(identity.InvalidToken):
            identity.verify(token, SECRET, session=other)


@pytest.mark.parametrize("params", [{}, {"session": "short"}, {"session": "a" * 65},
                                    {"session": "../etc/passwd"}, {"session": "<script>x"}])
async def test_identity_endpoint_wants_a_widget_session_id(client, params):
    await sign_in(client, BEN_ID)
    resp = await client.get("/api/identity", params=params)
    assert resp.status == 400 and "customer_token" not in await resp.text()


async def test_forged_session_cookie_is_ignored(client):
    forged = identity.sign(ALICE_ID, "not-the-secret|storefront-session", 3600)
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: forged})
    html = await (await client.get("/")).text()
    assert widget_customer(html) == "" and "Signed in as Alice" not in html
    assert (await fetch_token(client))["customer_token"] is None


@pytest.mark.parametrize("customer_id, status", [
    ("999", 400), ("abc", 400), ("1; DROP TABLE", 400), ("9" * 40, 400), ("-1", 400),
    # digits int() reads or chokes on, but no ASCII sign-in form sends: 400, never a 500
    ("\u00b2", 400), ("\u0663", 400), ("\uff11", 400), ("1\u0663", 400), (" 1", 400),
])
async def test_sign_in_rejects_bad_ids(client, customer_id, status):
    resp = await client.post("/account/signin", data={"customer_id": customer_id},
                             allow_redirects=False)
    assert resp.status == status
    assert "Traceback" not in await resp.text()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil", "x"])
async def test_sign_in_never_redirects_off_site(client, target):
    resp = await sign_in(client, ALICE_ID, target)
    assert resp.headers["Location"] == "/"


async def test_cross_site_sign_in_post_is_refused(client):
    resp = await client.post("/account/signin", data={"customer_id": "1"},
                             headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert resp.status == 403
    assert SESSION_COOKIE not in resp.cookies


async def test_oversized_request_body_is_refused(client):
    resp = await client.post("/account/signin", data={"customer_id": "1", "x": "a" * 50_000},
                             allow_redirects=False)
    assert resp.status == 413


async def test_a_huge_declared_body_is_refused_before_it_arrives(client):
    import asyncio

    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(b"POST /account/signin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n\r\ncustomer_id=1")
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)  # no waiting for the gigabyte
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 413")


async def test_sign_in_disabled_without_secret(aiohttp_client, db_url, shop):
    config = make_config(db_url, secret="")
    client = await aiohttp_client(create_app(config, Services(config.settings, engine=shop)))
    html = await (await client.get("/")).text()
    assert "disabled" in html  # the switcher is shown but disabled
    resp = await sign_in(client, ALICE_ID)
    assert resp.status == 503


async def test_widget_bundle_is_served_gzipped_with_etag(client):
    resp = await client.get("/widget/widget.js", headers={"Accept-Encoding": "gzip"},
                            auto_decompress=False)
    assert resp.status == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    raw = gzip.decompress(await resp.read())
    assert b"session_request" in raw and b"sourceMappingURL" not in raw
    etag = resp.headers["ETag"]
    again = await client.get("/widget/widget.js", headers={"If-None-Match": etag})
    assert again.status == 304
    css = await client.get("/widget/widget.css")
    assert css.status == 200 and "text/css" in css.headers["Content-Type"]


async def test_page_references_the_versioned_bundle(client):
    html = await (await client.get("/")).text()
    etag = (await client.get("/widget/widget.js")).headers["ETag"].strip('"')
    assert f"/widget/widget.js?v={etag}" in html
    resp = await client.get(f"/widget/widget.js?v={etag}")
    assert "max-age=86400" in resp.headers["Cache-Control"]


async def test_database_failure_is_a_plain_500_page(aiohttp_client, tmp_path):
    config = make_config(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    client = await aiohttp_client(create_app(config))
    resp = await client.get("/")
    assert resp.status == 500
    html = await resp.text()
    assert "Something went wrong" in html and "Traceback" not in html and "sqlite" not in html
