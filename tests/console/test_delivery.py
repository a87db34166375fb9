"""bot.console.delivery against a fake Rasa HTTP API (a real HTTP server in a thread): the
events each kind appends, the admin JWT, order within a conversation, retries after Rasa was
down, the escalation's pause flag and first reply, validation, acknowledgements, re-delivery,
the e-mail for unseen messages, and the shopper's rating."""
from __future__ import annotations

import itertools
import threading
from datetime import timezone

import jwt
import pytest
from sqlalchemy import select

from bot import mail
from bot.console import delivery
from bot.console.delivery import InvalidMessage, RasaApi, RasaUnavailable
from bot.demo.fixtures import ALICE_EMAIL, ALICE_ID, FIXTURE_NOW
from bot.services import Services
from bot.settings import ConsoleSettings, MailSettings, Settings
from bot.store.models import AgentMessage, Customer, Escalation, OutgoingMail, Staff
from smtp_helpers import smtp_server
from tests.console.fake_rasa import fake_rasa_server

JWT_SECRET = "console-test-jwt-secret-of-32-bytes-or-more"

_numbers = itertools.count(1)


def add_staff(services, name="Sam Carter") -> int:
    with services.unit_of_work() as s:
        row = Staff(email=f"agent{next(_numbers)}@shop.test", name=name, password_hash="x",
                    role="agent", created_at=FIXTURE_NOW)
        s.add(row)
        s.flush()
        return row.id


def add_escalation(services, conversation_id, customer_id=None, status="claimed") -> int:
    with services.unit_of_work() as s:
        row = Escalation(conversation_id=conversation_id, customer_id=customer_id,
                         reason="human_request", status=status, summary="",
                         created_at=FIXTURE_NOW, updated_at=FIXTURE_NOW)
        s.add(row)
        s.flush()
        return row.id


def escalation(services, escalation_id) -> Escalation:
    with services.unit_of_work() as s:
        return s.get(Escalation, escalation_id)


def message(services, message_id) -> AgentMessage:
    with services.unit_of_work() as s:
        return s.get(AgentMessage, message_id)


class Chat:
    """One escalated conversation and the agent working it."""

    def __init__(self, services, api, conversation_id="conv-0001", customer_id=None,
                 staff_name="Sam Carter"):
        self.services, self.api, self.id = services, api, conversation_id
        self.staff_name = staff_name
        self.staff_id = add_staff(services, staff_name)
        self.escalation_id = add_escalation(services, conversation_id, customer_id)

    def post(self, kind="text", text=""):
        return delivery.post(self.services, self.api, conversation_id=self.id,
                             escalation_id=self.escalation_id, staff_id=self.staff_id,
                             staff_name=self.staff_name, kind=kind, text=text)


@pytest.fixture
def shop_services(shop, db_url, clock, tmp_path):
    """Services on the seeded fixture shop (customers to e-mail), the clock the test moves, and
    the console's Rasa settings."""
    settings = Settings(database_url=db_url, identity_secret="console-test-secret",
                        needs_outbox=tmp_path / "outbox.jsonl",
                        console=ConsoleSettings(rasa_url="http://127.0.0.1:9",
                                                rasa_jwt_secret=JWT_SECRET))
    return Services(settings, engine=shop, clock=clock)


@pytest.fixture
def fake_rasa():
    with fake_rasa_server() as fake:
        yield fake


@pytest.fixture
def api(fake_rasa):
    return RasaApi(fake_rasa.url, JWT_SECRET, timeout=0.5)


@pytest.fixture
def down():
    """A Rasa API nobody listens on."""
    from bot import servers

    return RasaApi(f"http://127.0.0.1:{servers.free_port()}", JWT_SECRET, timeout=0.5)


# --- what each kind appends ----------------------------------------------------------------

def test_a_text_is_appended_as_one_bot_event_with_the_agent_payload(shop_services, api,
                                                                     fake_rasa):
    chat = Chat(shop_services, api)
    posted = chat.post(text="Hello! I'm looking at your order now.")
    assert posted.delivered and posted.error is None
    (request,) = fake_rasa.requests
    assert request.path == "/conversations/conv-0001/tracker/events"
    assert request.query == {"output_channel": ["socketio"], "execute_side_effects": ["true"]}
    scheme, token = request.headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    assert claims["user"]["role"] == "admin"
    (event,) = request.events
    assert event["event"] == "bot" and event["text"] == ""
    assert event["metadata"] == {"agent_message_id": posted.id}
    assert event["data"] == {"custom": {"type": "agent_message", "id": posted.id, "from": "Sam",
                                        "kind": "text",
                                        "text": "Hello! I'm looking at your order now."}}
    assert event["timestamp"] == pytest.approx(FIXTURE_NOW.replace(tzinfo=timezone.utc).timestamp())
    row = message(shop_services, posted.id)
    assert row.delivered_at == FIXTURE_NOW and row.attempts == 1 and row.last_error is None


