"""The attack: the bot asks "Shall I cancel SH-100002?", the shopper (or someone nudging them)
then mentions another order, and the "yes" lands on whichever number was mentioned last.

The question remembers the order it quoted (``pending_order``); a "yes" acts only on that order,
and when the order talked about has changed since, it asks again about the current one and
changes nothing.
"""
from rasa_sdk.events import SlotSet
from sqlalchemy import func, select

from actions import replies
from actions.confirmation import ORDER_CHANGED, ActionHandleConfirmation
from actions.orders import ActionHandleOrderRequest
from bot.store.db import session_scope
from bot.store.models import Order, Refund
from action_helpers import make_tracker, run, texts, token


def statuses(engine):
    with session_scope(engine) as s:
        return dict(s.execute(select(Order.number, Order.status)).all())


def refunds(engine):
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(Refund)).scalar()


async def ask_to_cancel(services, number, **kwargs):
    tracker = make_tracker(slots={"order_topic": "cancel", "order_number": number,
                                  "order_email": kwargs.get("email")},
                           metadata=kwargs.get("metadata"), latest_action="order_form")
    return await run(ActionHandleOrderRequest(services), tracker)


def answer_after_other_order(intent, slots, metadata=None, asked_by="action_handle_order_request"):
    """The tracker of a yes/no answer, one turn after the shopper mentioned another order."""
    events = [{"event": "action", "name": asked_by},
              {"event": "bot", "text": "Shall I cancel SH-100002?"},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": "hang on, what about SH-100001?"},
              {"event": "slot", "name": "order_number", "value": "SH-100001"},
              {"event": "action", "name": "utter_default"},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": "yes", "parse_data": {"intent": {"name": intent}}}]
    return make_tracker(intent=intent, text="yes", metadata=metadata, events=events, slots=slots)


async def test_the_question_remembers_its_order(services):
    events, messages = await ask_to_cancel(services, "SH-100002", metadata=token(1))
    assert SlotSet("pending_order", "SH-100002") in events
    assert texts(messages)[0].endswith("Shall I cancel it?")


async def test_a_yes_after_another_order_was_mentioned_asks_again_and_changes_nothing(services):
    before = statuses(services.engine)
    tracker = answer_after_other_order("affirm", {
        "pending_action": "cancel", "pending_order": "SH-100002", "order_number": "SH-100001"},
        metadata=token(1))
    events, messages = await run(ActionHandleConfirmation(services), tracker)
    assert statuses(services.engine) == before and refunds(services.engine) == 1
    assert texts(messages) == [
        ORDER_CHANGED.format(quoted="SH-100002", current="SH-100001"),
        "SH-100001 hasn't shipped yet, so I can cancel it free of charge. Shall I cancel it?"]
    assert events == [SlotSet("pending_order", "SH-100001")]  # pending_action stays "cancel"

    # The next "yes" answers that new question, about SH-100001 only.
    again = make_tracker(intent="affirm", text="yes", metadata=token(1),
                         slots={"pending_action": "cancel", "pending_order": "SH-100001",
                                "order_number": "SH-100001"},
                         events=[{"event": "action", "name": "action_handle_confirmation"},
                                 {"event": "action", "name": "action_listen"},
                                 {"event": "user", "text": "yes"}])
    events, messages = await run(ActionHandleConfirmation(services), again)
    assert texts(messages) == ["Done: SH-100001 is cancelled."]
    after = statuses(services.engine)
    assert (after["SH-100001"], after["SH-100002"]) == ("cancelled", "paid")


async def test_a_yes_acts_on_the_quoted_order_when_nothing_changed(services):
    tracker = answer_after_other_order("affirm", {
        "pending_action": "cancel", "pending_order": "SH-100002", "order_number": "SH-100002"},
        metadata=token(1))
    _, messages = await run(ActionHandleConfirmation(services), tracker)
    assert texts(messages)[0].startswith("Done: SH-100002 is cancelled.")
    after = statuses(services.engine)
    assert (after["SH-100001"], after["SH-100002"]) == ("placed", "cancelled")


async def test_someone_elses_order_slipped_in_gets_the_unknown_order_answer(services):
    before = statuses(services.engine)
    tracker = answer_after_other_order("affirm", {
        "pending_action": "refund", "pending_order": "SH-100002", "order_number": "SH-200001",
        "order_email": "alice@example.com"})
    events, messages = await run(ActionHandleConfirmation(services), tracker)
    assert texts(messages) == [ORDER_CHANGED.format(quoted="SH-100002", current="SH-200001"),
                               replies.ORDER_NOT_FOUND]
    assert statuses(services.engine) == before and refunds(services.engine) == 1
    assert SlotSet("pending_action", None) in events and SlotSet("pending_order", None) in events


async def test_a_no_names_the_order_the_question_quoted(services):
    tracker = answer_after_other_order("deny", {
        "pending_action": "cancel", "pending_order": "SH-100002", "order_number": "SH-100001"},
        metadata=token(1))
    _, messages = await run(ActionHandleConfirmation(services), tracker)
    assert texts(messages) == ["No problem, SH-100002 stays as it is."]


async def test_a_question_without_a_remembered_order_is_asked_again(services):
    """A question asked before pending_order existed (or a tampered tracker): never act blind."""
    before = statuses(services.engine)
    tracker = answer_after_other_order("affirm", {
        "pending_action": "cancel", "order_number": "SH-100002"}, metadata=token(1))
    events, messages = await run(ActionHandleConfirmation(services), tracker)
    assert statuses(services.engine) == before
    assert texts(messages) == [
        "SH-100002 hasn't shipped yet, so I can cancel it free of charge. You'd get £89.99 back "
        "on your original payment method. Shall I cancel it?"]
    assert SlotSet("pending_order", "SH-100002") in events
