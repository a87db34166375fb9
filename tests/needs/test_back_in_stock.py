"""Follow-through (bot.needs.back_in_stock): a signed-in shopper who asked to be told is told
once, when something that fits their unmet need is in stock, in the widget (a notice through
the console's delivery to Rasa, sent again on their next visit) and by e-mail (real SMTP)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot import mail
from bot.console import delivery
from bot.console.delivery import RasaApi
from bot.demo.fixtures import ALICE_EMAIL, ALICE_ID, BEN_ID, FIXTURE_NOW
from bot.needs.back_in_stock import notify_back_in_stock
from bot.services import Services
from bot.settings import ConsoleSettings, MailSettings, NeedsSettings, Settings
from bot.store.models import AgentMessage, Customer, Need, OutgoingMail, Product
from smtp_helpers import smtp_server
from tests.console.fake_rasa import fake_rasa_server

JWT_SECRET = "needs-test-jwt-secret-of-32-bytes-or-more"
DAY = timedelta(days=1)
DISH = 2  # the fixture's casserole dish: kitchen, blue, out of stock


@pytest.fixture
def services(shop, db_url, tmp_path):
    settings = Settings(database_url=db_url, identity_secret="needs-test-secret",
                        needs_outbox=tmp_path / "outbox.jsonl",
                        public_url="https://shop.example",
                        console=ConsoleSettings(rasa_jwt_secret=JWT_SECRET),
                        needs=NeedsSettings(back_in_stock_days=90))
    return Services(settings, engine=shop, clock=lambda: FIXTURE_NOW)


def add_need(services, conversation, customer_id, *, requested=FIXTURE_NOW - 3 * DAY,
             product="casserole dish", colour=("blue",), converted=False, seq=100):
    with services.unit_of_work() as s:
        row = Need(conversation_id=conversation, need_seq=seq, customer_id=customer_id, turn=1,
                   text="any casserole dish in blue?", last_message_key=conversation,
                   product=product, category="kitchen", colour=json.dumps(list(colour)),
                   matched_product_ids="[]", status="unmet:out_of_stock",
                   extractor_version="test", created_at=FIXTURE_NOW - 3 * DAY,
                   updated_at=FIXTURE_NOW - 3 * DAY, back_in_stock_requested_at=requested,
                   converted_at=FIXTURE_NOW - DAY if converted else None)
        s.add(row)


def restock(services, product_id=DISH, stock=4):
    with services.unit_of_work() as s:
        s.execute(update(Product).where(Product.id == product_id).values(stock=stock))


def notify(services, now=FIXTURE_NOW):
    return notify_back_in_stock(services.engine, services.settings, now)


def needs(services):
    with services.unit_of_work() as s:
        return {n.conversation_id: (n.status, n.back_in_stock_notified_at)
                for n in s.execute(select(Need)).scalars()}


def notices(services):
    with services.unit_of_work() as s:
        return [(m.conversation_id, m.kind, m.escalation_id, m.staff_id, m.text)
                for m in s.execute(select(AgentMessage).order_by(AgentMessage.id)).scalars()]


def mails(services):
    with services.unit_of_work() as s:
        return [(m.to_addr, m.subject, m.body)
                for m in s.execute(select(OutgoingMail).order_by(OutgoingMail.id)).scalars()]


def test_told_once_when_something_that_fits_is_in_stock(services):
    add_need(services, "alice-chat", ALICE_ID)
    add_need(services, "alice-red", ALICE_ID, colour=("red",))   # nothing red will come in
    add_need(services, "alice-old", ALICE_ID, requested=FIXTURE_NOW - 91 * DAY)  # expired
    add_need(services, "alice-bought", ALICE_ID, converted=True)  # a later order fulfilled it
    add_need(services, "ben-never-asked", BEN_ID, requested=None)

    assert notify(services) == 0  # still out of stock
    assert notices(services) == [] and mails(services) == []
    restock(services)
    assert notify(services) == 1
    assert needs(services)["alice-chat"] == ("unmet:out_of_stock", FIXTURE_NOW)  # status kept
    assert all(at is None for cid, (_, at) in needs(services).items() if cid != "alice-chat")
    (conversation, kind, escalation, staff, text), = notices(services)
    assert (conversation, kind, escalation, staff) == ("alice-chat", "notice", None, None)
    assert text == (
        "Good news: you asked me on 12 Jun to tell you when we had casserole dish that fits. "
        "This is in stock now: [Copperfield Cast Iron Casserole Dish]"
        "(https://shop.example/p/copperfield-cast-iron-casserole-dish) (£64.00).")
    (to, subject, body), = mails(services)
    assert (to, subject) == (ALICE_EMAIL, "In stock now: casserole dish")
    assert body.startswith("Hello Alice,\n\nOn 12 June 2026 you asked us in our chat")
    assert ("- Copperfield Cast Iron Casserole Dish, £64.00: "
            "https://shop.example/p/copperfield-cast-iron-casserole-dish") in body

    assert notify(services, FIXTURE_NOW + DAY) == 0  # once
    assert len(notices(services)) == 1 and len(mails(services)) == 1


def test_an_erased_customer_or_one_without_email_is_not_told(services):
    add_need(services, "alice-chat", ALICE_ID)
    add_need(services, "ben-chat", BEN_ID)
    with services.unit_of_work() as s:
        s.get(Customer, ALICE_ID).erased_at = FIXTURE_NOW - DAY
        s.get(Customer, BEN_ID).email = ""
    restock(services)
    assert notify(services) == 0 and notices(services) == [] and mails(services) == []


def test_the_notice_reaches_the_widget_and_the_mail_the_smtp_server(services):
    add_need(services, "alice-chat", ALICE_ID)
    restock(services)
    assert notify(services) == 1
    with fake_rasa_server() as fake:
        assert delivery.deliver_pending(services, RasaApi(fake.url, JWT_SECRET)) == 1
        (payload,) = fake.custom("alice-chat")
    assert payload["type"] == "agent_message" and payload["kind"] == "notice"
    assert payload["text"].startswith("Good news: you asked me on 12 Jun")
    # The shopper was not there: their widget gets it when they come back, until it says seen.
    assert delivery.unseen_payloads(services, "alice-chat") == [payload]
    assert delivery.mark_seen(services, "alice-chat", [payload["id"]]) == 1
    assert delivery.unseen_payloads(services, "alice-chat") == []
    # A notice is not an agent's message: the console's "unseen agent reply" e-mail skips it.
    assert delivery.email_unseen(services) == 0
    with smtp_server() as (inbox, port):
        mailer = mail.Mailer(MailSettings(host="127.0.0.1", port=port, starttls=False,
                                          sender="Shop <shop@example.com>"))
        assert mail.deliver_queued(services.engine, mailer, FIXTURE_NOW).sent == 1
    (sent,) = inbox.messages()
    assert sent["To"] == ALICE_EMAIL and sent["Subject"] == "In stock now: casserole dish"
    assert "https://shop.example/p/copperfield-cast-iron-casserole-dish" in sent.get_content()
