"""Newsletter double opt-in, end to end below Rasa: the chat action answers the same whatever the
address's state, the worker's mail job delivers the signed link to a real SMTP server (aiosmtpd),
following it on the storefront (GET shows, POST confirms) subscribes the address."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from actions import replies
from actions.accounts import ActionSubscribeNewsletter
from bot import mail
from bot.demo.fixtures import BEN_ID, FIXTURE_NOW
from bot.settings import MailSettings
from bot.store.db import session_scope
from bot.store.models import Customer, NewsletterSubscription
from bot.support import accounts
from bot.web.app import create_app
from service_helpers import make_services
from smtp_helpers import smtp_server

from tests.actions.action_helpers import make_tracker, run, texts, token

LINK = re.compile(r"https?://\S+")


@pytest.fixture
def smtp():
    with smtp_server() as (inbox, port):
        yield inbox, port


@pytest.fixture
def nl_services(shop, db_url, tmp_path, lazy_extractor, smtp):
    _, port = smtp
    return make_services(db_url, shop, tmp_path, lazy_extractor, public_url="http://shop.test",
                         mail=MailSettings(host="127.0.0.1", port=port, starttls=False))


@pytest.fixture
async def shop_client(aiohttp_client, web_config, nl_services):
    from dataclasses import replace

    config = replace(web_config, settings=nl_services.settings)
    return await aiohttp_client(create_app(config, nl_services))


def _asked(text="please sign me up to the newsletter"):
    return [{"event": "user", "text": text,
             "parse_data": {"intent": {"name": "newsletter_subscription"}}}]


async def _chat(services, email=None, metadata=None, text="sign me up to the newsletter"):
    _, messages = await run(ActionSubscribeNewsletter(services), make_tracker(
        slots={"newsletter_email": email}, events=_asked(text), metadata=metadata))
    return texts(messages)


def _deliver(services):
    return mail.deliver_queued(services.engine, mail.Mailer(services.settings.mail),
                               services.now())


def _status(services, email):
    with session_scope(services.engine) as s:
        row = s.execute(select(NewsletterSubscription).where(
            NewsletterSubscription.email == email)).scalar_one_or_none()
        return None if row is None else (row.status, row.confirmed_at)


async def test_chat_mail_link_confirms_the_subscription(nl_services, shop_client, smtp):
    inbox, _ = smtp
    assert await _chat(nl_services, "New.Person@Example.com") == [replies.NEWSLETTER_CHECK_INBOX]
    assert _status(nl_services, "new.person@example.com") == ("pending", None)
    assert _deliver(nl_services).sent == 1
    [message] = inbox.messages()
    assert message["To"] == "new.person@example.com"
    [url] = LINK.findall(message.get_content())
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "shop.test", "/newsletter/confirm")
    assert "new.person" not in url  # the address is signed, not written in the link

    page = await shop_client.get(f"{parts.path}?{parts.query}")  # opening it changes nothing
    html = await page.text()
    assert page.status == 200 and "Yes, subscribe me" in html and "n***@example.com" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert _status(nl_services, "new.person@example.com")[0] == "pending"
    token = re.search(r'name="t" value="([^"]+)"', html).group(1)
    # the link's token never reaches the widget
    assert 'data-customer=""' in html and "customer_token" not in html
    done = await shop_client.post("/newsletter/confirm", data={"t": token})
    assert done.status == 200 and "You're subscribed" in await done.text()
    assert _status(nl_services, "new.person@example.com") == ("subscribed", FIXTURE_NOW)
    again = await shop_client.post("/newsletter/confirm", data={"t": token})
    assert "Already subscribed" in await again.text()


async def test_the_same_answer_whether_or_not_already_subscribed(nl_services, smtp):
    inbox, _ = smtp
    with session_scope(nl_services.engine) as s:
        s.add(NewsletterSubscription(email="old.hand@example.com", status="subscribed",
                                     created_at=FIXTURE_NOW, updated_at=FIXTURE_NOW))
    subscribed = await _chat(nl_services, "old.hand@example.com")
    unknown = await _chat(nl_services, "someone.new@example.com")
    assert subscribed == unknown == [replies.NEWSLETTER_CHECK_INBOX]
    _deliver(nl_services)
    assert inbox.recipients() == ["someone.new@example.com"]  # a subscriber gets no mail
    # Unsubscribing reads the same for an address on the list and one that never was.
    assert await _chat(nl_services, "old.hand@example.com", text="unsubscribe me") == \
        await _chat(nl_services, "never.here@example.com", text="unsubscribe me") == \
        [replies.NEWSLETTER_UNSUBSCRIBED]
    assert _status(nl_services, "old.hand@example.com")[0] == "unsubscribed"
    assert _status(nl_services, "never.here@example.com") is None


async def test_asking_again_sends_no_second_mail_for_a_while(nl_services, smtp):
    inbox, _ = smtp
    for _ in range(3):
        await _chat(nl_services, "target@example.com")
    _deliver(nl_services)
    assert inbox.recipients() == ["target@example.com"]
    nl_services.clock = lambda: FIXTURE_NOW + accounts.RESEND_AFTER + timedelta(seconds=1)
    await _chat(nl_services, "target@example.com")
    _deliver(nl_services)
    assert inbox.recipients() == ["target@example.com"] * 2


async def test_signed_in_customer_confirms_and_gets_marketing_opt_in(nl_services, shop_client,
                                                                     smtp):
    inbox, _ = smtp
    assert await _chat(nl_services, metadata=token(BEN_ID)) == [replies.NEWSLETTER_CHECK_INBOX]
    _deliver(nl_services)
    [message] = inbox.messages()
    assert message["To"] == "ben@example.com"
    query = urlsplit(LINK.findall(message.get_content())[0]).query
    await shop_client.post("/newsletter/confirm", data={"t": query[2:]})
    with session_scope(nl_services.engine) as s:
        assert s.get(Customer, BEN_ID).marketing_opt_in is True


async def test_bad_expired_and_withdrawn_links_subscribe_nobody(nl_services, shop_client, smtp):
    inbox, _ = smtp
    await _chat(nl_services, "late@example.com")
    _deliver(nl_services)
    good = urlsplit(LINK.findall(inbox.messages()[0].get_content())[0]).query[2:]
    sub_id, expires, signature = good.split(".")
    for bad in ("", "nonsense", f"{sub_id}.{int(expires) + 3600}.{signature}",
                f"{int(sub_id) + 1}.{expires}.{signature}", f"{sub_id}.{expires}.{'A' * 43}"):
        resp = await shop_client.post("/newsletter/confirm", data={"t": bad})
        assert resp.status == 400, bad
    nl_services.clock = lambda: FIXTURE_NOW + timedelta(hours=49)
    resp = await shop_client.post("/newsletter/confirm", data={"t": good})
    assert resp.status == 410 and "expired" in await resp.text()
    nl_services.clock = lambda: FIXTURE_NOW
    await _chat(nl_services, "late@example.com", text="unsubscribe me please")
    resp = await shop_client.post("/newsletter/confirm", data={"t": good})
    assert resp.status == 400
    assert _status(nl_services, "late@example.com")[0] == "unsubscribed"


async def test_without_a_secret_nothing_is_promised(shop, db_url, tmp_path, lazy_extractor):
    services = make_services(db_url, shop, tmp_path, lazy_extractor)
    object.__setattr__(services.settings, "identity_secret", "")
    assert await _chat(services, "a@example.com") == [replies.SOMETHING_WENT_WRONG]
