"""Account actions: newsletter subscriptions and account deletion requests."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import names, replies
from actions.base import Events, ShopAction
from actions.forms_common import ShopFormValidation
from bot.store.errors import InvalidInput, NotSignedIn
from bot.support import accounts
from bot.support.text import normalise_email, wants_unsubscribe


def newsletter_request_text(tracker: Tracker) -> str:
    """The shopper's latest message that asked about the newsletter."""
    for event in reversed(tracker.events):
        if (event.get("event") == "user"
                and (event.get("parse_data") or {}).get("intent", {}).get("name")
                == names.NEWSLETTER_SUBSCRIPTION):
            return event.get("text") or ""
    return ""


class ValidateNewsletterForm(ShopFormValidation):
    """Signed-in shoppers use their account email; others are asked for one."""

    def name(self) -> Text:
        return names.VALIDATE_NEWSLETTER_FORM

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict) -> List[Text]:
        return [] if self.customer(tracker) is not None else [names.SLOT_NEWSLETTER_EMAIL]

    def validate_newsletter_email(self, value: Any, dispatcher, tracker, domain
                                  ) -> Dict[Text, Any]:
        email = normalise_email(value)
        if email is None:
            dispatcher.utter_message(text=replies.INVALID_EMAIL)
        return {names.SLOT_NEWSLETTER_EMAIL: email}


class ActionSubscribeNewsletter(ShopAction):
    def name(self) -> Text:
        return names.ACTION_SUBSCRIBE_NEWSLETTER

    def on_failure(self, tracker) -> Events:
        return [SlotSet(names.SLOT_NEWSLETTER_EMAIL, None)]

    def act(self, dispatcher, tracker, domain) -> Events:
        subscribe = not wants_unsubscribe(newsletter_request_text(tracker))
        customer_id = self.customer(tracker)
        email = None if customer_id is not None else tracker.get_slot(names.SLOT_NEWSLETTER_EMAIL)
        try:
            result = accounts.set_newsletter(self.services, email, customer_id, subscribe)
        except InvalidInput:
            dispatcher.utter_message(text=replies.INVALID_EMAIL)
            return [SlotSet(names.SLOT_NEWSLETTER_EMAIL, None)]
        if subscribe:
            text = ("You're subscribed to our newsletter. There's an unsubscribe link in every "
                    "issue." if result.changed else "You're already subscribed to our newsletter.")
        else:
            # Same answer either way: it must not reveal whether an address was subscribed.
            text = "Done - that address won't get our newsletter any more."
        dispatcher.utter_message(text=text)
        return [SlotSet(names.SLOT_NEWSLETTER_EMAIL, None)]


class ActionDeleteAccount(ShopAction):
    """Records a deletion request for a verified shopper; others are told how to ask."""

    def name(self) -> Text:
        return names.ACTION_DELETE_ACCOUNT

    def act(self, dispatcher, tracker, domain) -> Events:
        try:
            result = accounts.request_account_deletion(self.services, self.customer(tracker),
                                                       tracker.sender_id)
        except NotSignedIn:
            dispatcher.utter_message(text=replies.DELETE_ACCOUNT_SIGN_IN)
            return []
        if result.reused:
            text = (f"Your request to close your account is already with our team (reference "
                    f"{result.reference}).")
        else:
            text = (f"I've asked our team to close your account (reference {result.reference}). "
                    "They'll email you to confirm within "
                    f"{self.services.settings.shop.account_request_days} working days; your order "
                    "history is kept only as long as the law requires.")
        dispatcher.utter_message(text=text)
        return []
