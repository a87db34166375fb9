"""Answers to a pending yes/no question: cancel, change address, return, refund, escalate,
back-in-stock notice."""
from __future__ import annotations

from types import MappingProxyType

from typing import Text

from rasa_sdk import Tracker

from actions import names, replies
from actions.base import (
    Events,
    ShopAction,
    recent_user_messages,
)
from actions.escalation import ticket_text
from actions.orders import ActionHandleOrderRequest, clear_order_slots, refusal_text
from bot.store.errors import NotAllowed, OrderNotFound
from bot.support import escalations, orders
from bot.support import product_search
from bot.support.text import ascii_int, normalise_order_number

# Actions that ask a yes/no question and set pending_action.
ASKING_ACTIONS = (names.ACTION_HANDLE_ORDER_REQUEST, names.ACTION_RECORD_COMPLAINT,
                  names.ACTION_PRODUCT_SEARCH)
# The only question the product search asks; it never confirms an order change.
ASKED_BY = MappingProxyType({names.PENDING_BACK_IN_STOCK: (names.ACTION_PRODUCT_SEARCH,)})
# action_handle_confirmation asks too: when the order talked about changed since the question,
# its answer to a "yes" is the question again, about the current order.
ORDER_ASKING_ACTIONS = (names.ACTION_HANDLE_ORDER_REQUEST, names.ACTION_RECORD_COMPLAINT,
                        names.ACTION_HANDLE_CONFIRMATION)
# Actions that may run between the question and its answer without closing it: listening,
# plain responses, and the two-stage fallback checking what an unclear "yes"/"no" meant.
PASS_THROUGH_ACTIONS = frozenset({"action_listen", "action_two_stage_fallback",
                        names.ACTION_DEFAULT_ASK_AFFIRMATION, names.ACTION_DEFAULT_ASK_REPHRASE})
KEPT_AS_IS = MappingProxyType({
    names.PENDING_CANCEL: "No problem, {number} stays as it is.",
    names.PENDING_CHANGE_ADDRESS: "OK, {number} keeps its original delivery address.",
    names.PENDING_RETURN: "OK, I haven't started a return for {number}.",
    names.PENDING_REFUND: "OK, I haven't requested a refund for {number}.",
    names.PENDING_ESCALATE_COMPLAINT: "OK. Your complaint is on record and our team reads every "
                                      "one.",
    names.PENDING_BACK_IN_STOCK: "OK, no notice. Is there anything else I can help with?",
})
# Said before the question is asked again about the order mentioned since.
ORDER_CHANGED = ("Before I do anything: I asked about {quoted}, but you've mentioned {current} "
                 "since, so let me check that one.")


def last_asking_action(tracker: Tracker) -> str | None:
    """The last custom action that ran before this message, ignoring plain responses and the
    actions that may run between a question and its answer (PASS_THROUGH_ACTIONS)."""
    # Applied events only: a fallback clarification reverts the unclear message it replaces.
    seen_user = False
    for event in reversed(tracker.applied_events()):
        if event.get("event") == "user":
            seen_user = True
            continue
        if not seen_user or event.get("event") != "action":
            continue
        name = event.get("name") or ""
        if name in PASS_THROUGH_ACTIONS or name.startswith("utter_"):
            continue
        return name
    return None


def question_is_open(tracker: Tracker, pending: str | None = None) -> bool:
    """True when the last action before this message (ignoring plain responses) asked it."""
    name = last_asking_action(tracker)
    return name is not None and name in ASKED_BY.get(pending, ORDER_ASKING_ACTIONS)