def test_joined_pauses_handed_back_resumes_and_resolved_asks_for_a_rating(
        shop_services, api, fake_rasa):
    chat = Chat(shop_services, api)
    joined = chat.post("joined")
    assert [e["event"] for e in fake_rasa.requests[-1].events] == ["pause", "bot"]
    assert fake_rasa.custom()[-1]["text"] == "Sam from support has joined the chat."
    assert escalation(shop_services, chat.escalation_id).paused is True
    assert message(shop_services, joined.id).text == "Sam from support has joined the chat."

    chat.post("handed_back", text="ignored for system lines")
    assert [e["event"] for e in fake_rasa.requests[-1].events] == ["bot", "resume"]
    assert fake_rasa.custom()[-1] == {
        "type": "agent_message", "id": fake_rasa.custom()[-1]["id"], "from": "Sam",
        "kind": "handed_back",
        "text": "Sam has handed you back to the assistant. Ask me anything."}
    assert escalation(shop_services, chat.escalation_id).paused is False

    chat.post("joined")
    resolved = chat.post("resolved")
    events = fake_rasa.requests[-1].events
    assert [e["event"] for e in events] == ["bot", "bot", "resume"]
    assert events[1]["data"]["custom"] == {"type": "rating_request", "id": resolved.id}
    assert events[0]["timestamp"] < events[1]["timestamp"] < events[2]["timestamp"]
    assert fake_rasa.custom()[-2]["text"] == ("Sam has marked this conversation as resolved. "
                                             "How did we do?")
    assert escalation(shop_services, chat.escalation_id).paused is False


def test_first_reply_is_the_first_delivered_text(shop_services, api, down, fake_rasa,
                                                 clock):
    chat = Chat(shop_services, down)
    chat.post("joined")
    assert escalation(shop_services, chat.escalation_id).first_reply_at is None
    clock.advance(seconds=30)
    chat.post(text="first, but Rasa is down")
    assert escalation(shop_services, chat.escalation_id).first_reply_at is None
    clock.advance(seconds=30)
    delivered_at = clock.now
    assert delivery.deliver_pending(shop_services, api) == 2
    assert escalation(shop_services, chat.escalation_id).first_reply_at == delivered_at
    clock.advance(seconds=30)
    chat.api = api
    chat.post(text="second")
    assert escalation(shop_services, chat.escalation_id).first_reply_at == delivered_at


# --- validation ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", "\n\t\x00\x07", None, 42])
def test_an_empty_text_is_refused_and_nothing_stored(shop_services, api, fake_rasa, text):
    chat = Chat(shop_services, api)
    with pytest.raises(InvalidMessage) as refused:
        chat.post(text=text)
    assert refused.value.reason == "Please write a message before sending it."
    assert fake_rasa.requests == []
    with shop_services.unit_of_work() as s:
        assert s.execute(select(AgentMessage)).scalars().all() == []


def test_the_length_limit_counts_the_cleaned_text(shop_services, api, fake_rasa):
    chat = Chat(shop_services, api)
    limit = shop_services.settings.console.max_message_chars
    assert limit == 2000
    with pytest.raises(InvalidMessage) as refused:
        chat.post(text="x" * (limit + 1))
    assert "at most 2000" in refused.value.reason and "2001" in refused.value.reason
    ok = chat.post(text="  " + "y" * limit + "\x00\x1b  ")  # control characters don't count
    assert ok.delivered and len(message(shop_services, ok.id).text) == limit


def test_control_characters_go_line_breaks_stay(shop_services, api, fake_rasa):
    chat = Chat(shop_services, api)
    posted = chat.post(text="Hi\r\nline two\x1b[31m\u202e\n\n\n\nlast\ttab  ")
    assert message(shop_services, posted.id).text == "Hi\nline two[31m\n\nlast tab"
    assert fake_rasa.custom()[0]["text"] == "Hi\nline two[31m\n\nlast tab"


