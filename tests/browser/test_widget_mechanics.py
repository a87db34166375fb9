"""Widget mechanics in real headless Chromium against the stand-in chat server (the real
ShopSocketIOInput channel with a scripted bot): rendering, escaping, persistence, reconnection,
offline queue, unread badge, keyboard, phone layout, origin check, identity tokens (fetched
for the widget's own session, renewed before expiry, verified by the channel)."""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from playwright.sync_api import expect

from bot import identity
from bot.identity import VERIFIED_KEY
from tests.browser.conftest import SECRET
from tests.browser.harness import ARTIFACTS
from tests.browser.widget_page import (
    BOT_TEXT, USER, open_widget, say, say_and_wait, session_id, wait_ready,
)

pytestmark = pytest.mark.browser


def received(chat, page) -> list[dict]:
    return requests.get(f"{chat.url}/received", params={"session": session_id(page)},
                        timeout=5).json()


def test_widget_loads_under_the_csp_and_greets(standin_site, page):
    shop, _ = standin_site
    violations = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text or m.type == "error" else None)
    page.goto(shop.url)
    open_widget(page)
    expect(page.locator(BOT_TEXT).first).to_contain_text("Hi!")  # configured greeting, local
    assert "You said: hello" in say_and_wait(page, "hello")
    assert violations == []


def test_product_cards_render_safely(standin_site, page):
    shop, _ = standin_site
    page.goto(shop.url)
    open_widget(page)
    say_and_wait(page, "cards")
    cards = page.locator(".sc-card")
    expect(cards).to_have_count(5)
    first = cards.nth(0)
    expect(first.locator("a")).to_have_attribute(
        "href", f"{shop.url}/p/fellrunner-waterproof-hiking-boot")
    expect(first.locator(".sc-price")).to_contain_text("89.99")
    expect(first.locator(".sc-img")).to_have_text("F")  # placeholder when no image
    hostile = cards.nth(1)
    expect(hostile.locator(".sc-card-name")).to_have_text('<img src=x onerror="window.__pwned=1">')
    assert hostile.locator("a").count() == 0  # javascript: URL dropped, name stays plain text
    assert hostile.locator("img").count() == 0  # javascript: image dropped
    assert page.evaluate("window.__pwned") is None
    parka = cards.nth(2).locator(".sc-img img")  # served by the storefront: loads, under the CSP
    expect(parka).to_have_attribute(
        "src", f"{shop.url}/images/products/northvale-insulated-parka.svg")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                           arg=parka.element_handle())
    assert cards.nth(3).locator("img").count() == 0  # "//host": not the shop's own path
    expect(cards.nth(3).locator(".sc-img")).to_have_text("E")
    expect(cards.nth(4).locator(".sc-img")).to_have_text("M")  # failed to load: the initial
    assert cards.nth(4).locator("img").count() == 0


def test_quick_replies_send_their_payload_and_disappear(standin_site, page):
    shop, chat = standin_site
    page.goto(shop.url)
    open_widget(page)
    say_and_wait(page, "buttons")
    buttons = page.locator(".sc-reply")
    expect(buttons).to_have_text(["Yes please", "No thanks"])
    buttons.first.click()
    expect(page.locator(USER).last).to_have_text("Yes please")
    expect(page.locator(BOT_TEXT).last).to_have_text("You said: /affirm")
    assert page.locator(".sc-reply").count() == 0
    assert [m["text"] for m in received(chat, page)] == ["buttons", "/affirm"]


