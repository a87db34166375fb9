"""The shared action base: no-op SlotSets are dropped, other events kept in order."""
from rasa_sdk.events import ActiveLoop, Restarted, SlotSet

from actions.base import without_unchanged_slots
from action_helpers import make_tracker


def test_unchanged_slot_sets_are_dropped_changed_ones_kept_in_order():
    tracker = make_tracker(slots={"order_number": "SH-100003", "pending_action": None})
    events = [SlotSet("order_number", "SH-100003"), SlotSet("pending_action", None),
              SlotSet("order_email", None), {"event": "bot", "text": "hi"},
              SlotSet("order_number", None), ActiveLoop(None), SlotSet("order_number", None),
              SlotSet("order_number", "SH-100004")]
    assert without_unchanged_slots(events, tracker) == [
        {"event": "bot", "text": "hi"}, SlotSet("order_number", None), ActiveLoop(None),
        SlotSet("order_number", "SH-100004")]


def test_nothing_after_a_reset_is_dropped():
    tracker = make_tracker(slots={"order_number": None})
    events = [SlotSet("order_number", None), Restarted(), SlotSet("order_number", None)]
    assert without_unchanged_slots(events, tracker) == [Restarted(),
                                                        SlotSet("order_number", None)]
