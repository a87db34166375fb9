from rasa_sdk.events import SlotSet

from actions import replies
from actions.order_form import ActionAskOrderNumber, ValidateOrderForm
from action_helpers import make_tracker, run, texts, token

DOMAIN = {"forms": {"order_form": {"required_slots": ["order_number", "order_email",
                                                      "new_address"]}},
          "slots": {}}


def form_tracker(value_slots, slots=None, metadata=None, text=""):
    """The tracker the form sends: extracted slot candidates are the last events."""
    events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": text}]
    events += [{"event": "slot", "name": k, "value": v} for k, v in value_slots.items()]
    return make_tracker(text=text, slots={**(slots or {}), **value_slots}, metadata=metadata,
                        events=events, active_loop="order_form")


async def validate(services, value_slots, slots=None, metadata=None):
    return await run(ValidateOrderForm(services), form_tracker(value_slots, slots, metadata),
                     DOMAIN)


async def test_invalid_order_number_is_re_asked(services):
    events, messages = await validate(services, {"order_number": "it's 12345"})
    assert events == [SlotSet("order_number", None), SlotSet("requested_slot", "order_number")]
    assert texts(messages) == [replies.INVALID_ORDER_NUMBER]


async def test_anonymous_number_then_email_is_asked(services):
    events, messages = await validate(services, {"order_number": "sh 100003"})
    assert events == [SlotSet("order_number", "SH-100003"),
                      SlotSet("requested_slot", "order_email")]
    assert messages == []


async def test_right_email_completes_the_form(services):
    events, messages = await validate(services, {"order_email": "Alice@Example.com"},
                                      slots={"order_number": "SH-100003"})
    assert events == [SlotSet("order_email", "alice@example.com"),
                      SlotSet("order_number", "SH-100003"), SlotSet("order_can_change", False),
                      SlotSet("requested_slot", None)]
    assert messages == []


async def test_wrong_email_unknown_number_and_someone_elses_order_look_the_same(services):
    outcomes = []
    for number, email in [("SH-100003", "ben@example.com"),      # wrong email
                          ("SH-999999", "alice@example.com"),    # unknown number
                          ("SH-200001", "alice@example.com")]:   # Ben's order, Alice's email
        events, messages = await validate(services, {"order_email": email}, slots={"order_number": number})
        outcomes.append((events, texts(messages)))
    expected = ([SlotSet("order_email", None), SlotSet("order_number", None),
                 SlotSet("requested_slot", "order_number")], [replies.ORDER_NOT_FOUND])
    assert outcomes == [expected] * 3


async def test_invalid_email_is_re_asked(services):
    events, messages = await validate(services, {"order_email": "alice at example"},
                                      slots={"order_number": "SH-100003"})
    assert events == [SlotSet("order_email", None), SlotSet("requested_slot", "order_email")]
    assert texts(messages) == [replies.INVALID_EMAIL]


async def test_signed_in_shopper_is_not_asked_for_email(services):
    events, messages = await validate(services, {"order_number": "#100003"}, metadata=token(1))
    assert events == [SlotSet("order_number", "SH-100003"), SlotSet("order_can_change", False),
                      SlotSet("requested_slot", None)]
    assert messages == []


async def test_signed_in_shopper_cannot_open_someone_elses_order(services):
    for number in ("SH-200001", "SH-999999"):
        events, messages = await validate(services, {"order_number": number}, metadata=token(1))
        assert events == [SlotSet("order_number", None),
                          SlotSet("requested_slot", "order_number")]
        assert texts(messages) == [replies.ORDER_NOT_FOUND_ON_ACCOUNT]


async def test_anything_but_the_channel_verified_id_is_ignored(services):
    from bot.identity import sign
    from service_helpers import UNIT_TEST_SECRET

    # a token, even a valid one, is the channel's to verify: the actions never read one
    valid = {"customer_token": sign(2, UNIT_TEST_SECRET, session="conv-1")}
    for metadata in (valid, {"customer_id": 2}, {"shop_customer_id": "2"},
                     {"shop_customer_id": True}):
        events, messages = await validate(services, {"order_number": "SH-200001"}, metadata=metadata)
        # Treated as anonymous: the email is still required.
        assert events == [SlotSet("order_number", "SH-200001"),
                          SlotSet("requested_slot", "order_email")]


async def test_change_address_asks_for_the_new_address_only_while_changeable(services):
    slots = {"order_topic": "change_address"}
    events, _ = await validate(services, {"order_number": "SH-100002"}, slots=slots, metadata=token(1))
    assert events == [SlotSet("order_number", "SH-100002"), SlotSet("order_can_change", True),
                      SlotSet("requested_slot", "new_address")]
    events, _ = await validate(services, {"order_number": "SH-100003"}, slots=slots, metadata=token(1))
    assert events == [SlotSet("order_number", "SH-100003"), SlotSet("order_can_change", False),
                      SlotSet("requested_slot", None)]


async def test_new_address_validation(services):
    slots = {"order_topic": "change_address", "order_number": "SH-100002",
             "order_can_change": True}
    events, messages = await validate(services, {"new_address": "dunno"}, slots=slots, metadata=token(1))
    assert events == [SlotSet("new_address", None), SlotSet("requested_slot", "new_address")]
    assert texts(messages) == [replies.INVALID_ADDRESS]
    events, messages = await validate(services, {"new_address": "5 Mill Lane,  York YO1 7HH"}, slots=slots,
                                      metadata=token(1))
    assert events == [SlotSet("new_address", "5 Mill Lane, York YO1 7HH"),
                      SlotSet("requested_slot", None)]


async def test_database_down_during_validation(db_down):
    events, messages = await validate(db_down, {"order_number": "SH-100003"}, metadata=token(1))
    assert events == [SlotSet("order_number", None), SlotSet("requested_slot", "order_number")]
    assert texts(messages) == [replies.STORE_UNAVAILABLE]


async def test_ask_order_number_offers_recent_orders_to_signed_in_shopper(services):
    events, messages = await run(ActionAskOrderNumber(services), make_tracker(metadata=token(1)))
    assert events == []
    buttons = messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == [
        f'/inform{{"order_number":"SH-10000{i}"}}' for i in (1, 2, 3, 6, 4)]
    assert buttons[0]["title"] == "SH-100001 (placed, Monday 15 June)"


async def test_ask_order_number_anonymous_or_db_down(services, db_down):
    events, messages = await run(ActionAskOrderNumber(services), make_tracker())
    assert (events, texts(messages)) == ([], [replies.ASK_ORDER_NUMBER])
    events, messages = await run(ActionAskOrderNumber(db_down), make_tracker(metadata=token(1)))
    assert (events, texts(messages)) == ([], [replies.STORE_UNAVAILABLE])