def test_unknown_kind_or_foreign_escalation_is_refused(shop_services, api, fake_rasa):
    chat = Chat(shop_services, api)
    with pytest.raises(InvalidMessage):
        chat.post(kind="shout", text="hi")
    other = add_escalation(shop_services, "another-conversation")
    with pytest.raises(InvalidMessage) as refused:
        delivery.post(shop_services, api, conversation_id=chat.id, escalation_id=other,
                      staff_id=chat.staff_id, staff_name="Sam", kind="text", text="hi")
    assert "could not be found" in refused.value.reason
    assert fake_rasa.requests == []


def test_the_shopper_sees_only_the_agents_first_name(shop_services, api, fake_rasa):
    chat = Chat(shop_services, api, staff_name="  Samira\x00 Okafor-Jones ")
    chat.post("joined")
    assert fake_rasa.custom()[0]["from"] == "Samira"
    assert fake_rasa.custom()[0]["text"] == "Samira from support has joined the chat."


# --- Rasa down: retried in order -----------------------------------------------------------

def test_rasa_down_keeps_messages_pending_and_the_worker_delivers_them_in_order(
        shop_services, api, down, fake_rasa, clock):
    chat = Chat(shop_services, down)
    first = chat.post("joined")
    assert not first.delivered and first.error == "Rasa is not reachable"
    second = chat.post(text="one")
    third = chat.post(text="two")
    assert not second.delivered and second.error == "Rasa is not reachable"
    rows = [message(shop_services, p.id) for p in (first, second, third)]
    # Each post retried the head of the line only, never a later message before it.
    assert [r.attempts for r in rows] == [3, 0, 0]
    assert rows[0].last_error == "Rasa is not reachable" and rows[1].last_error is None
    summary = delivery.undelivered_summary(shop_services, chat.id)
    assert (summary.count, summary.attempts, summary.last_error, summary.sending) == (
        3, 3, "Rasa is not reachable", False)
    assert escalation(shop_services, chat.escalation_id).paused is False
    assert delivery.deliver_pending(shop_services, down) == 0  # still down

    clock.advance(seconds=10)
    assert delivery.deliver_pending(shop_services, api) == 3
    assert [c["id"] for c in fake_rasa.custom()] == [first.id, second.id, third.id]
    assert [r.path for r in fake_rasa.requests] == [f"/conversations/{chat.id}/tracker/events"] * 3
    assert delivery.undelivered_summary(shop_services, chat.id) is None
    assert escalation(shop_services, chat.escalation_id).paused is True
    assert delivery.deliver_pending(shop_services, api) == 0  # nothing sent twice


def test_a_new_post_sends_the_older_pending_ones_first(shop_services, api, down,
                                                       fake_rasa):
    chat = Chat(shop_services, down)
    old = chat.post(text="written while Rasa was down")
    chat.api = api
    new = chat.post(text="and now it is back")
    assert new.delivered and message(shop_services, old.id).delivered_at is not None
    assert [c["id"] for c in fake_rasa.custom()] == [old.id, new.id]


@pytest.mark.parametrize("status, everywhere", [(500, False), (404, False), (503, True),
                                                (401, True)])
def test_an_error_status_is_a_failure(shop_services, api, fake_rasa, status, everywhere):
    fake_rasa.status = status
    chat = Chat(shop_services, api)
    posted = chat.post(text="hello")
    assert not posted.delivered and posted.error == f"Rasa answered HTTP {status}"
    with pytest.raises(RasaUnavailable) as err:
        api.append_events(chat.id, [{"event": "pause"}])
    assert err.value.everywhere is everywhere


def test_a_slow_rasa_times_out(shop_services, fake_rasa):
    fake_rasa.delay = 1.0
    slow = RasaApi(fake_rasa.url, JWT_SECRET, timeout=0.2)
    chat = Chat(shop_services, slow)
    posted = chat.post(text="hello")
    assert not posted.delivered and posted.error == "Rasa did not answer within 0.2 s"


def test_no_jwt_secret_is_a_failure_not_a_crash(shop_services, fake_rasa):
    chat = Chat(shop_services, RasaApi(fake_rasa.url, ""))
    posted = chat.post(text="hello")
    assert not posted.delivered and posted.error == "RASA_JWT_SECRET is not set"
    assert fake_rasa.requests == []


