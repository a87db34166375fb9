"""The staff console in headless Chromium with two browsers at once: a shopper in the widget and
an agent in the console, against the real storefront, Rasa server and action server.

The screenshots it takes (artifacts/browser/console-*.png) are the ones in docs/console.md."""
from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from bot.demo.fixtures import ALICE_ID
from bot.services import Services
from bot.settings import Settings
from bot.staff import accounts
from bot.store.db import session_scope
from bot.store.models import Escalation
from tests.browser.harness import ARTIFACTS
from tests.browser.widget_page import BOT, open_widget, say, say_and_wait, session_id

pytestmark = pytest.mark.browser

PASSWORD = "console test password"
AGENT = "sam.console@example.test"
ANALYST = "ana.console@example.test"
EVIL = '<img src=x onerror="window.pwned=1">hello'


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"))


@pytest.fixture(scope="module")
def shop_services(live_shop_db):
    services = Services(Settings(database_url=live_shop_db, identity_secret="x"))
    for email, name, role in ((AGENT, "Sam Console", "agent"),
                              (ANALYST, "Ana Lyst", "analyst")):
        try:
            accounts.add(services, email=email, name=name, role=role, password=PASSWORD)
        except accounts.StaffError:
            pass  # already there (another test module of this session made it)
    yield services
    services.close()


@pytest.fixture
def two_browsers(browser):
    contexts = [browser.new_context(viewport={"width": 1280, "height": 860}) for _ in range(2)]
    pages = [c.new_page() for c in contexts]
    for p in pages:
        p.set_default_timeout(20_000)
    yield pages
    for c in contexts:
        c.close()


