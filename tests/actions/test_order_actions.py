"""action_handle_order_request and action_handle_confirmation against the fixture shop."""
from decimal import Decimal

from rasa_sdk.events import SlotSet
from sqlalchemy import select

from actions import replies
from actions.confirmation import ActionHandleConfirmation
from actions.orders import ActionHandleOrderRequest, yes_no
from bot.store.db import session_scope
from bot.store.models import Escalation, Order, Refund, Return
from action_helpers import make_tracker, run, texts, token

ORDER_SLOTS = ("order_number", "order_email", "new_address", "order_can_change", "pending_action",
               "pending_order")


def cleared(*was_set):
    """The SlotSets that clear the order slots which were set (unchanged slots send nothing)."""
    return [SlotSet(slot, None) for slot in ORDER_SLOTS if slot in was_set]


NUMBER = cleared("order_number")
NUMBER_EMAIL = cleared("order_number", "order_email")
NUMBER_PENDING = cleared("order_number", "pending_action", "pending_order")


def asks(pending, number):
    """The events of a yes/no question about ``number``: what it asks and which order."""
    return [SlotSet("pending_action", pending), SlotSet("pending_order", number)]


async def handle(services, topic, number, email=None, metadata=None, **slots):
    """The action as it runs after order_form has collected and validated the details."""
    tracker = make_tracker(slots={"order_topic": topic, "order_number": number,
                                  "order_email": email, **slots}, metadata=metadata,
                           latest_action="order_form")
    return await run(ActionHandleOrderRequest(services), tracker)


def order_status(engine, number):
    with session_scope(engine) as s:
        return s.execute(select(Order.status).where(Order.number == number)).scalar_one()


async def test_track_shipped_order(services):
    events, messages = await handle(services, "track", "SH-100003", email="alice@example.com")
    assert events == NUMBER_EMAIL
    assert texts(messages) == [
        "Order SH-100003 is on its way. It's with DPD (in transit), tracking number "
        "DPD123456789GB, expected Wednesday 17 June. Items: 1 x Copperfield Cast Iron "
        "Casserole Dish."]


async def test_someone_elses_order_and_wrong_email_get_the_same_answer(services):
    results = [
        await handle(services, "track", "SH-200001", metadata=token(1)),              # Ben's, Alice signed in
        await handle(services, "track", "SH-200001", email="alice@example.com"),       # Ben's, Alice's email
        await handle(services, "track", "SH-100003", email="ben@example.com"),         # wrong email
        await handle(services, "track", "SH-999999", email="alice@example.com"),       # unknown
        await handle(services, "cancel", "SH-100002", email="ben@example.com"),
    ]
    expected_events = [NUMBER, NUMBER_EMAIL, NUMBER_EMAIL, NUMBER_EMAIL, NUMBER_EMAIL]
    for (events, messages), expected in zip(results, expected_events):
        assert (events, texts(messages)) == (expected, [replies.ORDER_NOT_FOUND])


async def test_forged_token_without_email_is_refused(services):
    from bot.identity import sign

    forged = {"customer_token": sign(1, "guessed-secret")}
    events, messages = await handle(services, "track", "SH-100003", metadata=forged)
    assert (events, texts(messages)) == (NUMBER, [replies.ORDER_NOT_FOUND])


async def test_cancel_asks_for_confirmation_then_cancels(services):
    events, messages = await handle(services, "cancel", "SH-100002", metadata=token(1))
    assert events == asks("cancel", "SH-100002")
    assert messages[0]["text"] == (
        "SH-100002 hasn't shipped yet, so I can cancel it free of charge. You'd get £89.99 back "
        "on your original payment method. Shall I cancel it?")
    assert messages[0]["buttons"] == yes_no()
    assert order_status(services.engine, "SH-100002") == "paid"  # nothing written before the yes

    events, messages = await confirm(services, "affirm", "cancel", "SH-100002", metadata=token(1))
    assert events == NUMBER_PENDING
    assert texts(messages) == [
        "Done: SH-100002 is cancelled. A refund of £89.99 is on its way to your original "
        "payment method (3-5 working days)."]
    assert order_status(services.engine, "SH-100002") == "cancelled"


async def test_shipped_order_cannot_be_cancelled(services):
    events, messages = await handle(services, "cancel", "SH-100003", metadata=token(1))
    assert events == NUMBER
    assert texts(messages) == [
        "SH-100003 has already left our warehouse, so I can't change or cancel it any more. "
        "Once it arrives you can send it back free within our returns window."]
    assert order_status(services.engine, "SH-100003") == "shipped"


