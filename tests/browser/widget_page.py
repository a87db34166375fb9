"""Page helpers shared by the browser tests and the benchmark."""
from __future__ import annotations

import json

from playwright.sync_api import Page, expect

BOT = ".sc-log .sc-bot"
USER = ".sc-log .sc-user .sc-bubble"
BOT_TEXT = ".sc-log .sc-bot .sc-bubble"


def wait_ready(page: Page) -> None:
    page.wait_for_selector(".sc-root[data-state=ready]", state="attached")


def open_widget(page: Page) -> None:
    wait_ready(page)
    if page.locator(".sc-panel").is_hidden():
        page.click(".sc-launcher")
    expect(page.locator(".sc-panel")).to_be_visible()


def say(page: Page, text: str) -> None:
    page.fill(".sc-input", text)
    page.press(".sc-input", "Enter")


def bot_count(page: Page) -> int:
    return page.locator(BOT).count()


def say_and_wait(page: Page, text: str, timeout: float = 30_000) -> str:
    """Send ``text`` and return the text of the bot's reply (all bubbles that arrive first)."""
    before = bot_count(page)
    say(page, text)
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n",
                           arg=[BOT, before], timeout=timeout)
    page.wait_for_timeout(300)  # Rasa sends multi-part replies as separate events
    return "\n".join(page.locator(BOT).nth(i).inner_text() for i in range(before, bot_count(page)))


def session_id(page: Page) -> str:
    return page.evaluate(
        "() => { for (const k of Object.keys(localStorage)) if (k.startsWith('shopchat:'))"
        " return JSON.parse(localStorage.getItem(k)).sid; return null; }")


def force_identity(page: Page, token_for, customer: str = "1") -> None:
    """Make this tab's widget believe a customer is signed in and hand it ``token_for(session)``
    as its identity token, as a shopper tampering with their own browser would: the page's
    ``data-customer`` is rewritten while the HTML parses, and ``/api/identity`` answers with
    the forged token (injected through the devtools protocol, so the page's CSP does not apply).
    """
    import time
    from urllib.parse import parse_qs, urlparse

    page.add_init_script(script="""(customer => {
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) {
          if (n.nodeName === 'SCRIPT' && n.hasAttribute('data-customer')) {
            n.setAttribute('data-customer', customer);
          }
        }
      }).observe(document, { childList: true, subtree: true });
    })(%s)""" % json.dumps(customer))

    def fulfil(route):
        session = parse_qs(urlparse(route.request.url).query).get("session", [""])[0]
        now = int(time.time())
        route.fulfill(status=200, content_type="application/json", body=json.dumps(
            {"customer_token": token_for(session), "expires": now + 300, "now": now}))

    page.route("**/api/identity*", fulfil)
