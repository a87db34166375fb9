"""Behaviour shared by our forms: a validator base that never raises, and stopping a form."""
from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from typing import Any, Callable, Dict, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import names, replies
from actions.base import Events, ShopAction, UsesServices
from bot.store.errors import StoreUnavailable

log = logging.getLogger(__name__)

# Every slot a form fills, cleared when a form is stopped.
FORM_SLOTS = (
    *names.ORDER_FORM_SLOTS, names.SLOT_FEEDBACK_TEXT, names.SLOT_NEWSLETTER_EMAIL,
    names.SLOT_PENDING_ACTION, names.SLOT_PENDING_ORDER, names.SLOT_ORDER_DETAILS_MISSING,
)


async def guarded(
    slot: str, dispatcher: CollectingDispatcher, check: Callable[[], Dict[Text, Any]]
) -> Dict[Text, Any]:
    """Run one slot check in a worker thread (it reads the database: the action server's event
    loop keeps serving other conversations meanwhile); a database or unexpected error re-asks
    the slot instead of raising."""
    try:
        return await asyncio.get_running_loop().run_in_executor(None, check)
    except StoreUnavailable:
        dispatcher.utter_message(text=replies.STORE_UNAVAILABLE)
    except Exception:  # noqa: BLE001 - the shopper must never see a traceback
        log.exception("validating %s failed", slot)
        dispatcher.utter_message(text=replies.SOMETHING_WENT_WRONG)
    return {slot: None}


class ShopFormValidation(UsesServices, FormValidationAction):
    """Base of our form validators: any unexpected error re-asks instead of crashing the form.
    Validators that read the database run their check through :func:`guarded`."""

    @abstractmethod
    def name(self) -> Text:
        """``validate_<form name>``."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        try:
            return await super().run(dispatcher, tracker, domain)
        except Exception:  # noqa: BLE001
            log.exception("form validation %s failed", self.name())
            dispatcher.utter_message(text=replies.SOMETHING_WENT_WRONG)
            requested = tracker.get_slot(names.REQUESTED_SLOT)
            return [SlotSet(requested, None)] if requested else []


class ActionFormStopped(ShopAction):
    """After a shopper stops a form ("stop", "no"): say so and forget what it had collected."""

    def name(self) -> Text:
        return names.ACTION_FORM_STOPPED

    def act(self, dispatcher, tracker, domain) -> Events:
        dispatcher.utter_message(text=replies.FORM_STOPPED)
        return [SlotSet(slot, None) for slot in FORM_SLOTS]


class AskAction(ShopAction):
    """Asks for one form slot with the fixed ``message`` (subclasses name themselves)."""

    message = ""

    def act(self, dispatcher, tracker, domain) -> Events:
        dispatcher.utter_message(text=self.message)
        return []


class ActionAskOrderEmail(AskAction):
    message = replies.ASK_ORDER_EMAIL

    def name(self) -> Text:
        return names.ACTION_ASK_ORDER_EMAIL


class ActionAskNewAddress(AskAction):
    message = replies.ASK_NEW_ADDRESS

    def name(self) -> Text:
        return names.ACTION_ASK_NEW_ADDRESS


class ActionAskFeedbackText(AskAction):
    message = replies.ASK_FEEDBACK_TEXT

    def name(self) -> Text:
        return names.ACTION_ASK_FEEDBACK_TEXT


class ActionAskNewsletterEmail(AskAction):
    message = replies.ASK_NEWSLETTER_EMAIL

    def name(self) -> Text:
        return names.ACTION_ASK_NEWSLETTER_EMAIL
