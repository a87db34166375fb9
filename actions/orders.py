"""After the order form: answer the order question, or ask to confirm a change."""
from __future__ import annotations

from types import MappingProxyType

import logging
from typing import Text

from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import names, replies
from actions.base import Events, ShopAction, latest_text
from bot.store.errors import NotAllowed, OrderNotFound
from bot.support import orders
from bot.support.access import Requester
from bot.support.text import mentions_refund, normalise_order_number

log = logging.getLogger(__name__)

def yes_no() -> list[dict]:
    """The buttons under a question that asks to confirm an order change."""
    return [{"title": "Yes, go ahead", "payload": f"/{names.AFFIRM}"},
            {"title": "No, leave it", "payload": f"/{names.DENY}"}]

REFUSALS = MappingProxyType({
    "already_shipped": "{number} has already left our warehouse, so I can't change or cancel it "
                       "any more. Once it arrives you can send it back free within our returns "
                       "window.",
    "already_cancelled": "{number} has already been cancelled, so there's nothing more to change.",
    "already_returned": "{number} has already been returned to us.",
    "not_shipped": "{number} hasn't been sent yet, so there's nothing to return - you can cancel "
                   "it instead, free of charge.",
    "not_delivered": "{number} is still on its way. Once it's delivered you can return it within "
                     "{window} days.",
    "return_exists": "There's already a return open for {number}; you'll get an email as soon as "
                     "it reaches us.",
    "return_in_progress": "There's already a return open for {number}; the refund follows once "
                          "it reaches us.",
    "return_window_expired": "{number} was delivered on {delivered}, and our returns window is "
                             "{window} days, so it closed on {last_day}. I'm sorry, I can't "
                             "accept a return for it now. If something is faulty, ask to talk to "
                             "a person and our team will look at it.",
    "return_first": "{number} was delivered, so the refund follows a return: send the items back "
                    "and we refund you as soon as they reach us. Shall I start a return?",
    "cancel_first": "{number} hasn't shipped yet, so the quickest way to get your money back is to "
                    "cancel it - the refund then goes out automatically.",
    "payment_refunded": "The payment for {number} has already been refunded in full to your "
                        "original payment method.",
    "nothing_paid": "No payment was taken for {number}, so there's nothing to refund.",
    "refund_exists": "A refund of {amount} for {number} {refund_status}.",
    "no_refund": "There's no refund on {number} yet. Refunds start once a cancellation or a "
                 "return is processed.",
    "no_invoice": "There's no invoice for {number} yet - we issue it when the payment is taken.",
})


def refusal_text(err: NotAllowed, number: str, window_days: int) -> str:
    details = err.details
    template = REFUSALS.get(err.reason, "I'm sorry, I can't do that for {number}.")
    return template.format(
        number=number,
        window=details.get("window_days", window_days),
        delivered=replies.day(details["delivered_on"]) if details.get("delivered_on") else "",
        last_day=replies.day(details["last_day"]) if details.get("last_day") else "",
        amount=replies.money(details["amount"], details.get("currency", "GBP"))
        if details.get("amount") is not None else "",
        refund_status=replies.REFUND_WORDS.get(str(details.get("status")), "is on its way"),
    )


def refusal_buttons(err: NotAllowed, number: str) -> list[dict]:
    if err.reason == "return_first":
        payload = f'/{names.RETURN_ITEM}{{"{names.ENTITY_ORDER_NUMBER}":"{number}"}}'
        return [{"title": "Start a return", "payload": payload},
                {"title": "No thanks", "payload": f"/{names.DENY}"}]
    if err.reason == "cancel_first":
        payload = f'/{names.CANCEL_ORDER}{{"{names.ENTITY_ORDER_NUMBER}":"{number}"}}'
        return [{"title": "Cancel the order", "payload": payload}]
    return []


def clear_order_slots(keep_for_confirmation: bool = False) -> Events:
    if keep_for_confirmation:
        return [SlotSet(names.SLOT_ORDER_CAN_CHANGE, None)]
    return [SlotSet(slot, None) for slot in names.ORDER_FORM_SLOTS] + [
        SlotSet(names.SLOT_PENDING_ACTION, None), SlotSet(names.SLOT_PENDING_ORDER, None)]


def ask_to_confirm(pending: str, number: str) -> Events:
    """A yes/no question about ``number`` is open: remember both, so a "yes" acts on exactly
    the order the question quoted (actions/confirmation.py)."""
    return [SlotSet(names.SLOT_PENDING_ACTION, pending), SlotSet(names.SLOT_PENDING_ORDER, number),
            *clear_order_slots(keep_for_confirmation=True)]


def _ask_in_form(slots: dict) -> Events:
    """Hand over to order_form (a rule follows ``order_details_missing``) with what is known."""
    return [SlotSet(slot, value) for slot, value in slots.items()] + [
        SlotSet(names.SLOT_ORDER_DETAILS_MISSING, True)]


