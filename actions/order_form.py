"""The order form: which order (number), proof of ownership (email), and a new address."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import names, replies
from actions.base import Events, ShopAction
from actions.forms_common import ShopFormValidation, guarded
from actions.replies import day
from bot.store.errors import InvalidInput, OrderNotFound
from bot.support import orders
from bot.support.access import Requester
from bot.support.text import normalise_email, normalise_order_number

RECENT_ORDER_BUTTONS = 5


class ValidateOrderForm(ShopFormValidation):
    """Validates ``order_number``, ``order_email`` and ``new_address``.

    Ownership is checked as soon as it can be: with the signed-in customer's token when the number
    arrives, otherwise when both number and email are known. A failure of either kind gets the
    same answer, and the email is never asked of a signed-in shopper.
    """

    def name(self) -> Text:
        return names.VALIDATE_ORDER_FORM

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict) -> List[Text]:
        slots = [names.SLOT_ORDER_NUMBER]
        if self.customer(tracker) is None:
            slots.append(names.SLOT_ORDER_EMAIL)
        if (tracker.get_slot(names.SLOT_ORDER_TOPIC) == names.TOPIC_CHANGE_ADDRESS
                and tracker.get_slot(names.SLOT_ORDER_CAN_CHANGE) is True):
            slots.append(names.SLOT_NEW_ADDRESS)
        return slots

    def _check_owner(self, number: str, requester: Requester, dispatcher: CollectingDispatcher
                     ) -> Dict[Text, Any]:
        try:
            view = orders.order_status(self.services, number, requester)
        except OrderNotFound:
            if requester.verified:
                dispatcher.utter_message(text=replies.ORDER_NOT_FOUND_ON_ACCOUNT)
                return {names.SLOT_ORDER_NUMBER: None}
            dispatcher.utter_message(text=replies.ORDER_NOT_FOUND)
            return {names.SLOT_ORDER_NUMBER: None, names.SLOT_ORDER_EMAIL: None}
        return {names.SLOT_ORDER_NUMBER: number, names.SLOT_ORDER_CAN_CHANGE: view.changeable}

    async def validate_order_number(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: Dict) -> Dict[Text, Any]:
        def check() -> Dict[Text, Any]:
            number = normalise_order_number(value)
            if number is None:
                dispatcher.utter_message(text=replies.INVALID_ORDER_NUMBER)
                return {names.SLOT_ORDER_NUMBER: None}
            customer_id = self.customer(tracker)
            if customer_id is not None:
                return self._check_owner(number, Requester(customer_id=customer_id), dispatcher)
            email = normalise_email(tracker.get_slot(names.SLOT_ORDER_EMAIL))
            if email is None:
                return {names.SLOT_ORDER_NUMBER: number}
            return self._check_owner(number, Requester(email=email), dispatcher)

        return await guarded(names.SLOT_ORDER_NUMBER, dispatcher, check)

    async def validate_order_email(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: Dict) -> Dict[Text, Any]:
        def check() -> Dict[Text, Any]:
            email = normalise_email(value)
            if email is None:
                dispatcher.utter_message(text=replies.INVALID_EMAIL)
                return {names.SLOT_ORDER_EMAIL: None}
            number = normalise_order_number(tracker.get_slot(names.SLOT_ORDER_NUMBER))
            if number is None:
                return {names.SLOT_ORDER_EMAIL: email}
            result = self._check_owner(number, Requester(email=email), dispatcher)
            if result.get(names.SLOT_ORDER_NUMBER):
                result[names.SLOT_ORDER_EMAIL] = email
            return result

        return await guarded(names.SLOT_ORDER_EMAIL, dispatcher, check)

    def validate_new_address(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict) -> Dict[Text, Any]:
        try:
            return {names.SLOT_NEW_ADDRESS: orders.validate_address(value)}
        except InvalidInput:
            dispatcher.utter_message(text=replies.INVALID_ADDRESS)
            return {names.SLOT_NEW_ADDRESS: None}


class ActionAskOrderNumber(ShopAction):
    """Asks for the order number; a signed-in shopper also gets their recent orders as buttons."""

    def name(self) -> Text:
        return names.ACTION_ASK_ORDER_NUMBER

    def act(self, dispatcher, tracker, domain) -> Events:
        customer_id = self.customer(tracker)
        recent = (orders.recent_orders(self.services, customer_id, RECENT_ORDER_BUTTONS)
                  if customer_id else [])
        if not recent:
            dispatcher.utter_message(text=replies.ASK_ORDER_NUMBER)
            return []
        buttons = [
            {
                "title": f"{o.number} ({o.status}, {day(o.placed_at)})",
                "payload": f'/{names.INFORM}{{"{names.ENTITY_ORDER_NUMBER}":"{o.number}"}}',
            }
            for o in recent
        ]
        dispatcher.utter_message(
            text="Which order is it about? Pick one of your recent orders or type its number "
                 "(it looks like SH-123456).",
            buttons=buttons,
        )
        return []

    def on_failure(self, tracker: Tracker) -> Events:
        return []