def test_the_worker_stops_when_rasa_is_down_for_everybody_but_not_for_one_bad_conversation(
        shop_services, api, fake_rasa, clock):
    a = Chat(shop_services, api, "conv-a")
    b = Chat(shop_services, api, "conv-b")
    fake_rasa.status = 503
    a.post(text="a1")
    b.post(text="b1")
    before = [message(shop_services, i).attempts for i in (1, 2)]
    delivery.deliver_pending(shop_services, api)
    after = [message(shop_services, i).attempts for i in (1, 2)]
    assert after == [before[0] + 1, before[1]]  # stopped after the first: Rasa is down
    fake_rasa.status = 500
    delivery.deliver_pending(shop_services, api)
    assert [message(shop_services, i).attempts for i in (1, 2)] == [after[0] + 1, after[1] + 1]
    fake_rasa.status = 200
    assert delivery.deliver_pending(shop_services, api, limit=1) == 1
    assert delivery.deliver_pending(shop_services, api) == 1


def test_a_message_being_sent_is_not_sent_again_by_another_process(shop_services, api,
                                                                   fake_rasa, clock):
    chat = Chat(shop_services, api)
    with shop_services.unit_of_work() as s:
        s.add(AgentMessage(conversation_id=chat.id, escalation_id=chat.escalation_id,
                           staff_id=chat.staff_id, kind="text", text="in flight elsewhere",
                           created_at=clock.now, attempts=1,
                           last_error=f"{delivery.SENDING}{clock.now.isoformat()}"))
    assert delivery.deliver_pending(shop_services, api) == 0
    assert fake_rasa.requests == []
    summary = delivery.undelivered_summary(shop_services, chat.id)
    assert summary.sending and summary.last_error is None
    posted = chat.post(text="behind it")  # waits its turn
    assert not posted.delivered and posted.error is None and fake_rasa.requests == []
    clock.advance(seconds=delivery.CLAIM_SECONDS + 1)  # that process died
    assert delivery.deliver_pending(shop_services, api) == 2
    assert [c["text"] for c in fake_rasa.custom()] == ["in flight elsewhere", "behind it"]


