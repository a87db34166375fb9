"""Multi-turn conversations over REST against the real Rasa server and action server."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.store.db import make_engine, session_scope
from bot.store.models import Escalation, Order

pytestmark = pytest.mark.integration

TRACKING = "DPD123456789GB"  # Alice's shipped order SH-100003 in the fixture shop


def order_status(db_url: str, number: str) -> str:
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            return s.execute(select(Order.status).where(Order.number == number)).scalar_one()
    finally:
        engine.dispose()


def test_signed_in_shopper_sees_her_order(chat):
    alice = chat(customer_id=1)
    assert "Hello" in alice.text(alice.say("hi"))
    reply = alice.text(alice.say("where is my order SH-100003"))
    assert TRACKING in reply and "DPD" in reply


def test_another_customers_order_is_refused(chat):
    ben = chat(customer_id=2)
    reply = ben.text(ben.say("where is my order SH-100003"))
    assert TRACKING not in reply
    assert "can't find an order with that number on your account" in reply


def test_forged_token_is_not_trusted(chat):
    forged = chat(token="1.9999999999.not-a-real-signature")
    reply = forged.text(forged.say("where is my order SH-100003"))
    assert TRACKING not in reply
    assert "email" in reply  # treated as anonymous: asked to prove ownership


def test_anonymous_shopper_proves_ownership_with_the_order_email(chat):
    guess = chat()
    guess.say("track my order")
    guess.say("SH-100003")
    wrong_email = guess.text(guess.say("ben@example.com"))

    unknown = chat()
    unknown.say("track my order")
    unknown.say("SH-999999")
    unknown_number = unknown.text(unknown.say("alice@example.com"))

    # A wrong guess reads exactly like an order that does not exist.
    assert wrong_email == unknown_number
    assert TRACKING not in wrong_email

    owner = chat()
    owner.say("track my order")
    owner.say("SH-100003")
    assert TRACKING in owner.text(owner.say("alice@example.com"))


def test_cancellation_asks_first_and_changes_the_order(chat, servers):
    _, db_url = servers
    alice = chat(customer_id=1)
    question = alice.say("please cancel my order SH-100001")
    assert any(r.get("buttons") for r in question), question
    assert order_status(db_url, "SH-100001") == "placed"  # nothing changes before the yes
    done = alice.text(alice.say("yes"))
    assert "cancelled" in done
    assert order_status(db_url, "SH-100001") == "cancelled"


def test_shipped_order_cannot_be_cancelled(chat, servers):
    _, db_url = servers
    alice = chat(customer_id=1)
    reply = alice.text(alice.say("cancel order SH-100003"))
    alice.say("yes")
    assert "can't change or cancel it" in reply
    assert order_status(db_url, "SH-100003") == "shipped"


def test_request_for_a_human_records_an_escalation(chat, servers):
    _, db_url = servers
    shopper = chat()
    reply = shopper.text(shopper.say("I'd like to speak to a real person please"))
    assert "ESC-" in reply
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            rows = s.execute(
                select(Escalation).where(Escalation.conversation_id == shopper.sender)
            ).scalars().all()
    finally:
        engine.dispose()
    assert [(r.reason, r.status) for r in rows] == [("human_request", "open")]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "    ",
        "a" * 10_000,
        "😀😀😀",
        "<script>alert('x')</script><img src=x onerror=alert(1)>",
        "'; DROP TABLE orders; --",
        "Où est ma commande ? Je l'attends depuis une semaine.",
        "SH-123",
    ],
)
def test_bad_input_gets_a_polite_answer_and_the_bot_keeps_working(chat, servers, text):
    _, db_url = servers
    shopper = chat()
    # Empty and over-long messages are answered by the channel itself (400 / 413 with a reply).
    replies = shopper.say(text, expect_status=(200, 400, 413))
    assert replies and replies[0].get("text"), "every message gets an answer"
    body = shopper.text(replies)
    assert "Traceback" not in body and "Exception" not in body
    assert "<script>" not in body  # user text is never echoed back
    assert "Hello" in shopper.text(shopper.say("hello"))
    assert order_status(db_url, "SH-100002") == "paid"  # the shop DB is untouched


def _escalations(db_url: str, sender: str) -> list:
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            return s.execute(select(Escalation.reason).where(
                Escalation.conversation_id == sender)).scalars().all()
    finally:
        engine.dispose()


def test_an_unclear_message_offers_topics_as_buttons_that_work(chat):
    """Issue 14: "Did you mean: A / B?" with a button per topic; pressing one (what the widget
    sends is the button's payload) carries on as if the shopper had said it."""
    shopper = chat()
    question = shopper.say("the thing from before")
    buttons = [b for r in question for b in r.get("buttons") or []]
    assert shopper.text(question).startswith("Sorry, I'm not sure I follow. Did you mean: ")
    assert len(buttons) == 3 and buttons[-1] == {"title": "Something else",
                                                  "payload": "/out_of_scope"}
    assert all(b["payload"].startswith("/") for b in buttons)
    reply = shopper.text(shopper.say("/track_order"))  # as if that button were pressed
    assert "order number" in reply  # the order form asks for it


def test_another_language_is_answered_in_english_and_never_escalated(chat, servers):
    _, db_url = servers
    shopper = chat()
    for text in ("Bonjour, je voudrais savoir pourquoi mon colis est en retard",
                 "je ne comprends pas, pouvez-vous m'aider ?",
                 "c'est toujours pas arrivé"):
        replies = shopper.say(text)
        assert "English" in shopper.text(replies), text
        assert "ESC-" not in shopper.text(replies)
    assert _escalations(db_url, shopper.sender) == []
    # the offered button brings a person when the shopper asks for one
    assert "ESC-" in shopper.text(shopper.say("/human_handoff"))