@pytest.mark.parametrize("hostile", [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    '"><svg onload=window.__pwned=1>',
])
def test_markup_in_messages_is_shown_as_text_and_runs_nothing(standin_site, page, hostile):
    shop, _ = standin_site
    page.goto(shop.url)
    open_widget(page)
    say_and_wait(page, hostile)
    expect(page.locator(USER).last).to_have_text(hostile)
    expect(page.locator(BOT_TEXT).last).to_have_text(f"You said: {hostile}")
    assert page.locator(".sc-log img, .sc-log script, .sc-log svg").count() == 0
    page.reload()  # and again when history is re-rendered from storage
    open_widget(page)
    expect(page.locator(USER).last).to_have_text(hostile)
    assert page.locator(".sc-log img, .sc-log script, .sc-log svg").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_only_http_links_become_links(standin_site, page):
    shop, _ = standin_site
    page.goto(shop.url)
    open_widget(page)
    say_and_wait(page, "link")
    links = page.locator(".sc-log .sc-bot").last.locator("a")
    expect(links).to_have_count(2)
    expect(links.nth(0)).to_have_text("our returns page")
    expect(links.nth(0)).to_have_attribute("href", "https://shop.example/returns")
    expect(links.nth(0)).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(links.nth(1)).to_have_attribute("href", "https://shop.example/help")  # no trailing "."
    expect(page.locator(BOT_TEXT).last).to_contain_text("[this](javascript:window.__pwned=1)")


def test_conversation_survives_reload_and_other_pages(standin_site, page):
    shop, chat = standin_site
    page.goto(shop.url)
    open_widget(page)
    say_and_wait(page, "my first message")
    sid = session_id(page)
    page.goto(f"{shop.url}/c/footwear")
    wait_ready(page)
    expect(page.locator(".sc-panel")).to_be_visible()  # stays open across pages
    expect(page.locator(USER)).to_have_text(["my first message"])
    expect(page.locator(BOT_TEXT).last).to_have_text("You said: my first message")
    say_and_wait(page, "from the category page")
    page.reload()
    wait_ready(page)
    assert session_id(page) == sid
    expect(page.locator(USER)).to_have_text(["my first message", "from the category page"])
    assert [m["text"] for m in received(chat, page)] == ["my first message",
                                                         "from the category page"]


def test_reconnects_after_a_drop_and_sends_offline_messages_once(standin_site, page):
    shop, chat = standin_site
    page.goto(shop.url)
    open_widget(page)
    say_and_wait(page, "before the drop")
    chat.stop()
    try:
        page.wait_for_selector(".sc-root[data-state=offline]", state="attached")
        say(page, "typed while offline")
        expect(page.locator(".sc-pending")).to_have_count(1)
        expect(page.locator(".sc-status")).not_to_be_empty()
    finally:
        chat.start()
    expect(page.locator(BOT_TEXT).last).to_have_text("You said: typed while offline",
                                                     timeout=20_000)
    expect(page.locator(".sc-pending")).to_have_count(0)
    expect(page.locator(".sc-status")).to_be_empty()
    page.wait_for_timeout(500)
    # the restarted server has seen exactly the one queued message, once
    assert [m["text"] for m in received(chat, page)] == ["typed while offline"]
    assert page.locator(USER).count() == 2


def test_unread_badge_while_closed_and_keyboard_use(standin_site, page):
    shop, _ = standin_site
    page.goto(shop.url)
    wait_ready(page)
    page.focus(".sc-launcher")
    page.keyboard.press("Enter")
    expect(page.locator(".sc-panel")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "sc-input"
    expect(page.locator(".sc-launcher")).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".sc-log")).to_have_attribute("aria-live", "polite")
    page.keyboard.type("slow")
    page.keyboard.press("Enter")
    expect(page.locator(".sc-typing")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(".sc-panel")).to_be_hidden()
    assert page.evaluate("document.activeElement.className") == "sc-launcher"
    expect(page.locator(".sc-badge")).to_have_text("1", timeout=10_000)
    expect(page.locator(".sc-launcher")).to_have_attribute("aria-label", "Open chat (1 unread)")
    page.keyboard.press("Enter")
    expect(page.locator(".sc-badge")).to_be_hidden()
    expect(page.locator(BOT_TEXT).last).to_have_text("done thinking")
    expect(page.locator(".sc-typing")).to_be_hidden()