def _not_found_ask_again(dispatcher: CollectingDispatcher, requester: Requester) -> Events:
    """The form validator's answer to a wrong guess: the same words, then ask again."""
    if requester.verified:
        dispatcher.utter_message(text=replies.ORDER_NOT_FOUND_ON_ACCOUNT)
        return _ask_in_form({names.SLOT_ORDER_NUMBER: None})
    dispatcher.utter_message(text=replies.ORDER_NOT_FOUND)
    return _ask_in_form({names.SLOT_ORDER_NUMBER: None, names.SLOT_ORDER_EMAIL: None})


def _end_request(tracker) -> Events:
    """Answered: drop the hand-over flag and close a form the question arrived in."""
    events: Events = []
    if tracker.get_slot(names.SLOT_ORDER_DETAILS_MISSING) is not None:
        events.append(SlotSet(names.SLOT_ORDER_DETAILS_MISSING, None))
    if tracker.active_loop.get("name"):
        events += [ActiveLoop(None), SlotSet(names.REQUESTED_SLOT, None)]
    return events


class ActionHandleOrderRequest(ShopAction):
    """Answers the order question named by ``order_topic`` for a verified owner.

    It runs straight after an order intent and again after ``order_form``. Straight after the
    intent it answers at once when the message already holds everything (a signed-in shopper's
    "where's SH-100003?": one action call in the turn, no form round trips). Otherwise it sets
    ``order_details_missing`` and a rule hands over to ``order_form``, which asks for the rest;
    the wrong-guess answers are the form validator's, so both paths read the same.
    """

    def name(self) -> Text:
        return names.ACTION_HANDLE_ORDER_REQUEST

    def on_failure(self, tracker) -> Events:
        return clear_order_slots() + _end_request(tracker)

    def act(self, dispatcher, tracker, domain) -> Events:
        first_turn = tracker.latest_action_name != names.ORDER_FORM
        topic = tracker.get_slot(names.SLOT_ORDER_TOPIC)
        refined: Events = []
        if first_turn and topic == names.TOPIC_TRACK and mentions_refund(latest_text(tracker)):
            # "track the refund for SH-100003": the words settle what the classifier could not
            topic = names.TOPIC_TRACK_REFUND
            refined = [SlotSet(names.SLOT_ORDER_TOPIC, topic)]
        return refined + self._answer(dispatcher, tracker, topic, first_turn)

    def _answer(self, dispatcher, tracker, topic: str | None, first_turn: bool) -> Events:
        given = tracker.get_slot(names.SLOT_ORDER_NUMBER)
        number = normalise_order_number(given)
        requester = self.requester(tracker)
        if first_turn:
            if given is not None and number is None:
                dispatcher.utter_message(text=replies.INVALID_ORDER_NUMBER)
                return _ask_in_form({names.SLOT_ORDER_NUMBER: None})
            if number is None or (not requester.verified and not requester.email):
                return _ask_in_form({names.SLOT_ORDER_NUMBER: number})
            if topic == names.TOPIC_CHANGE_ADDRESS and not tracker.get_slot(names.SLOT_NEW_ADDRESS):
                return self._collect_address(dispatcher, tracker, number, requester)
        elif number is None or (not requester.verified and not requester.email):
            # The form ended without proof of ownership (e.g. the token expired meanwhile).
            dispatcher.utter_message(text=replies.ORDER_NOT_FOUND)
            return clear_order_slots() + _end_request(tracker)
        handler = getattr(self, f"_{topic}", None) if topic else None
        if handler is None:
            handler = self._track
        try:
            return handler(dispatcher, tracker, number, requester) + _end_request(tracker)
        except OrderNotFound:
            if first_turn:
                return _not_found_ask_again(dispatcher, requester)
            dispatcher.utter_message(text=replies.ORDER_NOT_FOUND)
        except NotAllowed as err:
            dispatcher.utter_message(
                text=refusal_text(err, number, self.window_days),
                buttons=refusal_buttons(err, number) or None,
            )
        return clear_order_slots() + _end_request(tracker)

    # The topics that end in a yes/no question, by the pending action they leave open.
    ASKING_TOPICS = MappingProxyType({names.PENDING_CANCEL: "_cancel",
                                      names.PENDING_CHANGE_ADDRESS: "_change_address",
                                      names.PENDING_RETURN: "_return",
                                      names.PENDING_REFUND: "_refund"})

    def ask_again(self, dispatcher, tracker, pending: str, number: str,
                  requester: Requester) -> Events:
        """Ask the ``pending`` question afresh about ``number`` (checks and quote included)."""
        return getattr(self, self.ASKING_TOPICS[pending])(dispatcher, tracker, number, requester)

    def _collect_address(self, dispatcher, tracker, number: str, requester: Requester) -> Events:
        """A new address for an order that can still change is collected by the form."""
        try:
            orders.check_changeable(self.services, number, requester)
        except OrderNotFound:
            return _not_found_ask_again(dispatcher, requester)
        except NotAllowed as err:
            dispatcher.utter_message(
                text=refusal_text(err, number, self.window_days))
            return clear_order_slots() + _end_request(tracker)
        return _ask_in_form({names.SLOT_ORDER_NUMBER: number, names.SLOT_ORDER_CAN_CHANGE: True})

    # One method per order_topic value -------------------------------------------------------

    def _track(self, dispatcher: CollectingDispatcher, tracker, number: str,
               requester: Requester) -> Events:
        view = orders.order_status(self.services, number, requester)
        dispatcher.utter_message(text=replies.order_status(view))
        return clear_order_slots()

    def _cancel(self, dispatcher, tracker, number, requester) -> Events:
        quote = orders.check_cancellable(self.services, number, requester)
        text = f"{number} hasn't shipped yet, so I can cancel it"
        text += (f" (cancellation fee {replies.money(quote.fee, quote.currency)})."
                 if quote.fee > 0 else " free of charge.")
        if quote.refund_amount > 0:
            text += (f" You'd get {replies.money(quote.refund_amount, quote.currency)} back on "
                     f"your original payment method.")
        dispatcher.utter_message(text=text + " Shall I cancel it?", buttons=yes_no())
        return ask_to_confirm(names.PENDING_CANCEL, number)

    def _change(self, dispatcher, tracker, number, requester) -> Events:
        orders.check_changeable(self.services, number, requester)
        payload = f'/{names.CANCEL_ORDER}{{"{names.ENTITY_ORDER_NUMBER}":"{number}"}}'
        dispatcher.utter_message(
            text=f"Good news: {number} hasn't shipped yet, so it can still be changed. I can't "
                 "swap items, sizes or quantities myself, but our team can do it before it's "
                 "packed, or you can cancel it and order again.",
            buttons=[{"title": "Ask the team to change it", "payload": f"/{names.HUMAN_HANDOFF}"},
                     {"title": "Cancel the order", "payload": payload}],
        )
        return clear_order_slots()

    def _change_address(self, dispatcher, tracker, number, requester) -> Events:
        orders.check_changeable(self.services, number, requester)
        address = tracker.get_slot(names.SLOT_NEW_ADDRESS)
        if not address:
            # The order became unchangeable or the address was never collected: start again.
            dispatcher.utter_message(text=replies.INVALID_ADDRESS)
            return clear_order_slots()
        dispatcher.utter_message(
            text=f"Just to check: send {number} to this address instead?\n{address}",
            buttons=yes_no(),
        )
        return ask_to_confirm(names.PENDING_CHANGE_ADDRESS, number)

    def _return(self, dispatcher, tracker, number, requester) -> Events:
        quote = orders.check_return(self.services, number, requester)
        dispatcher.utter_message(
            text=f"{number} was delivered on {replies.day(quote.delivered_on)}, so it's within "
                 f"our returns window (until {replies.day(quote.last_day)}). Shall I start a "
                 "return for it?",
            buttons=yes_no(),
        )
        return ask_to_confirm(names.PENDING_RETURN, number)

    def _refund(self, dispatcher, tracker, number, requester) -> Events:
        quote = orders.check_refund(self.services, number, requester)
        dispatcher.utter_message(
            text=f"I can refund {replies.money(quote.amount, quote.currency)} for {number} to "
                 "your original payment method. Shall I go ahead?",
            buttons=yes_no(),
        )
        return ask_to_confirm(names.PENDING_REFUND, number)

    def _track_refund(self, dispatcher, tracker, number, requester) -> Events:
        refund = orders.refund_status(self.services, number, requester)
        text = (f"Your refund {refund.reference} of {replies.money(refund.amount, refund.currency)}"
                f" for {number} {replies.REFUND_WORDS.get(refund.status, refund.status)}")
        if refund.completed_at:
            text += f" (on {replies.day(refund.completed_at)})"
        elif refund.status in ("pending", "processing"):
            text += (f". Refunds reach your account {self.services.settings.shop.bank_days} "
                     "working days after we process them")
        dispatcher.utter_message(text=text + ".")
        return clear_order_slots()

    def _invoice(self, dispatcher, tracker, number, requester) -> Events:
        inv = orders.get_invoice(self.services, number, requester)
        dispatcher.utter_message(
            text=f"Invoice {inv.invoice_number} for {number} was issued on "
                 f"{replies.day(inv.issued_at)} for {replies.money(inv.amount, inv.currency)}. "
                 "You can download it as a PDF under Your account > Orders.",
        )
        return clear_order_slots()
