"""``action_shop_facts``: the shop's facts as slots, just before a response that says them.

The domain's responses say the shop's contact details, opening hours and policy windows through
slots (``{shop_contact}``, ``{shop_hours}``, ``{return_window_days}``...), never as hard-coded
text: they come from :class:`bot.settings.ShopFacts`. The rules run this action right before
each such response (``utter_contact_info``, ``utter_refund_policy``, ``utter_cancellation_fee``),
so only the turns that need the facts pay for an action call; once set, a slot that has not
changed is not sent again (``actions.base.without_unchanged_slots``).
"""
from __future__ import annotations

from typing import Text

from rasa_sdk.events import SlotSet

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


class ActionShopFacts(ShopAction):
    def name(self) -> Text:
        return names.ACTION_SHOP_FACTS

    def act(self, dispatcher, tracker, domain) -> Events:
        return shop_fact_slots(self.services.settings)
