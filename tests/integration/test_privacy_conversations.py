"""Privacy with the real Rasa server and action server: "delete my data" from the chat (asked,
confirmed, shop data erased at once, the conversation erased from Rasa's tracker store by the
worker's job once quiet, a new message then starts afresh), "export my data" gives the link, and
the newsletter answer is the same for a subscriber and a stranger."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from actions import replies
from bot.privacy.erasure import complete_pending
from bot.privacy.trackerstore import TrackerStore
from bot.services import Services
from bot.settings import Settings
from bot.store.db import make_engine, session_scope
from bot.store.models import Customer, ErasureRequest, Feedback, NewsletterSubscription
from tests.integration.conftest import SECRET

pytestmark = pytest.mark.integration

DANA = 77  # a customer of this module only: the other tests share the live database
SENTENCE = "my periwinkle otter thermos leaks all over my bag"


@pytest.fixture(scope="module")
def dana(servers):
    _, db_url = servers
    from datetime import datetime

    engine = make_engine(db_url)
    with session_scope(engine) as s:
        if s.get(Customer, DANA) is None:
            s.add(Customer(id=DANA, email="dana.privacy@example.com", first_name="Dana",
                           last_name="Quillfeather", phone="07700 900777",
                           created_at=datetime.utcnow(), marketing_opt_in=False))
    engine.dispose()
    return DANA


def tracker_db(tmp_path_factory) -> Path:
    """The servers fixture's tracker store (tests/integration/conftest.py keeps it in a folder
    of its own; pytest also links that folder as "serverscurrent")."""
    [path] = {p.resolve() for p in tmp_path_factory.getbasetemp().glob("servers*/tracker-*.db")}
    return path


def user_texts(path: Path, sender: str) -> list[str]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return [json.loads(d).get("text") for (d,) in conn.execute(text(
                "SELECT data FROM events WHERE sender_id = :s AND type_name = 'user'"),
                {"s": sender})]
    finally:
        engine.dispose()


def test_delete_my_data_from_the_chat(chat, servers, dana, tmp_path_factory):
    _, db_url = servers
    shopper = chat(customer_id=dana)
    shopper.say("hi")
    shopper.say("I want to leave some feedback")
    shopper.say(SENTENCE)
    asked = shopper.text(shopper.say("please delete all my personal data"))
    assert asked == replies.ERASE_QUESTION
    done = shopper.text(shopper.say("yes"))
    assert done.startswith("Done - your account is closed and your data erased")
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            assert s.get(Customer, dana).erased_at is not None
            assert s.execute(select(Feedback).where(Feedback.conversation_id == shopper.sender)
                             ).first() is None
            request = s.execute(select(ErasureRequest).where(
                ErasureRequest.customer_id == dana)).scalar_one()
            assert request.status == "pending" and shopper.sender in request.conversation_ids
        path = tracker_db(tmp_path_factory)
        assert SENTENCE in user_texts(path, shopper.sender)  # still in Rasa's hands
        # The worker's job, once the conversation is quiet (no wait in a test).
        services = Services(Settings(database_url=db_url, identity_secret=SECRET), engine=engine)
        with TrackerStore(f"sqlite:///{path}") as tracker:
            [result] = complete_pending(services, tracker, quiet_seconds=0)
        assert result.counts["events"] > 10
        assert user_texts(path, shopper.sender) == []
        # Writing again starts a new, empty conversation: nothing of the old one comes back.
        again = shopper.text(shopper.say("hello again"))
        assert again
        assert SENTENCE not in user_texts(path, shopper.sender)
        assert user_texts(path, shopper.sender)[-1] == "hello again"
    finally:
        engine.dispose()


def test_export_needs_sign_in_and_a_yes(chat):
    stranger = chat()
    assert stranger.text(stranger.say("can I get a copy of all my data")) == \
        replies.EXPORT_DATA_SIGN_IN
    alice = chat(customer_id=1)
    assert alice.text(alice.say("can I get a copy of all my data")) == replies.EXPORT_QUESTION
    assert "/account/export.json" in alice.text(alice.say("yes please"))


def test_newsletter_answer_does_not_tell_who_is_subscribed(chat, servers):
    _, db_url = servers
    from datetime import datetime

    engine = make_engine(db_url)
    with session_scope(engine) as s:
        s.add(NewsletterSubscription(email="fan@example.com", status="subscribed",
                                     created_at=datetime.utcnow(), updated_at=datetime.utcnow()))
    answers = []
    for email in ("fan@example.com", "stranger@example.com"):
        c = chat()
        c.say("I'd like to get your newsletter")
        answers.append(c.text(c.say(email)))
    assert answers[0] == answers[1] == replies.NEWSLETTER_CHECK_INBOX
    with session_scope(engine) as s:
        status = dict(s.execute(select(NewsletterSubscription.email,
                                       NewsletterSubscription.status)).all())
    engine.dispose()
    assert status["fan@example.com"] == "subscribed"
    assert status["stranger@example.com"] == "pending"
