"""Shared behaviour of our actions: the process's services, the verified identity, never raising.

Every action is built with the action server's one :class:`~bot.services.Services`
(``actions/server.py``), runs its (blocking) service call in a worker thread so the action server's
event loop keeps serving other conversations, turns StoreUnavailable and a refused escalation
into a polite message, and logs any other error instead of letting a traceback reach the shopper.
"""
from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import names, replies
from bot.identity import customer_from_metadata
from bot.services import Services
from bot.store.errors import StoreUnavailable
from bot.support.access import Requester
from bot.support.escalations import EscalationDenied

log = logging.getLogger(__name__)

Events = List[Dict[Text, Any]]


def latest_text(tracker: Tracker) -> str:
    text = (tracker.latest_message or {}).get("text")
    return text if isinstance(text, str) else ""


def text_before_fallback_button(tracker: Tracker) -> str | None:
    """The shopper's own words when this turn is a topic button of the two-stage fallback.

    "I'm after a cashmere beanie" falls back, the shopper picks "Find a product", and Rasa
    replays the button ("/product_search"), not the sentence: the sentence is the last user
    message that is not a button, provided the classifier could not place it (``nlu_fallback``).
    A button pressed anywhere else ("Something else" under search results) gives None.
    """
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        text = event.get("text")
        if isinstance(text, str) and text.startswith("/"):
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        return text if intent == names.NLU_FALLBACK and isinstance(text, str) and text.strip() else None
    return None


def recent_user_messages(tracker: Tracker, limit: int = 5) -> list[str]:
    texts = [
        e.get("text") for e in tracker.events
        if e.get("event") == "user" and isinstance(e.get("text"), str)
        and not e["text"].startswith("/")
    ]
    return texts[-limit:]


# Events after which the tracker's slots are no longer what the action saw.
_SLOT_RESETTING_EVENTS = frozenset({"restart", "reset_slots", "rewind", "undo", "session_started"})


def without_unchanged_slots(events: Events, tracker: Tracker) -> Events:
    """``events`` minus SlotSets that leave a slot as it already is.

    A no-op SlotSet changes nothing the policies see (states are slot values), but every event
    is one more row the Rasa server writes to its tracker store and reads back on each later
    turn, and clearing "every order slot" after each answer was most of an order turn's events.
    """
    current = dict(tracker.slots)
    kept: Events = []
    for index, event in enumerate(events):
        kind = event.get("event")
        if kind in _SLOT_RESETTING_EVENTS:
            return kept + list(events[index:])
        if kind == "slot":
            # Rasa sends every slot; a slot missing here (hand-built trackers) is unset.
            if current.get(event.get("name")) == event.get("value"):
                continue
            current[event.get("name")] = event.get("value")
        kept.append(event)
    return kept


class UsesServices:
    """Actions and form validators built with the process's services."""

    def __init__(self, services: Services):
        self.services = services

    def customer(self, tracker: Tracker) -> int | None:
        """The customer the input channel verified for THIS turn's message (its metadata's
        ``VERIFIED_KEY``); None for a guest. Only the channel can set it, and only Rasa, which
        holds the action server's secret, can send us a tracker."""
        return customer_from_metadata((tracker.latest_message or {}).get("metadata"))

    @property
    def window_days(self) -> int:
        """The returns window the shop's policy gives (days after delivery)."""
        return self.services.settings.shop.return_window_days

    def requester(self, tracker: Tracker) -> Requester:
        """Who asks about an order: the verified customer, else whoever knows its email."""
        customer_id = self.customer(tracker)
        if customer_id is not None:
            return Requester(customer_id=customer_id)
        return Requester(email=tracker.get_slot(names.SLOT_ORDER_EMAIL))


class ShopAction(UsesServices, Action, ABC):
    """Base action: subclasses implement ``name`` and the synchronous ``act``."""

    @abstractmethod
    def name(self) -> Text:
        """The action's name in domain.yml (a constant from actions.names)."""

    @abstractmethod
    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        """Read the tracker, call one service, send messages; return events."""

    def on_failure(self, tracker: Tracker) -> Events:
        """Events to return when the service failed (e.g. clear a half-finished request)."""
        return []

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        loop = asyncio.get_running_loop()
        try:
            events = await loop.run_in_executor(None, self.act, dispatcher, tracker, domain)
        except StoreUnavailable:
            dispatcher.utter_message(text=replies.STORE_UNAVAILABLE)
            events = self.on_failure(tracker)
        except EscalationDenied:
            # Any action that escalates (hand-over, fallback, complaint): the open escalation
            # is another customer's; refused and audited by the service.
            dispatcher.utter_message(text=replies.ESCALATION_NOT_ADDED)
            events = self.on_failure(tracker)
        except Exception:  # noqa: BLE001 - the shopper must never see a traceback
            log.exception("action %s failed", self.name())
            dispatcher.utter_message(text=replies.SOMETHING_WENT_WRONG)
            events = self.on_failure(tracker)
        return without_unchanged_slots(events, tracker)