def test_screenshots_desktop_and_phone(standin_site, browser):
    shop, _ = standin_site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in (("desktop", {"width": 1280, "height": 800}),
                           ("phone", {"width": 375, "height": 667})):
        context = browser.new_context(viewport=viewport, is_mobile=name == "phone",
                                      has_touch=name == "phone")
        page = context.new_page()
        page.goto(shop.url)
        open_widget(page)
        say_and_wait(page, "cards")
        box = page.locator(".sc-panel").bounding_box()
        if name == "phone":  # full screen on a phone
            assert box["width"] == viewport["width"] and box["height"] == viewport["height"]
            expect(page.locator(".sc-close")).to_be_visible()
        else:
            assert box["width"] < 400
        assert page.locator(".sc-input").bounding_box()["y"] < viewport["height"]
        page.screenshot(path=str(ARTIFACTS / f"widget-{name}.png"))
        context.close()


def test_page_from_another_origin_cannot_connect(standin_site, page):
    shop, _ = standin_site
    page.goto(shop.url.replace("127.0.0.1", "localhost"))  # same site, origin not configured
    page.wait_for_selector(".sc-root[data-state=offline]", state="attached")
    assert not page.evaluate("window.shopChat.ready")


def identity_requests(page) -> list[str]:
    """The URLs of the widget's requests for an identity token, as they happen."""
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url) if "/api/identity" in r.url else None)
    return urls


def sign_in_as(page, shop, customer_id: int, name: str) -> None:
    page.goto(shop.url)
    page.select_option("#customer_id", str(customer_id))
    page.click(".signin button")
    expect(page.locator(".hello")).to_contain_text(name)


def test_signed_in_identity_travels_verified_and_switching_clears_history(standin_site, page):
    shop, chat = standin_site
    asked = identity_requests(page)
    sign_in_as(page, shop, 1, "Alice")
    open_widget(page)
    say_and_wait(page, "as alice")
    (msg,) = received(chat, page)
    # the channel verified the token for this session and passed on only the customer id
    assert msg["metadata"] == {VERIFIED_KEY: 1}
    assert any(f"session={session_id(page)}" in url for url in asked)  # asked for this session
    page.select_option("#customer_id", "2")
    page.click(".signin button")
    expect(page.locator(".hello")).to_contain_text("Ben")
    wait_ready(page)
    expect(page.locator(USER)).to_have_count(0)  # Ben never sees Alice's conversation
    say_and_wait(page, "as ben")
    (msg,) = received(chat, page)
    assert msg["metadata"] == {VERIFIED_KEY: 2}


def test_a_guest_sends_no_identity(standin_site, page):
    shop, chat = standin_site
    asked = identity_requests(page)
    page.goto(shop.url)
    open_widget(page)
    say_and_wait(page, "as a guest")
    (msg,) = received(chat, page)
    assert msg["metadata"] == {} and asked == []


def test_the_token_is_renewed_before_it_expires_without_a_reload(standin_site, page):
    shop, chat = standin_site
    sign_in_as(page, shop, 1, "Alice")
    asked = identity_requests(page)
    answered = []

    def short_lived_first(route):
        # the first token lives two seconds: the widget must renew it by itself
        if answered:
            return route.continue_()
        session = parse_qs(urlparse(route.request.url).query)["session"][0]
        now = int(time.time())
        answered.append(session)
        route.fulfill(status=200, content_type="application/json", body=json.dumps({
            "customer_token": identity.sign(1, SECRET, ttl_seconds=2, session=session),
            "expires": now + 2, "now": now}))

    page.route("**/api/identity*", short_lived_first)
    page.reload()
    open_widget(page)
    deadline = time.monotonic() + 15
    while len(asked) < 2:  # the renewal, from the timer alone
        assert time.monotonic() < deadline, asked
        page.wait_for_timeout(200)
    page.wait_for_timeout(2500)  # the first token has expired by now
    say_and_wait(page, "still me")
    (msg,) = received(chat, page)
    assert msg["metadata"] == {VERIFIED_KEY: 1}  # sent with the renewed token
