"""``action_session_start``: Rasa's session start, plus the shop's facts as slots.

The domain's responses say the shop's contact details, opening hours and policy windows through
slots (``{shop_contact}``, ``{shop_hours}``...), never as hard-coded text: they come from
:class:`bot.settings.ShopFacts`, set once at the start of every session. Everything else is
what Rasa's own session start does (``SessionStarted``, the session's start metadata, then
``action_listen``); the domain carries no slots over to a new session
(``carry_over_slots_to_new_session: false``, pinned by a test), so none are copied.
"""
from __future__ import annotations

from typing import Text

from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from actions import names
from actions.base import Events, ShopAction

def shop_fact_slots(settings) -> Events:
    facts = settings.shop
    return [
        SlotSet(names.SLOT_SHOP_CONTACT, facts.contact),
        SlotSet(names.SLOT_SHOP_HOURS, facts.opening_hours),
        SlotSet(names.SLOT_RETURN_WINDOW_DAYS, str(facts.return_window_days)),
        SlotSet(names.SLOT_REFUND_DAYS, str(facts.refund_processing_days)),
        SlotSet(names.SLOT_BANK_DAYS, facts.bank_days),
    ]


class ActionSessionStart(ShopAction):
    def name(self) -> Text:
        return names.ACTION_SESSION_START

    def act(self, dispatcher, tracker, domain) -> Events:
        events: Events = [SessionStarted(), *shop_fact_slots(self.services.settings)]
        metadata = tracker.get_slot("session_started_metadata")
        if metadata is not None:
            events.append(SlotSet("session_started_metadata", metadata))
        return events + [ActionExecuted("action_listen")]

    def on_failure(self, tracker) -> Events:
        # The session must start even if the facts could not be read.
        return [SessionStarted(), ActionExecuted("action_listen")]
