"""Reviews, feedback and complaints: stored for the team; complaints can be escalated."""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa_sdk.events import SlotSet

from actions import names, replies
from actions.base import Events, ShopAction, latest_text
from actions.forms_common import ShopFormValidation
from bot.store.errors import InvalidInput
from bot.support import feedback
from bot.support.text import clean_text, has_words, parse_rating


class ValidateFeedbackForm(ShopFormValidation):
    def name(self) -> Text:
        return names.VALIDATE_FEEDBACK_FORM

    def validate_feedback_text(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        text = clean_text(value, feedback.MAX_FEEDBACK_CHARS)
        if not has_words(text):
            dispatcher.utter_message(text=replies.INVALID_FEEDBACK)
            return {names.SLOT_FEEDBACK_TEXT: None}
        return {names.SLOT_FEEDBACK_TEXT: text}


class ActionRecordFeedback(ShopAction):
    """Stores the review/feedback the feedback form collected."""

    def name(self) -> Text:
        return names.ACTION_RECORD_FEEDBACK

    def on_failure(self, tracker) -> Events:
        return [SlotSet(names.SLOT_FEEDBACK_TEXT, None)]

    def act(self, dispatcher, tracker, domain) -> Events:
        text = tracker.get_slot(names.SLOT_FEEDBACK_TEXT) or ""
        kind = "review" if parse_rating(text) is not None else "feedback"
        try:
            receipt = feedback.record(self.services, tracker.sender_id, self.customer(tracker),
                                      kind, text)
        except InvalidInput:
            dispatcher.utter_message(text=replies.INVALID_FEEDBACK)
            return [SlotSet(names.SLOT_FEEDBACK_TEXT, None)]
        thanks = "Thank you for your review"
        if receipt.rating is not None:
            thanks += f" ({receipt.rating}/5)"
        if kind == "feedback":
            thanks = "Thank you for your feedback"
        dispatcher.utter_message(
            text=f"{thanks} - it's saved with our customer feedback "
                 f"(reference {receipt.reference}).")
        return [SlotSet(names.SLOT_FEEDBACK_TEXT, None)]


class ActionRecordComplaint(ShopAction):
    """``complaint``: store it, apologise, and offer to pass it to a person."""

    def name(self) -> Text:
        return names.ACTION_RECORD_COMPLAINT

    def act(self, dispatcher, tracker, domain) -> Events:
        text = latest_text(tracker)
        reference = None
        if has_words(text):
            try:
                reference = feedback.record(self.services, tracker.sender_id,
                                            self.customer(tracker), "complaint", text).reference
            except InvalidInput:
                reference = None
        message = "I'm really sorry about that."
        if reference:
            message += f" I've recorded your complaint (reference {reference})."
        dispatcher.utter_message(
            text=message + " Shall I pass this to our customer care team so a person can sort "
                           "it out with you?",
            buttons=[{"title": "Yes, please", "payload": f"/{names.AFFIRM}"},
                     {"title": "No, that's fine", "payload": f"/{names.DENY}"}],
        )
        return [SlotSet(names.SLOT_PENDING_ACTION, names.PENDING_ESCALATE_COMPLAINT)]
