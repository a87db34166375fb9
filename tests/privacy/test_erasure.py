"""Delete my data: the customer's conversations (Rasa's own SQL tracker store), needs, feedback,
escalations, account requests, subscriptions and browsing events are gone from every table and
from the database files; orders are kept, anonymised; a conversation still going on is erased
once it is quiet; another customer's data is untouched."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import String, Text, create_engine, func, inspect, select, text

from bot import audit
from bot.cli import main
from bot.demo.fixtures import ALICE_ID, BEN_ID, FIXTURE_NOW
from bot.identity import VERIFIED_KEY, sign
from bot.privacy.erasure import CustomerNotFound, complete_pending, erase_customer
from bot.privacy.export import export_customer
from bot.privacy.trackerstore import TrackerStore
from bot.store.db import session_scope
from bot.store.models import (
    AgentMessage,
    ConversationNote,
    ConversationTag,
    ReviewCorrection,
    Staff,
    AccountRequest,
    Customer,
    ErasureRequest,
    Escalation,
    Event,
    Feedback,
    Need,
    NewsletterSubscription,
    Order,
    OutgoingMail,
)
from rasa_store import retrieve, save_conversation, unix
from service_helpers import UNIT_TEST_SECRET

SENTENCE = "the tangerine heron umbrella I ordered never turned up"
PRIVATE_EMAIL = "ben.private@example.net"
# Everything that identifies Ben or is his text; none may survive the erasure anywhere.
NEEDLES = ("tangerine heron", PRIVATE_EMAIL, "ben@example.com", "Okafor", "88 Albert Road",
           "07700 900456", "BS2 0XS")
ALICE_TEXT = "a lavender teapot for my aunt"
NOW = unix(FIXTURE_NOW)


def _need(conversation, customer_id, text_, seq=1):
    return Need(conversation_id=conversation, need_seq=seq, customer_id=customer_id, turn=1,
                text=text_, last_message_key=f"{conversation}-{seq}", product="umbrella",
                status="unmet", extractor_version="test", created_at=FIXTURE_NOW,
                updated_at=FIXTURE_NOW)


def seed(services, tracker_db: Path | None, *, live: bool = False, url: str | None = None
         ) -> None:
    """Ben's (and Alice's) conversations in the tracker store (a SQLite file, or ``url``) and
    rows in the shop database."""
    import functools

    save = functools.partial(save_conversation, url=url)
    said = f"{SENTENCE}, write to me at {PRIVATE_EMAIL}"
    # Signed in: the input channel put the verified id in the message metadata.
    save(tracker_db, "ben-web", [(said, "Sorry to hear that!"),
                                 ("my number is 07700 900456", "Thanks")],
         start=NOW - 3600, metadata={VERIFIED_KEY: BEN_ID})
    # Before the channel did that: a signed token in the metadata.
    token = sign(BEN_ID, UNIT_TEST_SECRET, ttl_seconds=600, now=NOW - 7200)
    save(tracker_db, "ben-token", [(SENTENCE, "I'll look into it")],
         start=NOW - 7200, metadata={"customer_token": token})
    # Not signed in, but the shop database links it to Ben (an escalation with his id).
    save(tracker_db, "ben-anon", [(f"{SENTENCE} - deliver to 88 Albert Road",
                                  "Passing you to the team")], start=NOW - 9000)
    save(tracker_db, "alice-web", [(ALICE_TEXT, "Here you go")], start=NOW - 600,
         metadata={VERIFIED_KEY: ALICE_ID})
    if live:  # Ben is chatting right now (the turn in which he asked for the erasure)
        save(tracker_db, "ben-live", [(f"delete my data - {SENTENCE}", "Done")],
             start=NOW - 30, metadata={VERIFIED_KEY: BEN_ID})
    with session_scope(services.engine) as s:
        s.add_all([
            _need("ben-web", BEN_ID, SENTENCE),
            _need("ben-anon", None, f"{SENTENCE} (anonymous capture)"),
            _need("alice-web", ALICE_ID, ALICE_TEXT),
            Feedback(conversation_id="ben-web", customer_id=BEN_ID, kind="complaint",
                     text=f"{SENTENCE}. Email {PRIVATE_EMAIL}", created_at=FIXTURE_NOW),
            Feedback(conversation_id="alice-web", customer_id=ALICE_ID, kind="review",
                     text=f"{ALICE_TEXT}: 5/5", rating=5, created_at=FIXTURE_NOW),
            Escalation(conversation_id="ben-anon", customer_id=BEN_ID, reason="complaint",
                       status="open", summary=f"- {SENTENCE}", created_at=FIXTURE_NOW,
                       updated_at=FIXTURE_NOW),
            AccountRequest(customer_id=BEN_ID, kind="delete", status="open",
                           conversation_id="ben-web", created_at=FIXTURE_NOW),
            NewsletterSubscription(email="ben@example.com", customer_id=BEN_ID,
                                   status="subscribed", created_at=FIXTURE_NOW,
                                   updated_at=FIXTURE_NOW),
            OutgoingMail(to_addr="ben@example.com", subject="Confirm", body="link",
                         created_at=FIXTURE_NOW, attempts=0, next_attempt_at=FIXTURE_NOW),
            Event(customer_id=BEN_ID, product_id=1, event_type="view",
                  occurred_at=FIXTURE_NOW - timedelta(days=1)),
            Event(customer_id=BEN_ID, product_id=3, event_type="purchase", amount=10,
                  occurred_at=FIXTURE_NOW - timedelta(days=8), quantity=1),
        ])
        s.flush()
        # What staff wrote about Ben's conversations in the console quotes him too.
        escalation = s.execute(select(Escalation.id).where(
            Escalation.conversation_id == "ben-anon")).scalar_one()
        agent = Staff(email="sam@example.test", name="Sam", password_hash="x", role="agent",
                      active=True, created_at=FIXTURE_NOW)
        s.add(agent)
        s.flush()
        s.add_all([
            AgentMessage(conversation_id="ben-anon", escalation_id=escalation, staff_id=agent.id,
                         kind="text", text=f"About '{SENTENCE}': refunded", created_at=FIXTURE_NOW),
            ConversationNote(conversation_id="ben-web", staff_id=agent.id,
                             text=f"He wrote {PRIVATE_EMAIL}", created_at=FIXTURE_NOW),
            ConversationTag(conversation_id="ben-web", tag="refund", staff_id=agent.id,
                            created_at=FIXTURE_NOW),
            ReviewCorrection(conversation_id="ben-web", event_id=1, text=SENTENCE, kind="correct",
                             status="pending", created_by=agent.id, created_at=FIXTURE_NOW),
        ])


def text_hits(url: str, needles) -> list[str]:
    """Every (table.column, needle) where a text column of any table contains a needle."""
    engine = create_engine(url)
    hits = []
    try:
        inspector = inspect(engine)
        with engine.connect() as conn:
            for table in inspector.get_table_names():
                for column in inspector.get_columns(table):
                    if not isinstance(column["type"], (String, Text)):
                        continue
                    for needle in needles:
                        found = conn.execute(text(
                            f'SELECT count(*) FROM "{table}" WHERE lower("{column["name"]}") '
                            "LIKE :needle").bindparams(needle=f"%{needle.lower()}%")).scalar()
                        if found:
                            hits.append(f"{table}.{column['name']}: {needle}")
    finally:
        engine.dispose()
    return hits


def file_hits(path: Path, needles) -> list[str]:
    hits = []
    for suffix in ("", "-wal", "-journal"):
        f = Path(str(path) + suffix)
        if f.exists():
            raw = f.read_bytes().lower()
            hits += [f"{f.name}: {n}" for n in needles if n.lower().encode() in raw]
    return hits


def _shop_path(services) -> Path:
    return Path(services.engine.url.database)


def test_erasure_leaves_no_trace_of_the_customer_in_either_database(services, tmp_path):
    tracker_db = tmp_path / "tracker.db"
    seed(services, tracker_db)
    tracker_url = f"sqlite:///{tracker_db}"
    shop_url = str(services.engine.url)
    # The needles are really there to begin with (the search works).
    assert len(text_hits(tracker_url, NEEDLES)) >= 1 and len(text_hits(shop_url, NEEDLES)) >= 4
    with session_scope(services.engine) as s:
        ben_orders = {o.number: (o.total, o.placed_at, len(o.lines)) for o in s.execute(
            select(Order).where(Order.customer_id == BEN_ID)).scalars()}
    assert ben_orders

    with TrackerStore(tracker_url) as tracker:
        result = erase_customer(services, BEN_ID, actor="staff:test", tracker=tracker)
        assert set(result.conversations) == {"ben-web", "ben-token", "ben-anon"}
        assert result.counts["needs"] == 2 and result.counts["orders_anonymised"] == len(ben_orders)
        done = complete_pending(services, tracker)
    assert [r.request_id for r in done] == [result.request_id]

    assert text_hits(tracker_url, NEEDLES) == []
    assert text_hits(shop_url, NEEDLES) == []
    assert file_hits(tracker_db, NEEDLES) == []
    assert file_hits(_shop_path(services), NEEDLES) == []
    assert retrieve(tracker_db, "ben-web") is None  # Rasa starts afresh if he writes again

    # Alice's conversation and rows are untouched.
    assert retrieve(tracker_db, "alice-web") is not None
    with session_scope(services.engine) as s:
        assert s.execute(select(func.count()).select_from(Need)
                         .where(Need.customer_id == ALICE_ID)).scalar() == 1
        assert s.execute(select(Feedback.text).where(Feedback.customer_id == ALICE_ID)
                         ).scalar_one() == f"{ALICE_TEXT}: 5/5"
        # Orders kept as the law requires: number, dates, amounts and lines, anonymised.
        kept = {o.number: (o.total, o.placed_at, len(o.lines)) for o in s.execute(
            select(Order).where(Order.customer_id == BEN_ID)).scalars()}
        assert kept == ben_orders
        for order in s.execute(select(Order).where(Order.customer_id == BEN_ID)).scalars():
            assert order.email.endswith("@erased.invalid") and order.shipping_address == "[erased]"
        ben = s.get(Customer, BEN_ID)
        assert (ben.first_name, ben.last_name, ben.phone, ben.erased_at) == (
            "Erased", "Customer", None, FIXTURE_NOW)
        assert [e.event_type for e in s.execute(select(Event).where(
            Event.customer_id == BEN_ID)).scalars()] == ["purchase"]
        for model in (Escalation, AccountRequest, NewsletterSubscription, OutgoingMail):
            assert s.execute(select(func.count()).select_from(model)).scalar() == 0, model
        request = s.get(ErasureRequest, result.request_id)
        assert (request.status, request.conversation_ids, request.completed_at) == (
            "done", "[]", FIXTURE_NOW)
        erased = audit.recent(s, action="data_erased")
        completed = audit.recent(s, action="erasure_completed")
    assert [(r.actor, r.subject) for r in erased] == [("staff:test", f"customer:{BEN_ID}")]
    assert erased[0].detail["needs"] == 2 and erased[0].detail["conversations"] == 3
    assert completed[0].detail["conversations"] == 3 and completed[0].detail["events"] == 25  # 11 + 7 + 7


def test_a_conversation_still_going_on_is_erased_once_quiet(services, tmp_path):
    """Rasa re-inserts a tracker it is working on (SQLTrackerStore.save appends only events
    beyond the stored count), so the live conversation waits until it has been quiet."""
    tracker_db = tmp_path / "tracker.db"
    seed(services, tracker_db, live=True)
    with TrackerStore(f"sqlite:///{tracker_db}") as tracker:
        result = erase_customer(services, BEN_ID, actor=f"customer:{BEN_ID}", tracker=tracker,
                                conversations=["ben-live"])
        assert complete_pending(services, tracker) == []  # "ben-live" spoke 29 s ago
        assert retrieve(tracker_db, "ben-live") is not None
        # The shop data is already gone; a need the follower logs late is caught at the end.
        with session_scope(services.engine) as s:
            assert s.execute(select(func.count()).select_from(Need)
                             .where(Need.customer_id == BEN_ID)).scalar() == 0
            s.add(_need("ben-live", None, f"late capture: {SENTENCE}", seq=7))
        services.clock = lambda: FIXTURE_NOW + timedelta(minutes=3)  # quiet for 2.5 minutes
        done = complete_pending(services, tracker)
    assert [r.request_id for r in done] == [result.request_id]
    assert done[0].counts["late_rows"] == 1
    assert retrieve(tracker_db, "ben-live") is None
    assert text_hits(f"sqlite:///{tracker_db}", NEEDLES) == []
    assert text_hits(str(services.engine.url), NEEDLES) == []


def test_erasing_twice_and_an_unknown_customer(services, tmp_path):
    with TrackerStore(f"sqlite:///{tmp_path / 'none.db'}") as tracker:
        first = erase_customer(services, BEN_ID, actor="staff:test", tracker=tracker)
        second = erase_customer(services, BEN_ID, actor="staff:test", tracker=tracker)
        assert first.request_id == second.request_id  # one pending request per customer
        assert len(complete_pending(services, tracker)) == 1
        with pytest.raises(CustomerNotFound):
            erase_customer(services, 999, actor="staff:test", tracker=tracker)


def test_export_holds_the_customers_data_and_conversations(services, tmp_path):
    tracker_db = tmp_path / "tracker.db"
    seed(services, tracker_db)
    with TrackerStore(f"sqlite:///{tracker_db}") as tracker:
        data = export_customer(services, BEN_ID, actor="staff:test", tracker=tracker)
    json.dumps(data)  # JSON-ready
    assert data["customer"]["email"] == "ben@example.com"
    assert [a["line2"] for a in data["addresses"]] == ["88 Albert Road"]
    assert data["orders"] and all(o["lines"] for o in data["orders"])
    assert {c["id"] for c in data["conversations"]} == {"ben-web", "ben-token", "ben-anon"}
    said = [m["text"] for c in data["conversations"] for m in c["messages"]
            if m["from"] == "customer"]
    assert f"{SENTENCE}, write to me at {PRIVATE_EMAIL}" in said
    assert ALICE_TEXT not in json.dumps(data)
    assert [n["text"] for n in data["needs"]] == [SENTENCE]
    assert [f["kind"] for f in data["feedback"]] == ["complaint"]
    assert [e["reason"] for e in data["escalations"]] == ["complaint"]
    assert [s["status"] for s in data["newsletter_subscriptions"]] == ["subscribed"]
    assert {e["event_type"] for e in data["browsing_events"]} == {"view", "purchase"}
    with session_scope(services.engine) as s:
        [record] = audit.recent(s, action="data_exported")
    assert (record.actor, record.subject) == ("staff:test", f"customer:{BEN_ID}")


def test_the_export_and_erase_commands(shop, db_url, tmp_path, capsys, services, monkeypatch):
    monkeypatch.setenv("SHOP_IDENTITY_SECRET", UNIT_TEST_SECRET)  # verifies the old tokens
    tracker_db = tmp_path / "tracker.db"
    seed(services, tracker_db)
    common = ["--database-url", db_url, "--tracker-url", f"sqlite:///{tracker_db}"]
    out = tmp_path / "ben.json"
    assert main(["privacy", "export", "--customer", str(BEN_ID), "--out", str(out),
                 "--actor", "staff:lee", *common]) == 0
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert json.loads(out.read_text())["customer"]["id"] == BEN_ID
    capsys.readouterr()
    # No terminal to ask on and no --yes: nothing happens.
    assert main(["privacy", "erase", "--customer", str(BEN_ID), *common]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["privacy", "erase", "--customer", str(BEN_ID), "--yes", *common]) == 0
    report = json.loads(capsys.readouterr().out)
    # The command runs on the real clock: the seeded conversations are long quiet.
    assert report["conversations_erased"] is True and report["conversations"] == 3
    assert text_hits(f"sqlite:///{tracker_db}", NEEDLES) == []
    assert main(["privacy", "erasures", *common]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "done"
    assert main(["privacy", "export", "--customer", "999", *common]) == 2
