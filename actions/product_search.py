"""``product_search`` (and the answer to its one clarifying question): one call to
:func:`bot.support.product_search.search`, its outcome turned into messages and slots."""
from __future__ import annotations

from typing import Text

from rasa_sdk.events import SlotSet

from actions import names, replies
from actions.base import Events, ShopAction, latest_text, text_before_fallback_button
from bot.support import product_search as ps


class ActionProductSearch(ShopAction):
    """Keeps the accumulated need in ``current_need``; asks at most one yes/no question
    (back in stock), so it always sets ``pending_action``: an older question (a cancellation)
    must not survive it."""

    def name(self) -> Text:
        return names.ACTION_PRODUCT_SEARCH

    def on_failure(self, tracker) -> Events:
        # Never leave an old yes/no question open behind a failed turn.
        return [SlotSet(names.SLOT_NEED_QUESTION, None), SlotSet(names.SLOT_PENDING_ACTION, None)]

    def act(self, dispatcher, tracker, domain) -> Events:
        message = tracker.latest_message or {}
        previous = tracker.get_slot(names.SLOT_CURRENT_NEED)
        entities = message.get("entities") or []
        # "Find a product" pressed after a fallback: search the words the shopper wrote.
        text = latest_text(tracker)
        clarified = text_before_fallback_button(tracker) if text.startswith("/") else None
        outcome = ps.search(self.services, ps.SearchRequest(
            conversation_id=tracker.sender_id,
            customer_id=self.customer(tracker),
            turn=user_turn(tracker),
            text=clarified or text,
            previous_need=previous if isinstance(previous, dict) else None,
            is_answer=(message.get("intent") or {}).get("name") != names.PRODUCT_SEARCH,
            product_entities=tuple(e.get("value") for e in entities
                                   if e.get("entity") == names.ENTITY_PRODUCT
                                   and isinstance(e.get("value"), str)),
        ))
        self._render(dispatcher, outcome)
        events = [] if outcome.need is None else [SlotSet(names.SLOT_CURRENT_NEED, outcome.need)]
        return events + [
            SlotSet(names.SLOT_NEED_QUESTION, True if outcome.kind == ps.QUESTION else None),
            SlotSet(names.SLOT_PENDING_ACTION,
                    names.PENDING_BACK_IN_STOCK if outcome.back_in_stock == "offer" else None),
        ]

    @staticmethod
    def _render(dispatcher, outcome: ps.SearchOutcome) -> None:
        kind = outcome.kind
        if kind == ps.ASK_PRODUCT:
            dispatcher.utter_message(text=replies.ASK_PRODUCT)
        elif kind == ps.NOT_UNDERSTOOD:
            dispatcher.utter_message(text=replies.need_not_understood(outcome.thing))
        elif kind == ps.NOT_FOUND:
            dispatcher.utter_message(text=replies.PRODUCT_NOT_FOUND)
        elif kind == ps.FOUND:
            dispatcher.utter_message(text=replies.products(list(outcome.found)))
        elif kind == ps.QUESTION:
            dispatcher.utter_message(text=outcome.text)
        elif kind == ps.QUEUED:
            dispatcher.utter_message(text=replies.need_queued(outcome.need or {}))
        elif kind == ps.MATCHED_NEED:
            _matched(dispatcher, outcome)
        else:
            _unmet(dispatcher, outcome)


def _matched(dispatcher, outcome: ps.SearchOutcome) -> None:
    cards = list(outcome.cards)
    text = (f"The best match for you is the {cards[0]['name']}." if outcome.best_match_first
            else outcome.text)
    if outcome.delivery is not None:
        text += (f" Order today and it can be with you by {replies.day(outcome.delivery.by)} "
                 f"with {outcome.delivery.option}.")
    if outcome.save_for_later:
        text += " No rush - these stay here in the chat if you'd like to come back to them."
    dispatcher.utter_message(text=text, buttons=list(outcome.buttons))
    dispatcher.utter_message(json_message={"type": "product_cards", "products": cards})


def _unmet(dispatcher, outcome: ps.SearchOutcome) -> None:
    dispatcher.utter_message(text=outcome.text)
    if outcome.alternatives:
        dispatcher.utter_message(json_message={
            "type": "product_cards", "text": replies.CLOSEST_ALTERNATIVES,
            "products": list(outcome.alternatives)})
    if outcome.back_in_stock == "sign_in":
        dispatcher.utter_message(text=replies.BACK_IN_STOCK_SIGN_IN)
    elif outcome.back_in_stock == "offer":
        dispatcher.utter_message(text=replies.BACK_IN_STOCK_OFFER, buttons=[
            {"title": "Yes please", "payload": f"/{names.AFFIRM}"},
            {"title": "No thanks", "payload": f"/{names.DENY}"}])


def user_turn(tracker) -> int:
    """This message's number in the conversation (1 for the first user message)."""
    return max(1, sum(1 for e in tracker.events if e.get("event") == "user"))
