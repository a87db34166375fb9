"""The issue's end-to-end flows in headless Chromium against the REAL servers: storefront ->
widget -> Rasa (trained model, our socket.io channel) -> action server -> shop DB."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bot import identity
from bot.demo.fixtures import ALICE_ID, BEN_ID
from tests.browser.conftest import SECRET
from tests.browser.harness import ARTIFACTS
from tests.browser.widget_page import (
    BOT_TEXT, USER, force_identity, open_widget, say_and_wait, wait_ready,
)

pytestmark = pytest.mark.browser


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{name}.png"))


def test_greet_quick_reply_and_reload_keeps_history(real_site, page):
    shop_url, _ = real_site
    page.goto(shop_url)
    open_widget(page)
    assert "Hello" in say_and_wait(page, "hiya")

    # a bare detail outside any topic: the bot offers topics as quick replies
    say_and_wait(page, "jo.bloggs@example.com")
    replies = page.locator(".sc-reply")
    expect(replies.first).to_be_visible()
    title = replies.first.inner_text()
    before = page.locator(".sc-bot").count()
    replies.first.click()
    expect(page.locator(USER).last).to_have_text(title)
    page.wait_for_function("n => document.querySelectorAll('.sc-bot').length > n", arg=before,
                           timeout=30_000)
    shot(page, "quick-reply")

    users = page.locator(USER).all_inner_texts()
    bots = page.locator(BOT_TEXT).all_inner_texts()
    page.reload()
    wait_ready(page)
    expect(page.locator(".sc-panel")).to_be_visible()
    assert page.locator(USER).all_inner_texts() == users == ["hiya", "jo.bloggs@example.com",
                                                              title]
    assert page.locator(BOT_TEXT).all_inner_texts() == bots
    # the reloaded page continues the same conversation
    assert say_and_wait(page, "thanks").strip()


def test_product_need_shows_product_cards(real_site, page):
    shop_url, _ = real_site
    page.goto(shop_url)
    open_widget(page)
    say_and_wait(page, "I'm looking for waterproof hiking boots, size 9")
    expect(page.locator(".sc-card").first).to_be_visible(timeout=15_000)
    expect(page.locator(".sc-card-name").first).to_contain_text("Hiking Boot")
    href = page.locator(".sc-card a").first.get_attribute("href")
    assert href and href.startswith(f"{shop_url}/p/")
    shot(page, "product-cards")
    page.reload()
    wait_ready(page)
    expect(page.locator(".sc-card").first).to_be_visible()  # cards are part of the history


def test_signed_in_customer_sees_own_order(real_site, page):
    shop_url, _ = real_site
    page.goto(shop_url)
    page.select_option("#customer_id", str(ALICE_ID))
    page.click(".signin button")
    expect(page.locator(".hello")).to_contain_text("Alice")
    open_widget(page)
    say_and_wait(page, "where's my order?")
    order_button = page.locator(".sc-reply", has_text="SH-100003")
    expect(order_button).to_be_visible()
    assert page.locator(".sc-reply", has_text="SH-200001").count() == 0  # Ben's order
    before = page.locator(".sc-bot").count()
    order_button.click()
    page.wait_for_function("n => document.querySelectorAll('.sc-bot').length > n", arg=before,
                           timeout=30_000)
    expect(page.locator(BOT_TEXT).last).to_contain_text("SH-100003")
    expect(page.locator(".sc-log")).to_contain_text("on its way")
    shot(page, "signed-in-order")


@pytest.mark.parametrize("hostile", ["<script>window.__pwned=1</script>",
                                     '<img src=x onerror="window.__pwned=1">'])
def test_markup_sent_to_the_real_bot_is_text(real_site, page, hostile):
    shop_url, _ = real_site
    page.goto(shop_url)
    open_widget(page)
    reply = say_and_wait(page, hostile)
    assert reply.strip()
    expect(page.locator(USER).last).to_have_text(hostile)
    assert page.locator(".sc-log img, .sc-log script").count() == 0
    assert page.evaluate("window.__pwned") is None


def forged_token(forgery: str, session: str) -> str:
    if forgery == "wrong_secret":
        return identity.sign(ALICE_ID, "guessed-secret", session=session)
    if forgery == "tampered_id":  # Ben's genuine token with Alice's id swapped in
        _, expires, sig = identity.sign(BEN_ID, SECRET, session=session).split(".")
        return f"{ALICE_ID}.{expires}.{sig}"
    # replayed: Alice's genuine token, taken from her own chat session
    return identity.sign(ALICE_ID, SECRET, session="alices-own-session-0001")


@pytest.mark.parametrize("forgery", ["wrong_secret", "tampered_id", "replayed"])
def test_forged_or_replayed_identity_token_is_refused(real_site, page, forgery):
    shop_url, _ = real_site
    force_identity(page, lambda session: forged_token(forgery, session), customer=str(ALICE_ID))
    page.goto(shop_url)
    open_widget(page)
    say_and_wait(page, "where's my order?")
    assert page.locator(".sc-reply", has_text="SH-100").count() == 0  # no orders offered
    reply = say_and_wait(page, "SH-100003")
    assert "on its way" not in reply and "DPD" not in reply
    shot(page, f"forged-{forgery}")


def test_real_server_applies_origin_size_and_rate_limits(real_site):
    """The hardened channels inside the real Rasa server (no browser needed, same servers).

    127.0.0.1 is a trusted proxy for this server, so each burst below claims a client address of
    its own in X-Forwarded-For and never touches the browser tests' allowance."""
    import uuid

    import requests

    shop_url, rasa_url = real_site
    handshake = f"{rasa_url}/socket.io/?EIO=4&transport=polling"
    assert requests.get(handshake, headers={"Origin": shop_url}, timeout=10).status_code == 200
    assert requests.get(handshake, headers={"Origin": "https://evil.example"},
                        timeout=10).status_code == 400

    rest = f"{rasa_url}/webhooks/rest/webhook"

    def post(sender, client, **kwargs):
        kwargs.setdefault("json", {"sender": sender, "message": "hi"})
        return requests.post(rest, headers={"X-Forwarded-For": client}, timeout=60, **kwargs)

    run = uuid.uuid4().hex[:6]
    too_long = post("limits-1", "198.51.100.1", json={"sender": "limits-1",
                                                         "message": "x" * 1001})
    assert too_long.status_code == 413 and "too long" in too_long.json()[0]["text"]
    assert post("x", "198.51.100.1", data="not json").status_code == 400
    assert post("x", "198.51.100.1", data="{" + "x" * 40_000).status_code == 413  # unparsed
    assert post("", "198.51.100.1").status_code == 400

    def until_429(make_sender, client, cap):
        codes = []
        while len(codes) < cap and 429 not in codes:
            codes.append(post(make_sender(len(codes)), client).status_code)
        return codes

    # one conversation: 30 a minute (a window can turn over once, hence the cap)
    codes = until_429(lambda i: f"limits-2-{run}", "198.51.100.2", 70)
    assert codes[-1] == 429 and len(codes) > 30 and set(codes[:-1]) == {200}
    # one address with a new sender every time: 120 a minute
    codes = until_429(lambda i: f"rotating-{run}-{i}", "198.51.100.3", 250)
    assert codes[-1] == 429 and len(codes) > 120 and set(codes[:-1]) == {200}
    # ...while another client is unaffected
    assert post(f"other-{run}", "198.51.100.4").status_code == 200
