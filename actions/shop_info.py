"""Shop facts from the database: delivery options and times, product needs, payment problems."""
from __future__ import annotations

from typing import Text

from rasa_sdk.events import SlotSet

from actions import names, replies
from actions.base import Events, ShopAction, latest_text, verified_customer
from bot.support import needs, payments, shop_info
from propensity.policy import BEST_MATCH_FIRST, MATCHED, offer_for


class ActionDeliveryInfo(ShopAction):
    """``delivery_options`` / ``delivery_period``: prices, thresholds and times from the DB."""

    def name(self) -> Text:
        return names.ACTION_DELIVERY_INFO

    def act(self, dispatcher, tracker, domain) -> Events:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        options = shop_info.delivery_options()
        dispatcher.utter_message(
            text=replies.delivery_options(options, about_time=intent == names.DELIVERY_PERIOD))
        return []


class ActionProductSearch(ShopAction):
    """``product_search`` (and the answer to its one clarifying question): capture the shopper's
    need with the needs service, accumulate it in ``current_need``, answer with product cards or
    pass it on; for a verified shopper the propensity band decides what to lead with
    (``propensity.policy.offer_for``) and the score is stored with the need."""

    def name(self) -> Text:
        return names.ACTION_PRODUCT_SEARCH

    def on_failure(self, tracker) -> Events:
        # Never leave an old yes/no question open behind a failed turn.
        return [SlotSet(names.SLOT_NEED_QUESTION, None), SlotSet(names.SLOT_PENDING_ACTION, None)]

    def act(self, dispatcher, tracker, domain) -> Events:
        text = latest_text(tracker)
        previous = tracker.get_slot(names.SLOT_CURRENT_NEED)
        previous = previous if isinstance(previous, dict) else None
        # This action can ask a yes/no question (back-in-stock), so it always sets
        # pending_action: an older question (e.g. a cancellation) must not survive it.
        closed = [SlotSet(names.SLOT_NEED_QUESTION, None), SlotSet(names.SLOT_PENDING_ACTION, None)]
        if text.startswith("/"):  # a button such as "Something else": no words to read
            dispatcher.utter_message(text=replies.ASK_PRODUCT)
            return closed
        customer_id = verified_customer(tracker)
        result = needs.capture_need(tracker.sender_id, customer_id, user_turn(tracker), text,
                                    previous)
        if result.kind == "none":
            return self._no_need(dispatcher, tracker, text, previous) + closed
        events = [SlotSet(names.SLOT_CURRENT_NEED, result.need)]
        if result.kind == "question":
            dispatcher.utter_message(text=result.text)
            return events + [SlotSet(names.SLOT_NEED_QUESTION, True),
                             SlotSet(names.SLOT_PENDING_ACTION, None)]
        if result.queued and not result.products:
            # The database is down: nothing could be matched, so don't claim we lack it. The
            # service's outbox keeps the need until the database is back.
            dispatcher.utter_message(text=replies.need_queued(result.need or {}))
            return events + closed
        score = needs.score_shopper(customer_id)  # anonymous: never scored
        if score.band is not None and result.need and not result.queued:
            needs.store_score(tracker.sender_id, result.need.get("_seq"), score)
        offer = offer_for(score.band, result.status)
        if result.status == MATCHED:
            self._matched(dispatcher, result, offer)
            return events + closed
        ask = self._unmet(dispatcher, result, offer, customer_id)
        return events + [SlotSet(names.SLOT_NEED_QUESTION, None),
                         SlotSet(names.SLOT_PENDING_ACTION,
                                 names.PENDING_BACK_IN_STOCK if ask else None)]

    @staticmethod
    def _no_need(dispatcher, tracker, text, previous) -> Events:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent != names.PRODUCT_SEARCH:  # an answer to our question we couldn't read
            thing = (previous or {}).get("product") or "it"
            dispatcher.utter_message(text=replies.need_not_understood(thing))
            return []
        # No product the need extractor knows: fall back to a plain catalogue search.
        entities = (tracker.latest_message or {}).get("entities") or []
        wanted = [e.get("value") for e in entities
                  if e.get("entity") == names.ENTITY_PRODUCT and isinstance(e.get("value"), str)]
        query = wanted[0] if wanted else text
        if not shop_info.search_words(query):
            dispatcher.utter_message(text=replies.ASK_PRODUCT)
            return []
        found = shop_info.search_products(query)
        if not found:
            dispatcher.utter_message(text=replies.PRODUCT_NOT_FOUND)
            return []
        dispatcher.utter_message(text=replies.products(found))
        return []

    @staticmethod
    def _matched(dispatcher, result, offer) -> None:
        cards = [needs.card(p) for p in result.products][:max(offer.max_products, 1)]
        if offer.kind == BEST_MATCH_FIRST:
            first = cards[0]
            text = f"The best match for you is the {first['name']}."
        else:
            text = result.text
        if offer.lead_with_delivery_date:
            estimate = needs.fastest_delivery()
            if estimate is not None:
                text += (f" Order today and it can be with you by {replies.day(estimate.by)} "
                         f"with {estimate.option}.")
        if offer.offer_save_for_later:
            text += " No rush - these stay here in the chat if you'd like to come back to them."
        dispatcher.utter_message(text=text, buttons=result.buttons)
        dispatcher.utter_message(json_message={"type": "product_cards", "products": cards})

    @staticmethod
    def _unmet(dispatcher, result, offer, customer_id) -> bool:
        """Passed on; alternatives and the back-in-stock offer per the policy. True: asked."""
        dispatcher.utter_message(text=result.text)
        if offer.offer_alternatives:
            alternatives = needs.alternatives(result.need or {}, offer.max_products or 3)
            if alternatives:
                dispatcher.utter_message(json_message={
                    "type": "product_cards", "text": replies.CLOSEST_ALTERNATIVES,
                    "products": alternatives})
        if not offer.offer_back_in_stock:
            return False
        if customer_id is None:
            dispatcher.utter_message(text=replies.BACK_IN_STOCK_SIGN_IN)
            return False
        dispatcher.utter_message(text=replies.BACK_IN_STOCK_OFFER, buttons=[
            {"title": "Yes please", "payload": f"/{names.AFFIRM}"},
            {"title": "No thanks", "payload": f"/{names.DENY}"}])
        return True