def sign_in(page, shop_url: str, email: str, next_path: str = "/console/") -> None:
    page.goto(f"{shop_url}/staff/login?next={next_path}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def escalation_of(services, conversation_id: str) -> Escalation:
    with session_scope(services.engine) as s:
        row = s.execute(select(Escalation).where(Escalation.conversation_id == conversation_id)
                        .order_by(Escalation.id.desc())).scalars().first()
        s.expunge_all()
        return row


def test_takeover_live_between_a_shopper_and_an_agent(real_site, shop_services, two_browsers):
    shop_url, _ = real_site
    shopper, agent = two_browsers

    # The agent signs in and starts accepting chats.
    sign_in(agent, shop_url, AGENT)
    expect(agent.locator("h1")).to_have_text("Queue")
    expect(agent.locator("#live-status")).to_have_text("Live")
    if not agent.locator("#accepting").is_checked():
        with agent.expect_response("**/console/api/presence"):
            agent.check("#accepting")

    # A signed-in shopper asks for a person: someone is accepting, so the bot says they will join.
    shopper.goto(shop_url)
    shopper.select_option("#customer_id", str(ALICE_ID))
    shopper.click(".signin button")
    expect(shopper.locator(".hello")).to_contain_text("Alice")
    open_widget(shopper)
    reply = say_and_wait(shopper, "I want to talk to a human please")
    assert "will join you here shortly" in reply
    conversation = session_id(shopper)

    # The escalation appears in the agent's queue without a reload.
    row = agent.locator(f"#queue-rows tr[data-id='{escalation_of(shop_services, conversation).id}']")
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("asked for a person")
    expect(row).to_contain_text("Alice")
    expect(row).to_contain_text("I want to talk to a human please")
    shot(agent, "queue")

    # Open it, take over: the shopper sees the agent join.
    row.locator("a").click()
    expect(agent.locator("#transcript")).to_contain_text("I want to talk to a human please")
    expect(agent.locator("#transcript .chip.intent").first).to_be_visible()
    expect(agent.locator("#orders")).to_contain_text("SH-100003")  # Alice's own orders
    expect(agent.locator("#orders")).not_to_contain_text("SH-200001")  # Ben's
    agent.click("#btn-takeover")
    expect(agent.locator("#esc-state")).to_contain_text("bot paused")
    expect(shopper.locator(".sc-log")).to_contain_text("Sam from support has joined the chat.",
                                                      timeout=10_000)

    # The agent types (markup is text on both sides); the shopper sees it live.
    agent.fill("#reply", EVIL)
    agent.press("#reply", "Enter")
    expect(shopper.locator(".sc-log")).to_contain_text(EVIL, timeout=10_000)
    expect(agent.locator("#transcript")).to_contain_text(EVIL)
    assert shopper.evaluate("() => window.pwned") is None
    assert agent.evaluate("() => window.pwned") is None
    assert shopper.locator(".sc-log img").count() == 0

    # The shopper answers; the bot stays silent and the agent sees it live.
    bots_before = shopper.locator(BOT).count()
    say(shopper, "my parcel never arrived, order SH-100001")
    expect(agent.locator("#transcript")).to_contain_text("my parcel never arrived",
                                                        timeout=10_000)
    shot(agent, "conversation")
    shot(shopper, "widget-agent")
    shopper.wait_for_timeout(1500)
    assert shopper.locator(BOT).count() == bots_before  # nothing from the bot while paused

    # A reload shows the agent's messages (they are in the widget's history).
    shopper.reload()
    open_widget(shopper)
    expect(shopper.locator(".sc-log")).to_contain_text(EVIL)

    # Hand back: the shopper is told, and the bot answers the next message.
    agent.click("#btn-handback")
    expect(shopper.locator(".sc-log")).to_contain_text("handed you back to the assistant",
                                                      timeout=10_000)
    expect(agent.locator("#esc-state")).to_contain_text("the bot is answering")
    answer = say_and_wait(shopper, "what payment methods do you accept?")
    assert "pay" in answer.lower()

    # Resolve: the shopper is asked for a rating and gives one.
    agent.select_option("#outcome", "solved")
    agent.click("#btn-resolve")
    expect(agent.locator("#esc-state")).to_contain_text("resolved")
    rating = shopper.get_by_role("button", name="4 out of 5")
    expect(rating).to_be_visible(timeout=10_000)
    shot(shopper, "widget-rating")
    rating.click()
    deadline = time.monotonic() + 10
    while escalation_of(shop_services, conversation).rating != 4:
        assert time.monotonic() < deadline, "the rating never reached the database"
        time.sleep(0.2)
    row = escalation_of(shop_services, conversation)
    assert (row.status, row.outcome, row.rating) == ("resolved", "solved", 4)
    assert row.first_reply_at is not None


def test_console_needs_a_session_and_the_csrf_token(real_site, shop_services, page):
    shop_url, _ = real_site
    page.goto(f"{shop_url}/console/")
    expect(page).to_have_url(re.compile(r"/staff/login\?next=(%2F|/)console(%2F|/)$"))
    assert requests.get(f"{shop_url}/console/api/queue", timeout=10,
                        headers={"Accept": "application/json"}).status_code == 401
    sign_in(page, shop_url, AGENT)
    expect(page.locator("h1")).to_have_text("Queue")
    # Signed in, but a state change without the session's CSRF token is refused.
    response = page.request.post(f"{shop_url}/console/api/presence",
                                 data={"accepting": True})
    assert response.status == 403
    response = page.request.post(f"{shop_url}/console/api/presence", data={"accepting": False},
                                 headers={"X-CSRF-Token": "guessed"})
    assert response.status == 403


def test_an_analyst_never_sees_a_transcript(real_site, shop_services, page):
    shop_url, _ = real_site
    from bot.support import escalations

    ticket = escalations.escalate(shop_services, "analyst-probe", None, "human_request",
                                  ["please help"])
    assert ticket.reference
    sign_in(page, shop_url, ANALYST, next_path="/staff/")
    for path in ("/console/", "/console/c/analyst-probe", "/console/api/c/analyst-probe"):
        response = page.goto(f"{shop_url}{path}")
        assert response.status == 403, path
        assert "please help" not in page.content()
