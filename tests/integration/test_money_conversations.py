"""Issue 15 over REST against the real servers: a "yes" lands only on the order its question
quoted, and non-ASCII digits get a polite answer."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.store.db import make_engine, session_scope
from bot.store.models import Order

pytestmark = pytest.mark.integration


def statuses(db_url: str) -> dict:
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            return dict(s.execute(select(Order.number, Order.status)).all())
    finally:
        engine.dispose()


def test_a_yes_after_another_order_number_changes_no_other_order(chat, servers):
    _, db_url = servers
    alice = chat(customer_id=1)
    question = alice.text(alice.say("please cancel my order SH-100002"))
    assert "Shall I cancel it?" in question
    before = statuses(db_url)
    alice.say("SH-100004")  # another order mentioned before answering
    reply = alice.text(alice.say("yes"))
    after = statuses(db_url)
    # Whatever the dialogue made of the bare number, the "yes" did not cancel SH-100004, and
    # it did not cancel SH-100002 either without the question being about it again.
    assert after["SH-100004"] == before["SH-100004"] == "delivered"
    assert after["SH-100002"] == "paid", reply


@pytest.mark.parametrize("text", ["where is my order SH-١٠٠٠٠٣", "where is my order ＳＨ-１００００３"])
def test_non_ascii_digits_get_a_polite_answer(chat, text):
    alice = chat(customer_id=1)
    reply = alice.text(alice.say(text))
    assert reply and "DPD123456789GB" not in reply and "went wrong" not in reply.lower()
