"""A support agent's messages in the widget (real headless Chromium, the stand-in chat server
with the real ShopSocketIOInput on the seeded shop database): agent bubbles with the agent's
name and system lines, shown as text, once per id, acknowledged (``agent_messages.seen_at``),
sent again to a shopper who comes back, kept across reloads; the 1-5 rating after a resolved
conversation reaches the escalation."""
from __future__ import annotations

import itertools
import time
from datetime import datetime

import pytest
from playwright.sync_api import expect

from bot.store.db import make_engine, session_scope
from bot.store.models import AgentMessage, Escalation, Staff
from tests.browser.harness import ARTIFACTS
from tests.browser.widget_page import open_widget, say, say_and_wait, session_id, wait_ready

pytestmark = pytest.mark.browser

AGENT = ".sc-log .sc-agent"
SYSTEM = ".sc-log .sc-system .sc-system-line"
HOSTILE = "<img src=x onerror=\"window.__pwned=1\"> Your refund is on its way.\nSecond line"
_numbers = itertools.count(1)


@pytest.fixture
def shop_db(live_shop_db):
    engine = make_engine(live_shop_db)
    yield engine
    engine.dispose()


def agent_said(engine, conversation_id, *messages, status="resolved") -> list[int]:
    """Sam's messages ``(kind, text)`` in ``conversation_id``, delivered but not yet seen."""
    now = datetime.utcnow()
    with session_scope(engine) as s:
        staff = Staff(email=f"sam-browser-{next(_numbers)}-{time.time_ns()}@shop.test",
                      name="Sam Carter", password_hash="x", role="agent", created_at=now)
        esc = Escalation(conversation_id=conversation_id, reason="human_request", status=status,
                         summary="", created_at=now, updated_at=now, resolved_at=now)
        s.add_all([staff, esc])
        s.flush()
        rows = [AgentMessage(conversation_id=conversation_id, escalation_id=esc.id,
                             staff_id=staff.id, kind=kind, text=text, created_at=now,
                             delivered_at=now, attempts=1) for kind, text in messages]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def wait_for(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def seen(engine, ids) -> list[bool]:
    with session_scope(engine) as s:
        return [s.get(AgentMessage, i).seen_at is not None for i in ids]


def rating(engine, conversation_id):
    with session_scope(engine) as s:
        return s.query(Escalation.rating).filter_by(conversation_id=conversation_id).scalar()


def test_agent_messages_are_shown_once_as_text_acknowledged_and_kept(standin_site, page,
                                                                     shop_db):
    shop, _ = standin_site
    page.goto(shop.url)
    open_widget(page)
    say_and_wait(page, "hello")
    sid = session_id(page)
    ids = agent_said(shop_db, sid, ("joined", "Sam from support has joined the chat."),
                     ("text", HOSTILE),
                     ("resolved", "Sam has marked this conversation as resolved. How did we do?"))
    # The shopper comes back: the channel sends what the widget never acknowledged.
    page.reload()
    wait_ready(page)
    expect(page.locator(SYSTEM)).to_have_text([
        "Sam from support has joined the chat.",
        "Sam has marked this conversation as resolved. How did we do?"])
    expect(page.locator(AGENT)).to_have_count(1)
    expect(page.locator(f"{AGENT} .sc-agent-name")).to_have_text("Sam · Support")
    expect(page.locator(f"{AGENT} .sc-bubble")).to_have_text(HOSTILE)
    assert page.locator(f"{AGENT} img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert wait_for(lambda: all(seen(shop_db, ids)))

    # Sent again (an acknowledgement lost): still shown once, and acknowledged again.
    with session_scope(shop_db) as s:
        s.get(AgentMessage, ids[1]).seen_at = None
    page.reload()
    wait_ready(page)
    assert wait_for(lambda: all(seen(shop_db, ids)))
    expect(page.locator(AGENT)).to_have_count(1)
    expect(page.locator(SYSTEM)).to_have_count(2)

    # Live, twice (a retried delivery): one bubble.
    say(page, "agent live")
    expect(page.locator(f"{AGENT} .sc-bubble").last).to_have_text(
        "Live from the console <b>bold?</b>")
    page.wait_for_timeout(500)
    expect(page.locator(AGENT)).to_have_count(2)
    expect(page.locator(f"{AGENT} .sc-agent-name").last).to_have_text("Priya · Support")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-agent.png"))


def test_the_rating_after_a_resolved_conversation_reaches_the_escalation(standin_site, page,
                                                                         shop_db):
    shop, _ = standin_site
    page.goto(shop.url)
    open_widget(page)
    say_and_wait(page, "hello")
    sid = session_id(page)
    agent_said(shop_db, sid,
               ("resolved", "Sam has marked this conversation as resolved. How did we do?"))
    page.reload()
    wait_ready(page)
    stars = page.locator(".sc-stars .sc-star")
    expect(stars).to_have_text(["1", "2", "3", "4", "5"])
    expect(page.locator(".sc-stars")).to_have_attribute(
        "aria-label", "Rate this conversation from 1 (poor) to 5 (great)")
    expect(stars.nth(3)).to_have_attribute("aria-label", "Rate 4 out of 5")
    stars.nth(3).click()
    expect(page.locator(".sc-rating .sc-system-line")).to_have_text("Thanks for rating us 4/5")
    expect(stars).to_have_count(0)
    assert wait_for(lambda: rating(shop_db, sid)) == 4
    page.reload()
    wait_ready(page)
    expect(page.locator(".sc-rating .sc-system-line")).to_have_text("Thanks for rating us 4/5")
    expect(page.locator(".sc-stars")).to_have_count(0)


def test_a_back_in_stock_notice_is_the_assistants_bubble_on_the_next_visit(standin_site, page,
                                                                          shop_db):
    shop, _ = standin_site
    page.goto(shop.url)
    open_widget(page)
    say_and_wait(page, "hello")
    sid = session_id(page)
    bots_before = page.locator(".sc-log .sc-bot").count()
    now = datetime.utcnow()
    text = ("Good news: you asked me on 12 Jun to tell you when we had casserole dish that fits. "
            "This is in stock now: [Copperfield Cast Iron Casserole Dish]"
            "(https://shop.example/p/copperfield-cast-iron-casserole-dish) (£64.00).")
    with session_scope(shop_db) as s:  # as bot.needs.back_in_stock writes it, once delivered
        row = AgentMessage(conversation_id=sid, escalation_id=None, staff_id=None,
                           kind="notice", text=text, created_at=now, delivered_at=now,
                           attempts=1)
        s.add(row)
        s.flush()
        notice_id = row.id
    page.reload()
    wait_ready(page)
    bubble = page.locator(".sc-log .sc-bot .sc-bubble").last
    expect(bubble).to_have_text(
        "Good news: you asked me on 12 Jun to tell you when we had casserole dish that fits. "
        "This is in stock now: Copperfield Cast Iron Casserole Dish (£64.00).")
    expect(bubble.locator("a")).to_have_attribute(
        "href", "https://shop.example/p/copperfield-cast-iron-casserole-dish")
    expect(page.locator(AGENT)).to_have_count(0)
    expect(page.locator(SYSTEM)).to_have_count(0)
    assert wait_for(lambda: all(seen(shop_db, [notice_id])))
    page.reload()  # acknowledged: not sent again, kept once in the history
    wait_ready(page)
    expect(page.locator(".sc-log .sc-bot")).to_have_count(bots_before + 1)
