"""``payment_issue``: general help, plus what a signed-in shopper's recent payments show."""
from __future__ import annotations

from typing import Text

from actions import names, replies
from actions.base import Events, ShopAction
from bot.support import payments


class ActionPaymentIssue(ShopAction):
    """``payment_issue``: general help, plus what a signed-in shopper's recent payments show."""

    def name(self) -> Text:
        return names.ACTION_PAYMENT_ISSUE

    def act(self, dispatcher, tracker, domain) -> Events:
        customer_id = self.customer(tracker)
        if customer_id is not None:
            check = payments.check_payments(self.services, customer_id)
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
