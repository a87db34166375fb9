"""Shop facts from the database: delivery options and times, products, payment problems."""
from __future__ import annotations

from typing import Text

from actions import names, replies
from actions.base import Events, ShopAction, latest_text, verified_customer
from bot.support import payments, shop_info


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
    """``product_search``: look the product up in the catalogue; stock and price."""

    def name(self) -> Text:
        return names.ACTION_PRODUCT_SEARCH

    def act(self, dispatcher, tracker, domain) -> Events:
        entities = (tracker.latest_message or {}).get("entities") or []
        wanted = [e.get("value") for e in entities
                  if e.get("entity") == names.ENTITY_PRODUCT and isinstance(e.get("value"), str)]
        query = wanted[0] if wanted else latest_text(tracker)
        if not shop_info.search_words(query):
            dispatcher.utter_message(text=replies.ASK_PRODUCT)
            return []
        found = shop_info.search_products(query)
        if not found:
            dispatcher.utter_message(
                text="I couldn't find that in our catalogue, sorry. Try another name for it, or "
                     "browse the categories on our website.")
            return []
        dispatcher.utter_message(text=replies.products(found))
        return []


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
