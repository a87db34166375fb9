"""Arabic-Indic and full-width digits in the chat: a polite answer, never an exception."""
import pytest
from rasa_sdk.events import SlotSet

from actions import replies
from actions.confirmation import ActionHandleConfirmation
from actions.feedback import ActionRecordFeedback
from actions.order_form import ValidateOrderForm
from actions.orders import ActionHandleOrderRequest
from action_helpers import make_tracker, run, texts, token

DOMAIN = {"forms": {"order_form": {"required_slots": ["order_number", "order_email"]}},
          "slots": {}}
NUMBERS = ["SH-١٠٠٠٠٣", "ＳＨ-１００００３", "#１００００３", "۱۰۰۰۰۳", "SH-¹⁰⁰⁰⁰³"]


@pytest.mark.parametrize("value", NUMBERS)
async def test_the_order_form_asks_again_politely(services, value):
    events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": value},
              {"event": "slot", "name": "order_number", "value": value}]
    tracker = make_tracker(text=value, slots={"order_number": value}, events=events,
                           active_loop="order_form", metadata=token(1))
    events, messages = await run(ValidateOrderForm(services), tracker, DOMAIN)
    assert events == [SlotSet("order_number", None), SlotSet("requested_slot", "order_number")]
    assert texts(messages) == [replies.INVALID_ORDER_NUMBER]


@pytest.mark.parametrize("value", NUMBERS)
async def test_an_order_question_with_such_a_number_is_asked_again(services, value):
    tracker = make_tracker(intent="track_order", text=f"where is {value}",
                           slots={"order_topic": "track", "order_number": value},
                           metadata=token(1))
    events, messages = await run(ActionHandleOrderRequest(services), tracker)
    assert texts(messages) == [replies.INVALID_ORDER_NUMBER]
    assert SlotSet("order_details_missing", True) in events


async def test_a_confirmation_quoting_such_a_number_acts_on_nothing(services):
    events = [{"event": "action", "name": "action_handle_order_request"},
              {"event": "action", "name": "action_listen"}, {"event": "user", "text": "yes"}]
    tracker = make_tracker(intent="affirm", text="yes", metadata=token(1), events=events,
                           slots={"pending_action": "cancel", "pending_order": "SH-١٠٠٠٠٢",
                                  "order_number": "SH-١٠٠٠٠٢"})
    _, messages = await run(ActionHandleConfirmation(services), tracker)
    assert texts(messages) == [replies.NOTHING_PENDING_AFFIRM]


async def test_a_back_in_stock_yes_with_a_tampered_need_number_is_polite(services):
    events = [{"event": "action", "name": "action_product_search"},
              {"event": "action", "name": "action_listen"}, {"event": "user", "text": "yes"}]
    tracker = make_tracker(intent="affirm", text="yes", metadata=token(1), events=events,
                           slots={"pending_action": "back_in_stock",
                                  "current_need": {"_seq": "١٠٠"}})
    _, messages = await run(ActionHandleConfirmation(services), tracker)
    assert texts(messages) in ([replies.BACK_IN_STOCK_RECORDED],
                               [replies.BACK_IN_STOCK_NOT_RECORDED])


async def test_a_review_with_such_a_rating_is_kept_as_feedback(services):
    text = "٥/5 lovely service, ５ stars"
    tracker = make_tracker(intent="leave_review", text=text, slots={"feedback_text": text})
    events, messages = await run(ActionRecordFeedback(services), tracker)
    assert texts(messages) and "/5" not in texts(messages)[0]


@pytest.mark.parametrize("text", ["need ٥ bath towels in white", "hiking boots size ９ under £１００",
                                  "a pack of ۶ socks", "parka size ²"])
async def test_a_product_search_with_such_numbers_answers(services, text):
    from actions.product_search import ActionProductSearch

    tracker = make_tracker(intent="product_search", text=text,
                           events=[{"event": "user", "text": text}])
    _, messages = await run(ActionProductSearch(services), tracker)
    assert messages and replies.SOMETHING_WENT_WRONG not in texts(messages)
