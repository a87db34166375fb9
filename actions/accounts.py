"""Account actions: the newsletter's double opt-in, and a signed-in shopper's own data (erase,
export), each confirmed with a yes/no question first."""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import names, replies
from actions.base import Events, ShopAction
from actions.confirmation import ActionHandleConfirmation, last_asking_action
from actions.forms_common import ShopFormValidation
from bot.store.errors import InvalidInput, NotSignedIn
from bot.support import accounts
from bot.support.text import normalise_email, wants_unsubscribe

YES_NO = (MappingProxyType({"title": "Yes, go ahead", "payload": f"/{names.AFFIRM}"}),
          MappingProxyType({"title": "No, thanks", "payload": f"/{names.DENY}"}))
_ASKED_BY = MappingProxyType({names.PRIVACY_ERASE: names.ACTION_DELETE_ACCOUNT,
                              names.PRIVACY_EXPORT: names.ACTION_EXPORT_DATA})


def newsletter_request_text(tracker: Tracker) -> str:
    """The shopper's latest message that asked about the newsletter."""
    for event in reversed(tracker.events):
        if (event.get("event") == "user"
                and (event.get("parse_data") or {}).get("intent", {}).get("name")
                == names.NEWSLETTER_SUBSCRIPTION):
            return event.get("text") or ""
    return ""


def privacy_question_open(tracker: Tracker, question: str | None) -> bool:
    """True when the last action before this message (ignoring plain responses and the
    fallback's clarification) asked ``question``: a "yes" meant for another question never
    erases anything."""
    asked_by = _ASKED_BY.get(question or "")
    return asked_by is not None and last_asking_action(tracker) == asked_by


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
    """Subscribe (double opt-in: a confirmation link by mail) or unsubscribe; the answer is the
    same whether or not the address was on the list."""

    def name(self) -> Text:
        return names.ACTION_SUBSCRIBE_NEWSLETTER

    def on_failure(self, tracker) -> Events:
        return [SlotSet(names.SLOT_NEWSLETTER_EMAIL, None)]

    def act(self, dispatcher, tracker, domain) -> Events:
        subscribe = not wants_unsubscribe(newsletter_request_text(tracker))
        customer_id = self.customer(tracker)
        email = None if customer_id is not None else tracker.get_slot(names.SLOT_NEWSLETTER_EMAIL)
        try:
            if subscribe:
                accounts.request_newsletter(self.services, email, customer_id)
            else:
                accounts.unsubscribe_newsletter(self.services, email, customer_id)
        except InvalidInput:
            dispatcher.utter_message(text=replies.INVALID_EMAIL)
            return [SlotSet(names.SLOT_NEWSLETTER_EMAIL, None)]
        dispatcher.utter_message(text=replies.NEWSLETTER_CHECK_INBOX if subscribe
                                 else replies.NEWSLETTER_UNSUBSCRIBED)
        return [SlotSet(names.SLOT_NEWSLETTER_EMAIL, None)]


class _PrivacyQuestion(ShopAction):
    """Asks a signed-in shopper to confirm (privacy_question); others are asked to sign in."""

    question: str = ""
    sign_in_text: str = ""
    question_text: str = ""

    def act(self, dispatcher, tracker, domain) -> Events:
        if self.customer(tracker) is None:
            dispatcher.utter_message(text=self.sign_in_text)
            return [SlotSet(names.SLOT_PRIVACY_QUESTION, None)]
        dispatcher.utter_message(text=self.question_text, buttons=[dict(b) for b in YES_NO])
        return [SlotSet(names.SLOT_PRIVACY_QUESTION, self.question)]


class ActionDeleteAccount(_PrivacyQuestion):
    """``delete_account``: "delete my data" / "close my account"; asks before erasing."""

    question = names.PRIVACY_ERASE
    sign_in_text = replies.DELETE_ACCOUNT_SIGN_IN
    question_text = replies.ERASE_QUESTION

    def name(self) -> Text:
        return names.ACTION_DELETE_ACCOUNT


class ActionExportData(_PrivacyQuestion):
    """``export_data``: "send me a copy of my data"; asks before preparing the link."""

    question = names.PRIVACY_EXPORT
    sign_in_text = replies.EXPORT_DATA_SIGN_IN
    question_text = replies.EXPORT_QUESTION

    def name(self) -> Text:
        return names.ACTION_EXPORT_DATA


class ActionPrivacyAnswer(ShopAction):
    """``affirm``/``deny`` while privacy_question is set: erase or export for the shopper
    signed in *now*. A yes or no that answers another question (the privacy question was
    not the last one asked) goes to the general confirmation handler."""

    def name(self) -> Text:
        return names.ACTION_PRIVACY_ANSWER

    def on_failure(self, tracker) -> Events:
        return [SlotSet(names.SLOT_PRIVACY_QUESTION, None)]

    def act(self, dispatcher, tracker, domain) -> Events:
        question = tracker.get_slot(names.SLOT_PRIVACY_QUESTION)
        clear = [SlotSet(names.SLOT_PRIVACY_QUESTION, None)]
        if not privacy_question_open(tracker, question):
            return ActionHandleConfirmation(self.services).act(dispatcher, tracker, domain) + clear
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        erase = question == names.PRIVACY_ERASE
        if intent != names.AFFIRM:
            dispatcher.utter_message(text=replies.ERASE_KEPT if erase else replies.EXPORT_KEPT)
            return clear
        customer_id = self.customer(tracker)
        try:
            if erase:
                receipt = accounts.erase_my_data(self.services, customer_id, tracker.sender_id)
                dispatcher.utter_message(text=replies.erased(receipt.reference))
            else:
                url = accounts.export_link(self.services, customer_id)
                dispatcher.utter_message(text=replies.export_ready(url))
        except NotSignedIn:
            dispatcher.utter_message(text=replies.DELETE_ACCOUNT_SIGN_IN if erase
                                     else replies.EXPORT_DATA_SIGN_IN)
        return clear