def user_turn(tracker) -> int:
    """This message's number in the conversation (1 for the first user message)."""
    return max(1, sum(1 for e in tracker.events if e.get("event") == "user"))


class ActionPaymentIssue(ShopAction):
    """``payment_issue``: general help, plus what a signed-in shopper's recent payments show."""

    def name(self) -> Text:
        return names.ACTION_PAYMENT_ISSUE

    def act(self, dispatcher, tracker, domain) -> Events:
        customer_id = verified_customer(tracker)
        if customer_id is not None:
            check = payments.check_payments(customer_id)
            for p in check.problems:
                amount = replies.money(p.amount, p.currency)
                if p.kind == "charged_twice":
                    dispatcher.utter_message(
                        text=f"I can see {amount} was taken twice for {p.order_number}. Our "
                             "payments team refunds duplicate charges - ask to talk to a person "
                             "and I'll pass it straight on.",
                        buttons=[{"title": "Talk to a person",
                                  "payload": f"/{names.HUMAN_HANDOFF}"}])
                else:
                    dispatcher.utter_message(
                        text=f"The payment of {amount} for {p.order_number} failed, so the order "
                             "is on hold. You can retry it under Your account > Orders.")
            if not check.problems:
                dispatcher.utter_message(
                    text="I can't see any failed or duplicate payments on your recent orders.")
        dispatcher.utter_message(text=replies.PAYMENT_ISSUE_GENERAL)
        return []