async def confirm(services, intent, pending, number, metadata=None, email=None, asked_by=None, **slots):
    events = [{"event": "action", "name": asked_by or "action_handle_order_request"},
              {"event": "bot", "text": "Shall I?"},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": "yes", "parse_data": {"intent": {"name": intent}}}]
    tracker = make_tracker(intent=intent, text="yes", metadata=metadata, events=events,
                           slots={"pending_action": pending, "order_number": number,
                                  "pending_order": number, "order_email": email, **slots})
    return await run(ActionHandleConfirmation(services), tracker)


async def test_deny_keeps_the_order(services):
    events, messages = await confirm(services, "deny", "cancel", "SH-100002", metadata=token(1))
    assert (events, texts(messages)) == (NUMBER_PENDING, ["No problem, SH-100002 stays as it is."])
    assert order_status(services.engine, "SH-100002") == "paid"


async def test_confirmation_rechecks_ownership(services):
    # The pending cancel was set up for someone else; a later "yes" from Alice changes nothing.
    events, messages = await confirm(services, "affirm", "cancel", "SH-200001", metadata=token(1))
    assert (events, texts(messages)) == (NUMBER_PENDING, [replies.ORDER_NOT_FOUND])
    assert order_status(services.engine, "SH-200001") == "delivered"


async def test_stale_yes_does_nothing(services):
    tracker = make_tracker(intent="affirm", text="yes", metadata=token(1),
                           slots={"pending_action": "cancel", "order_number": "SH-100002",
                                  "pending_order": "SH-100002"},
                           events=[{"event": "action", "name": "action_product_search"},
                                   {"event": "action", "name": "action_listen"},
                                   {"event": "user", "text": "yes"}])
    events, messages = await run(ActionHandleConfirmation(services), tracker)
    assert (events, texts(messages)) == (NUMBER_PENDING, [replies.NOTHING_PENDING_AFFIRM])
    assert order_status(services.engine, "SH-100002") == "paid"


async def test_return_inside_window_is_created_after_yes(services):
    events, messages = await handle(services, "return", "SH-100004", email="alice@example.com")
    assert events == asks("return", "SH-100004")
    assert texts(messages) == [
        "SH-100004 was delivered on Saturday 6 June, so it's within our returns window (until "
        "Monday 6 July). Shall I start a return for it?"]
    events, messages = await confirm(services, "affirm", "return", "SH-100004", email="alice@example.com")
    assert events == cleared("order_number", "order_email", "pending_action", "pending_order")
    assert texts(messages)[0].startswith("Your return RT-000002 for SH-100004 is booked.")
    with session_scope(services.engine) as s:
        assert s.execute(select(Return.status).where(Return.id == 2)).scalar_one() == "requested"


async def test_return_window_expired(services):
    events, messages = await handle(services, "return", "SH-100005", metadata=token(1))
    assert events == NUMBER
    assert texts(messages) == [
        "SH-100005 was delivered on Friday 10 April, and our returns window is 30 days, so it "
        "closed on Sunday 10 May. I'm sorry, I can't accept a return for it now. If something "
        "is faulty, ask to talk to a person and our team will look at it."]


async def test_refund_paths(services):
    events, messages = await handle(services, "refund", "SH-100007", metadata=token(1))
    assert (events, texts(messages)) == (
        NUMBER, ["A refund of £96.94 for SH-100007 is being processed."])
    events, messages = await handle(services, "refund", "SH-100004", metadata=token(1))
    assert messages[0]["buttons"][0] == {
        "title": "Start a return", "payload": '/return_item{"order_number":"SH-100004"}'}
    # A cancelled order whose payment was captured and not yet refunded: refund after a yes.
    with session_scope(services.engine) as s:
        order = s.execute(select(Order).where(Order.number == "SH-100002")).scalar_one()
        order.status = "cancelled"
    events, messages = await handle(services, "refund", "SH-100002", metadata=token(1))
    assert events == asks("refund", "SH-100002")
    assert texts(messages) == ["I can refund £89.99 for SH-100002 to your original payment "
                               "method. Shall I go ahead?"]
    events, messages = await confirm(services, "affirm", "refund", "SH-100002", metadata=token(1))
    assert texts(messages) == ["Done: refund RF-000002 of £89.99 for SH-100002 is requested. It "
                               "reaches your original payment method within 3-5 working days."]
    with session_scope(services.engine) as s:
        assert s.get(Refund, 2).amount == Decimal("89.99")


async def test_track_refund_and_invoice(services):
    _, messages = await handle(services, "track_refund", "SH-100007", metadata=token(1))
    assert texts(messages) == [
        "Your refund RF-000001 of £96.94 for SH-100007 is being processed. Refunds reach your "
        "account 3-5 working days after we process them."]
    _, messages = await handle(services, "invoice", "SH-100002", metadata=token(1))
    assert texts(messages) == [
        "Invoice INV-100002 for SH-100002 was issued on Sunday 14 June for £89.99. You can "
        "download it as a PDF under Your account > Orders."]
    _, messages = await handle(services, "invoice", "SH-100001", metadata=token(1))
    assert texts(messages) == [
        "There's no invoice for SH-100001 yet - we issue it when the payment is taken."]


async def test_change_order_and_change_address(services):
    events, messages = await handle(services, "change", "SH-100001", metadata=token(1))
    assert events == NUMBER and [b["payload"] for b in messages[0]["buttons"]] == [
        "/human_handoff", '/cancel_order{"order_number":"SH-100001"}']
    events, messages = await handle(services, "change_address", "SH-100002", metadata=token(1),
                                    new_address="5 Mill Lane, York YO1 7HH")
    assert events == asks("change_address", "SH-100002")
    events, messages = await confirm(services, "affirm", "change_address", "SH-100002", metadata=token(1),
                                     new_address="5 Mill Lane, York YO1 7HH")
    assert texts(messages) == ["Done: SH-100002 will now go to 5 Mill Lane, York YO1 7HH."]
    events, messages = await handle(services, "change_address", "SH-100003", metadata=token(1))
    assert texts(messages)[0].startswith("SH-100003 has already left our warehouse")


async def test_complaint_escalation_confirmed(services):
    events, messages = await confirm(services, "affirm", "escalate_complaint", None,
                                     asked_by="action_record_complaint")
    assert events == cleared("pending_action")
    assert texts(messages) == [
        "I've passed this conversation to our support team (reference ESC-000001). Nobody from "
        "the team is available right now; we're here Monday to Friday 9am-6pm and Saturday "
        "10am-4pm. Someone will reply within 4 working hours, here in this chat - come back to "
        "this chat on this device to read it."]
    with session_scope(services.engine) as s:
        row = s.get(Escalation, 1)
        assert (row.reason, row.status, row.conversation_id) == ("complaint", "open", "conv-1")


async def test_database_down_is_polite_and_never_raises(db_down):
    events, messages = await handle(db_down, "track", "SH-100003", metadata=token(1))
    assert (events, texts(messages)) == (NUMBER, [replies.STORE_UNAVAILABLE])
    events, messages = await confirm(db_down, "affirm", "cancel", "SH-100002", metadata=token(1))
    assert (events, texts(messages)) == (NUMBER_PENDING, [replies.STORE_UNAVAILABLE])


async def test_yes_clarified_by_the_fallback_still_answers_the_question(services):
    """A "no" the NLU wasn't sure of, confirmed via the two-stage fallback, still counts."""
    events = [{"event": "action", "name": "action_handle_order_request"},
              {"event": "bot", "text": "Shall I cancel it?"},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": "nah", "parse_data": {"intent": {"name": "nlu_fallback"}}},
              {"event": "action", "name": "action_two_stage_fallback"},
              {"event": "active_loop", "name": "action_two_stage_fallback"},
              {"event": "bot", "text": "is that a no?"},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": "/deny", "parse_data": {"intent": {"name": "deny"}}},
              {"event": "active_loop", "name": None},
              {"event": "rewind"},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": "nah", "parse_data": {"intent": {"name": "deny"}}}]
    tracker = make_tracker(intent="deny", text="nah", metadata=token(1), events=events,
                           slots={"pending_action": "cancel", "order_number": "SH-100002",
                                  "pending_order": "SH-100002"})
    result, messages = await run(ActionHandleConfirmation(services), tracker)
    assert (result, texts(messages)) == (NUMBER_PENDING, ["No problem, SH-100002 stays as it is."])


# --- straight after the order intent: answer at once, or hand over to order_form ------------

MISSING = SlotSet("order_details_missing", True)


async def first_turn(services, topic, number=None, email=None, metadata=None, active_loop=None, **slots):
    """The action as it runs straight after an order intent (before any form)."""
    tracker = make_tracker(intent="track_order", metadata=metadata, active_loop=active_loop,
                           slots={"order_topic": topic, "order_number": number,
                                  "order_email": email, **slots})
    return await run(ActionHandleOrderRequest(services), tracker)


async def test_signed_in_with_the_number_is_answered_in_one_action(services):
    events, messages = await first_turn(services, "track", "SH-100003", metadata=token(1))
    assert events == NUMBER
    assert texts(messages)[0].startswith("Order SH-100003 is on its way.")


async def test_anonymous_with_number_and_email_is_answered_at_once(services):
    events, messages = await first_turn(services, "track", "SH-100003", email="alice@example.com")
    assert events == NUMBER_EMAIL
    assert texts(messages)[0].startswith("Order SH-100003 is on its way.")


async def test_missing_details_hand_over_to_the_form(services):
    # No number at all; a number without proof of ownership: the form asks for the rest.
    assert await first_turn(services, "track") == ([MISSING], [])
    assert await first_turn(services, "cancel", "sh100002") == (
        [SlotSet("order_number", "SH-100002"), MISSING], [])


async def test_invalid_number_is_refused_then_asked_again_by_the_form(services):
    events, messages = await first_turn(services, "track", "12345", metadata=token(1))
    assert (events, texts(messages)) == ([SlotSet("order_number", None), MISSING],
                                         [replies.INVALID_ORDER_NUMBER])


async def test_wrong_guess_at_once_reads_like_the_forms_answer(services):
    # Someone else's order, signed in: the validator's words, then the form asks again.
    events, messages = await first_turn(services, "track", "SH-200001", metadata=token(1))
    assert (events, texts(messages)) == ([SlotSet("order_number", None), MISSING],
                                         [replies.ORDER_NOT_FOUND_ON_ACCOUNT])
    # Anonymous, wrong email and unknown number: one answer, both details asked again.
    for number, email in (("SH-100003", "ben@example.com"), ("SH-999999", "alice@example.com")):
        events, messages = await first_turn(services, "track", number, email=email)
        assert (events, texts(messages)) == (
            [SlotSet("order_number", None), SlotSet("order_email", None), MISSING],
            [replies.ORDER_NOT_FOUND])


async def test_change_address_collects_the_address_in_the_form_unless_refused(services):
    events, messages = await first_turn(services, "change_address", "SH-100002", metadata=token(1))
    assert (events, messages) == (
        [SlotSet("order_can_change", True), MISSING], [])
    events, messages = await first_turn(services, "change_address", "SH-100003", metadata=token(1))
    assert events == NUMBER
    assert texts(messages) == [
        "SH-100003 has already left our warehouse, so I can't change or cancel it any more. "
        "Once it arrives you can send it back free within our returns window."]


async def test_answer_at_once_closes_a_form_the_question_arrived_in(services):
    from rasa_sdk.events import ActiveLoop

    events, messages = await first_turn(services, "track", "SH-100003", metadata=token(1),
                                        active_loop="feedback_form", order_details_missing=True)
    assert events == NUMBER + [SlotSet("order_details_missing", None), ActiveLoop(None)]
    assert texts(messages)[0].startswith("Order SH-100003 is on its way.")


async def test_a_track_question_that_names_the_refund_gets_the_refund(services):
    """Classified as track_order, but the words say refund: the refund's status, and the topic
    kept for the form's second call."""
    tracker = make_tracker(intent="track_order", text="where's the refund for SH-100007 pls",
                           slots={"order_topic": "track", "order_number": "SH-100007"},
                           metadata=token(1))
    events, messages = await run(ActionHandleOrderRequest(services), tracker)
    assert events[0] == SlotSet("order_topic", "track_refund")
    assert texts(messages)[0].startswith("Your refund RF-000001 of £96.94 for SH-100007")
    # Without the number the form asks for it, and the refined topic waits in the slot.
    tracker = make_tracker(intent="track_order", text="any news on my reimbursement?",
                           slots={"order_topic": "track"}, metadata=token(1))
    events, _ = await run(ActionHandleOrderRequest(services), tracker)
    assert events == [SlotSet("order_topic", "track_refund"), MISSING]
    # An ordinary track question stays one.
    events, messages = await first_turn(services, "track", "SH-100003", metadata=token(1))
    assert events == NUMBER and texts(messages)[0].startswith("Order SH-100003 is on its way.")
