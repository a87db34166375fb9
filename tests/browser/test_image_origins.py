"""Product-card images in real Chromium: the widget shows images from the storefront and the
configured SHOP_IMAGE_ORIGINS only, and the storefront's CSP lets exactly those load; embedded on
another site, the widget's card links and images still point at the storefront."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bot import servers as srv
from tests.browser import harness
from tests.browser.conftest import SECRET
from tests.browser.widget_page import open_widget, say_and_wait

pytestmark = pytest.mark.browser

PARKA = "/images/products/northvale-insulated-parka.svg"


@pytest.fixture(scope="module")
def image_site(tmp_path_factory, live_shop_db, live_images_dir):
    """(storefront, stand-in): the storefront allows images from itself reached as "localhost";
    the stand-in accepts sockets from the storefront's pages and from its own host page."""
    work = tmp_path_factory.mktemp("image-site")
    shop_port, chat_port = srv.free_port(), srv.free_port()
    shop_origin = f"http://127.0.0.1:{shop_port}"
    chat_origin = f"http://127.0.0.1:{chat_port}"
    allowed = f"http://localhost:{shop_port}"
    chat = harness.standin(work, chat_port, f"{shop_origin},{chat_origin}", "--shop",
                           shop_origin, "--image-origins", allowed, db_url=live_shop_db,
                           secret=SECRET).start()
    shop = harness.storefront(work, shop_port, live_shop_db, SECRET, chat.url, live_images_dir,
                              env={"SHOP_IMAGE_ORIGINS": allowed}).start()
    try:
        yield shop, chat
    finally:
        shop.stop()
        chat.stop()


def _loaded(page, img) -> None:
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                           arg=img.element_handle())


def test_only_the_configured_image_origins_are_shown_and_allowed(image_site, page):
    shop, _ = image_site
    allowed = shop.url.replace("127.0.0.1", "localhost")
    violations = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    response = page.goto(shop.url)
    assert f"img-src 'self' {allowed};" in response.headers["content-security-policy"]
    open_widget(page)
    say_and_wait(page, "remote images")
    cards = page.locator(".sc-card")
    expect(cards).to_have_count(3)
    parka = cards.nth(0).locator(".sc-img img")
    expect(parka).to_have_attribute("src", f"{allowed}{PARKA}")
    _loaded(page, parka)  # another origin, listed in the CSP: it loads
    assert cards.nth(1).locator("img").count() == 0  # an origin nobody configured
    expect(cards.nth(1).locator(".sc-img")).to_have_text("T")
    assert cards.nth(2).locator("img").count() == 0  # data: is not an image origin
    assert violations == []  # the widget never asked for an image the CSP refuses


def test_embedded_on_another_site_cards_point_at_the_storefront(image_site, page):
    shop, chat = image_site
    page.goto(f"{chat.url}/host")  # a page of another origin embedding the widget
    open_widget(page)
    say_and_wait(page, "cards")
    first = page.locator(".sc-card").nth(0)
    expect(first.locator("a")).to_have_attribute(
        "href", f"{shop.url}/p/fellrunner-waterproof-hiking-boot")
    parka = page.locator(".sc-card").nth(2).locator(".sc-img img")
    expect(parka).to_have_attribute("src", f"{shop.url}{PARKA}")
    _loaded(page, parka)