def test_concurrent_deliveries_send_each_message_once(shop_services, api, down, fake_rasa):
    chat = Chat(shop_services, down)
    for n in range(6):
        chat.post(text=f"m{n}")
    fake_rasa.delay = 0.05
    threads = [threading.Thread(target=delivery.deliver_pending, args=(shop_services, api))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    delivery.deliver_pending(shop_services, api)
    assert [c["text"] for c in fake_rasa.custom()] == [f"m{n}" for n in range(6)]


# --- what the widget tells us --------------------------------------------------------------

def test_mark_seen_only_marks_messages_of_that_conversation(shop_services, api, fake_rasa):
    mine = Chat(shop_services, api, "conv-mine")
    theirs = Chat(shop_services, api, "conv-theirs")
    a = mine.post(text="for me")
    b = theirs.post(text="for them")
    assert delivery.mark_seen(shop_services, "conv-mine", [a.id, b.id, "x", True, -1]) == 1
    assert delivery.mark_seen(shop_services, "conv-mine", [a.id]) == 0  # once
    assert message(shop_services, a.id).seen_at == FIXTURE_NOW
    assert message(shop_services, b.id).seen_at is None
    assert delivery.mark_seen(shop_services, "conv-mine", "not a list") == 0


def test_unseen_payloads_are_what_a_returning_shopper_gets(shop_services, api, down,
                                                           fake_rasa):
    chat = Chat(shop_services, api)
    joined = chat.post("joined")
    text = chat.post(text="Are you still there?")
    chat.api = down
    chat.post(text="not delivered: not sent again from the table")
    delivery.mark_seen(shop_services, chat.id, [joined.id])
    assert delivery.unseen_payloads(shop_services, chat.id) == [
        {"type": "agent_message", "id": text.id, "from": "Sam", "kind": "text",
         "text": "Are you still there?"}]
    assert delivery.unseen_payloads(shop_services, "nobody") == []


def test_a_resolved_message_seen_again_brings_its_rating_request_until_rated(
        shop_services, api, fake_rasa):
    chat = Chat(shop_services, api)
    resolved = chat.post("resolved")
    with shop_services.unit_of_work() as s:
        s.get(Escalation, chat.escalation_id).status = "resolved"
    assert [p["type"] for p in delivery.unseen_payloads(shop_services, chat.id)] == [
        "agent_message", "rating_request"]
    assert delivery.record_rating(shop_services, chat.id, 4)
    assert [p["id"] for p in delivery.unseen_payloads(shop_services, chat.id)] == [
        resolved.id]


def test_record_rating(shop_services, api, clock):
    chat = Chat(shop_services, api)
    assert not delivery.record_rating(shop_services, chat.id, 5)  # not resolved yet
    with shop_services.unit_of_work() as s:
        row = s.get(Escalation, chat.escalation_id)
        row.status, row.resolved_at = "resolved", clock.now
    for bad in (0, 6, "5", 4.5, True, None):
        assert not delivery.record_rating(shop_services, chat.id, bad)
    assert not delivery.record_rating(shop_services, "another", 5)
    clock.advance(minutes=1)
    assert delivery.record_rating(shop_services, chat.id, 5)
    assert not delivery.record_rating(shop_services, chat.id, 1)  # rated once
    row = escalation(shop_services, chat.escalation_id)
    assert (row.rating, row.rated_at) == (5, clock.now)


# --- e-mail for messages the shopper never saw --------------------------------------------

def outbox(services):
    with services.unit_of_work() as s:
        return s.execute(select(OutgoingMail).order_by(OutgoingMail.id)).scalars().all()


def test_unseen_texts_are_emailed_once_to_a_signed_in_customer(shop_services, api,
                                                              fake_rasa, clock):
    chat = Chat(shop_services, api, "conv-alice", customer_id=ALICE_ID)
    guest = Chat(shop_services, api, "conv-guest")
    chat.post("joined")
    seen = chat.post(text="You saw this one")
    chat.post(text="Your refund of £20 is on its way.")
    chat.post(text="Anything else?")
    guest.post(text="Hello guest")
    delivery.mark_seen(shop_services, chat.id, [seen.id])
    after = shop_services.settings.console.email_unseen_seconds
    clock.advance(seconds=after - 1)
    assert delivery.email_unseen(shop_services) == 0  # not long enough
    clock.advance(seconds=2)
    assert delivery.email_unseen(shop_services) == 1
    assert delivery.email_unseen(shop_services) == 0  # each message once
    (queued,) = outbox(shop_services)
    assert queued.to_addr == ALICE_EMAIL
    assert "You saw this one" not in queued.body
    assert "joined the chat" not in queued.body  # system lines are not mailed
    assert "Your refund of £20 is on its way." in queued.body and "Anything else?" in queued.body
    assert queued.body.startswith("Hello Alice,") and "Sam, 15 Jun 2026 12:00 UTC:" in queued.body
    with shop_services.unit_of_work() as s:
        emailed = s.execute(select(AgentMessage.text).where(
            AgentMessage.emailed_at.is_not(None))).scalars().all()
    assert emailed == ["Your refund of £20 is on its way.", "Anything else?"]  # not the guest's
    with smtp_server() as (inbox, port):
        mailer = mail.Mailer(MailSettings(host="127.0.0.1", port=port, starttls=False,
                                          sender="Shop <shop@example.com>"))
        assert mail.deliver_queued(shop_services.engine, mailer, clock.now).sent == 1
    (sent,) = inbox.messages()
    assert sent["To"] == ALICE_EMAIL and sent["Subject"] == "A reply from our support team"
    assert "Anything else?" in sent.get_content()


def test_an_erased_customer_is_not_emailed(shop_services, api, fake_rasa, clock):
    chat = Chat(shop_services, api, "conv-alice", customer_id=ALICE_ID)
    chat.post(text="Hello?")
    # As erasure leaves the row (bot.privacy.erasure; it cannot run here yet: it deletes the
    # escalation, which agent_messages still reference).
    with shop_services.unit_of_work() as s:
        customer = s.get(Customer, ALICE_ID)
        customer.email, customer.erased_at = "erased-1@invalid", clock.now
    clock.advance(days=1)
    assert delivery.email_unseen(shop_services) == 0
    assert outbox(shop_services) == []


def test_undelivered_messages_are_not_emailed(shop_services, down, clock):
    chat = Chat(shop_services, down, "conv-alice", customer_id=ALICE_ID)
    chat.post(text="Hello?")
    clock.advance(days=1)
    assert delivery.email_unseen(shop_services) == 0
