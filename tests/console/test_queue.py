"""The console's queue: filters, the claim race, state changes, who may see what, notes, tags,
canned replies, presence and the side panel."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.console import queue
from bot.demo.fixtures import FIXTURE_NOW
from bot.services import Services
from bot.settings import Settings
from bot.store.db import make_engine, session_scope
from bot.store.models import AuditRecord, Escalation, Staff
from bot.support import escalations


class Clock:
    def __init__(self):
        self.now = FIXTURE_NOW

    def __call__(self):
        return self.now

    def advance(self, **kwargs):
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def svc(shop, db_url, clock, tmp_path):
    settings = Settings(database_url=db_url, identity_secret="console-test",
                        needs_outbox=tmp_path / "outbox.jsonl")
    return Services(settings, engine=shop, clock=clock)


def staff(svc, name: str, role: str = "agent") -> int:
    with session_scope(svc.engine) as s:
        row = Staff(email=f"{name.lower()}@example.test", name=name, password_hash="x",
                    role=role, active=True, created_at=svc.now())
        s.add(row)
        s.flush()
        return row.id


def escalate(svc, conversation: str, customer_id=None, reason="human_request",
             text="I want a person") -> int:
    ticket = escalations.escalate(svc, conversation, customer_id, reason, [text])
    return int(ticket.reference.split("-")[1])


def test_queue_is_oldest_first_with_shopper_reason_and_filters(svc, clock):
    sam, alex = staff(svc, "Sam"), staff(svc, "Alex")
    first = escalate(svc, "conv-a", customer_id=1, text="where is SH-100001?")
    clock.advance(minutes=5)
    second = escalate(svc, "conv-b", reason="complaint", text="your courier was rude")
    clock.advance(minutes=5)
    third = escalate(svc, "conv-c", reason="fallback")
    queue.claim(svc, sam, second, actor="staff:sam")

    page = queue.queue(svc, sam)
    assert [i.id for i in page.items] == [first, second, third]
    a = page.items[0]
    assert a.shopper != "guest" and a.customer_id == 1
    assert (a.reason_label, a.waiting_seconds, a.last_message) == \
        ("asked for a person", 600, "where is SH-100001?")
    assert page.items[1].shopper == "guest" and page.items[1].claimed_by_name == "Sam"
    assert page.counts == {"open": 2, "claimed": 1}

    ids = lambda **f: [i.id for i in queue.queue(svc, sam, queue.QueueFilter(**f)).items]  # noqa
    assert ids(mine=True) == [second]
    assert ids(unassigned=True) == [first, third]
    assert ids(status="claimed") == [second]
    assert ids(reason="fallback") == [third]
    assert [i.id for i in queue.queue(svc, alex, queue.QueueFilter(mine=True)).items] == []


def test_filters_from_a_query_ignore_unknown_values():
    flt = queue.QueueFilter.from_query({"status": "evil", "reason": "<script>", "mine": "1"})
    assert flt == queue.QueueFilter(mine=True, status="active", reason="")


def test_two_agents_claim_at_once_one_wins_the_other_is_told(svc, tmp_path, db_url):
    """Claims from two threads with their own connections: exactly one wins."""
    ids = [staff(svc, f"Agent{i}") for i in range(6)]
    esc = escalate(svc, "conv-race")
    results, barrier = [], threading.Barrier(len(ids))

    def attempt(staff_id):
        own = Services(svc.settings, engine=make_engine(db_url), clock=svc.clock)
        barrier.wait()
        try:
            queue.claim(own, staff_id, esc, actor=f"staff:{staff_id}")
            results.append(("won", staff_id))
        except queue.AlreadyClaimed as err:
            results.append(("told", err.by))
        finally:
            own.engine.dispose()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [who for what, who in results if what == "won"]
    assert len(winners) == 1
    winner_name = f"Agent{ids.index(winners[0])}"
    assert sorted(results) == sorted([("won", winners[0])] + [("told", winner_name)] * 5)
    with session_scope(svc.engine) as s:
        row = s.get(Escalation, esc)
        assert (row.status, row.claimed_by) == ("claimed", winners[0])
        claims = s.execute(select(AuditRecord).where(
            AuditRecord.action == "escalation_claimed")).scalars().all()
        assert len(claims) == 1


def test_claim_resolve_reopen_and_release(svc, clock):
    sam, alex, lead = staff(svc, "Sam"), staff(svc, "Alex"), staff(svc, "Lee", "lead")
    esc = escalate(svc, "conv-1")
    assert queue.claim(svc, sam, esc, actor="s").status == "claimed"
    assert queue.claim(svc, sam, esc, actor="s").claimed_by == sam  # again: a no-op
    with pytest.raises(queue.NotAllowed):
        queue.resolve(svc, alex, "agent", esc, "solved", actor="a")
    with pytest.raises(queue.ConsoleError, match="outcome"):
        queue.resolve(svc, sam, "agent", esc, "happy", actor="s")
    clock.advance(minutes=7)
    done = queue.resolve(svc, sam, "agent", esc, "refunded", actor="s")
    assert (done.status, done.outcome, done.waiting_seconds) == ("resolved", "refunded", 420)
    with pytest.raises(queue.ConsoleError, match="reopen"):
        queue.claim(svc, alex, esc, actor="a")
    with pytest.raises(queue.NotAllowed):
        queue.reopen(svc, alex, "agent", esc, actor="a")
    again = queue.reopen(svc, lead, "lead", esc, actor="l")
    assert (again.status, again.outcome, again.claimed_by) == ("open", None, None)
    queue.claim(svc, alex, esc, actor="a")
    back = queue.release(svc, alex, "agent", esc, actor="a")
    assert (back.status, back.claimed_by) == ("open", None)
    with pytest.raises(queue.ConsoleError, match="only a resolved"):
        queue.reopen(svc, lead, "lead", esc, actor="l")
    with session_scope(svc.engine) as s:
        actions = [r.action for r in s.execute(select(AuditRecord).order_by(AuditRecord.id))
                   .scalars()]
    assert actions == ["escalation_claimed", "escalation_resolved", "escalation_reopened",
                       "escalation_claimed", "escalation_released"]


def test_reopen_refused_while_the_conversation_has_a_newer_escalation(svc):
    sam = staff(svc, "Sam")
    old = escalate(svc, "conv-1")
    queue.claim(svc, sam, old, actor="s")
    queue.resolve(svc, sam, "agent", old, "solved", actor="s")
    escalate(svc, "conv-1")  # the shopper asks again: a new escalation
    with pytest.raises(queue.ConsoleError, match="already in the queue"):
        queue.reopen(svc, sam, "agent", old, actor="s")


def test_who_may_view_a_conversation(svc):
    sam, alex = staff(svc, "Sam"), staff(svc, "Alex")
    lead, analyst = staff(svc, "Lee", "lead"), staff(svc, "Ana", "analyst")
    esc = escalate(svc, "conv-1")
    assert queue.may_view(svc, sam, "agent", "conv-1")  # open: in the queue
    assert not queue.may_view(svc, analyst, "analyst", "conv-1")
    assert not queue.may_view(svc, lead, "lead", "conv-never-escalated")
    assert not queue.may_view(svc, sam, "agent", "conv-never-escalated")
    queue.claim(svc, sam, esc, actor="s")
    assert queue.may_view(svc, sam, "agent", "conv-1")
    assert not queue.may_view(svc, alex, "agent", "conv-1")  # someone else's
    assert queue.may_view(svc, lead, "lead", "conv-1")
    queue.resolve(svc, sam, "agent", esc, "solved", actor="s")
    assert queue.may_view(svc, sam, "agent", "conv-1")
    assert not queue.may_view(svc, alex, "agent", "conv-1")


def test_notes_tags_and_their_validation(svc):
    sam = staff(svc, "Sam")
    escalate(svc, "conv-1")
    note = queue.add_note(svc, sam, "conv-1", "  <b>called</b> the courier  ")
    assert (note.author, note.text) == ("Sam", "<b>called</b> the courier")
    with pytest.raises(queue.ConsoleError):
        queue.add_note(svc, sam, "conv-1", "   ")
    with pytest.raises(queue.ConsoleError):
        queue.add_note(svc, sam, "conv-1", "x" * 2001)
    assert [n.text for n in queue.notes(svc, "conv-1")] == ["<b>called</b> the courier"]
    assert queue.add_tag(svc, sam, "conv-1", " Late  Delivery ") == ("late delivery",)
    assert queue.add_tag(svc, sam, "conv-1", "late delivery") == ("late delivery",)
    assert queue.add_tag(svc, sam, "conv-1", "vip") == ("late delivery", "vip")
    with pytest.raises(queue.ConsoleError):
        queue.add_tag(svc, sam, "conv-1", "<img src=x>")
    assert queue.remove_tag(svc, "conv-1", "vip") == ("late delivery",)


def test_canned_replies_and_placeholders(svc):
    lead = staff(svc, "Lee", "lead")
    assert queue.ensure_default_canned(svc) == len(queue.DEFAULT_CANNED)
    assert queue.ensure_default_canned(svc) == 0
    saved = queue.save_canned(svc, lead, "Delay", "Sorry {name}, {order} is late. {other}",
                              actor="l")
    with pytest.raises(queue.ConsoleError, match="title"):
        queue.save_canned(svc, lead, "Delay", "again", actor="l")
    edited = queue.save_canned(svc, lead, "Delay", "Sorry {name}, {order} is running late.",
                               actor="l", canned_id=saved.id)
    assert edited.id == saved.id
    assert queue.fill_placeholders("Sorry {name}, {order} is late. {other}",
                                   name="Jane Smith", order="SH-100001") == \
        "Sorry Jane, SH-100001 is late. {other}"
    assert queue.fill_placeholders("Hi {name}, {order}", name="guest", order=None) == \
        "Hi there, your order"
    queue.delete_canned(svc, saved.id, actor="l")
    assert "Delay" not in [c.title for c in queue.canned_replies(svc)]
    assert queue.order_number_in(["hi", "it's sh 100002 not SH-100001", "thanks"]) == \
        "SH-100001"


def test_presence_decides_what_the_bot_promises(svc, clock):
    sam = staff(svc, "Sam")
    assert queue.available_agents(svc) == ()
    assert queue.heartbeat(svc, sam, accepting=True) is True
    assert queue.available_agents(svc) == ("Sam",)
    assert escalations.escalate(svc, "conv-1", None, "human_request", ["hi"]).agent_available
    clock.advance(seconds=svc.settings.console.presence_seconds + 1)
    assert queue.available_agents(svc) == ()
    assert not escalations.escalate(svc, "conv-2", None, "human_request", ["hi"]).agent_available
    queue.heartbeat(svc, sam)
    assert queue.available_agents(svc) == ("Sam",)
    queue.signed_off(svc, sam)
    assert queue.available_agents(svc) == ()


def test_side_panel_shows_orders_only_for_a_signed_in_shopper(svc):
    escalate(svc, "conv-guest")
    guest = queue.side_panel(svc, "conv-guest")
    assert (guest.shopper, guest.orders, guest.email) == ("guest", (), None)
    escalate(svc, "conv-1", customer_id=1)
    escalate(svc, "conv-older", customer_id=1)
    panel = queue.side_panel(svc, "conv-1")
    assert panel.customer_id == 1 and panel.email
    assert panel.orders and all(o.number.startswith("SH-") for o in panel.orders)
    assert [e.conversation_id for e in panel.earlier] == ["conv-older"]


def test_queue_version_changes_with_any_escalation_change(svc, clock):
    sam = staff(svc, "Sam")
    before = queue.version(svc)
    esc = escalate(svc, "conv-1")
    opened = queue.version(svc)
    assert opened != before
    clock.advance(seconds=1)
    queue.claim(svc, sam, esc, actor="s")
    assert queue.version(svc) != opened