class ActionHandleConfirmation(ShopAction):
    """``affirm``/``deny``: carry out or drop the pending request, re-checking everything."""

    def name(self) -> Text:
        return names.ACTION_HANDLE_CONFIRMATION

    def on_failure(self, tracker) -> Events:
        return clear_order_slots()

    def act(self, dispatcher, tracker, domain) -> Events:
        pending = tracker.get_slot(names.SLOT_PENDING_ACTION)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        said_yes = intent == names.AFFIRM
        if not pending or not question_is_open(tracker, pending):
            dispatcher.utter_message(text=replies.NOTHING_PENDING_AFFIRM if said_yes
                                     else replies.NOTHING_PENDING_DENY)
            return clear_order_slots()
        number = (normalise_order_number(tracker.get_slot(names.SLOT_PENDING_ORDER))
                  or normalise_order_number(tracker.get_slot(names.SLOT_ORDER_NUMBER)) or "")
        if not said_yes:
            dispatcher.utter_message(text=KEPT_AS_IS.get(pending, "OK.").format(number=number))
            return clear_order_slots()
        if pending == names.PENDING_BACK_IN_STOCK:
            need = tracker.get_slot(names.SLOT_CURRENT_NEED)
            seq = ascii_int(need.get("_seq")) if isinstance(need, dict) else None
            recorded = self.customer(tracker) is not None and \
                product_search.request_back_in_stock(self.services, tracker.sender_id, seq)
            dispatcher.utter_message(text=replies.BACK_IN_STOCK_RECORDED if recorded
                                     else replies.BACK_IN_STOCK_NOT_RECORDED)
            return clear_order_slots()
        if pending == names.PENDING_ESCALATE_COMPLAINT:
            ticket = escalations.escalate(self.services, tracker.sender_id, self.customer(tracker),
                                          "complaint", recent_user_messages(tracker),
                                          channel=tracker.get_latest_input_channel())
            dispatcher.utter_message(text=ticket_text(ticket))
            return clear_order_slots()
        return self._order_answer(dispatcher, tracker, pending)

    def _order_answer(self, dispatcher, tracker: Tracker, pending: str) -> Events:
        """A "yes" to a question about an order acts on the order the question quoted, and only
        while that is still the order being talked about; otherwise it asks again about the
        current one (nothing changes)."""
        quoted = normalise_order_number(tracker.get_slot(names.SLOT_PENDING_ORDER))
        current = normalise_order_number(tracker.get_slot(names.SLOT_ORDER_NUMBER))
        requester = self.requester(tracker)
        if pending in names.ORDER_PENDING_ACTIONS and (quoted is None or
                                                       (current and current != quoted)):
            if not current or (not requester.verified and not requester.email):
                dispatcher.utter_message(text=replies.NOTHING_PENDING_AFFIRM)
                return clear_order_slots()
            if quoted:
                dispatcher.utter_message(text=ORDER_CHANGED.format(quoted=quoted,
                                                                   current=current))
            return self._ask_again(dispatcher, tracker, pending, current, requester)
        number = quoted or current or ""
        if not number or (not requester.verified and not requester.email):
            dispatcher.utter_message(text=replies.ORDER_NOT_FOUND)
            return clear_order_slots()
        try:
            dispatcher.utter_message(text=self._carry_out(pending, number, requester, tracker))
        except OrderNotFound:
            dispatcher.utter_message(text=replies.ORDER_NOT_FOUND)
        except NotAllowed as err:
            dispatcher.utter_message(
                text=refusal_text(err, number, self.window_days))
        return clear_order_slots()

    def _ask_again(self, dispatcher, tracker: Tracker, pending: str, number: str,
                   requester) -> Events:
        try:
            return ActionHandleOrderRequest(self.services).ask_again(
                dispatcher, tracker, pending, number, requester)
        except OrderNotFound:
            dispatcher.utter_message(text=replies.ORDER_NOT_FOUND)
        except NotAllowed as err:
            dispatcher.utter_message(text=refusal_text(err, number, self.window_days))
        return clear_order_slots()

    def _carry_out(self, pending: str, number: str, requester, tracker: Tracker) -> str:
        if pending == names.PENDING_CANCEL:
            result = orders.cancel_order(self.services, number, requester)
            text = f"Done: {number} is cancelled."
            if result.refund_amount > 0:
                text += (f" A refund of {replies.money(result.refund_amount, result.currency)} "
                         "is on its way to your original payment method "
                         f"({self.services.settings.shop.bank_days} working days).")
            return text
        if pending == names.PENDING_CHANGE_ADDRESS:
            view = orders.change_address(self.services, number, requester,
                                         tracker.get_slot(names.SLOT_NEW_ADDRESS) or "")
            return f"Done: {number} will now go to {view.shipping_address}."
        if pending == names.PENDING_RETURN:
            result = orders.create_return(self.services, number, requester)
            return (f"Your return {result.reference} for {number} is booked. Pack the items with "
                    "the return slip, print the free label from Your account > Orders and drop "
                    f"the parcel off by {replies.day(result.last_day)}. We refund you as soon as "
                    "it reaches us.")
        if pending == names.PENDING_REFUND:
            refund = orders.request_refund(self.services, number, requester)
            return (f"Done: refund {refund.reference} of "
                    f"{replies.money(refund.amount, refund.currency)} for {number} is requested. "
                    "It reaches your original payment method within "
                    f"{self.services.settings.shop.bank_days} working days.")
        raise ValueError(f"unknown pending action {pending!r}")
