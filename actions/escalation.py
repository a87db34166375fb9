"""Handing over to people: explicit requests, failed fallbacks, and the affirmation question."""
from __future__ import annotations

from types import MappingProxyType

from typing import Text

from rasa_sdk.events import UserUtteranceReverted

from actions import names, replies
from actions.base import (
    Events,
    ShopAction,
    latest_text,
    recent_user_messages,
)
from bot.support import escalations
from bot.support.text import has_words, normalise_order_number

# How the two-stage fallback names a guessed intent to the shopper.
INTENT_PHRASES = MappingProxyType({
    "greet": "just saying hello",
    "goodbye": "saying goodbye",
    "thank": "saying thanks",
    "bot_challenge": "asking whether I'm a bot",
    "inform": "giving me a detail such as an order number or email",
    "track_order": "checking where your order is",
    "cancel_order": "cancelling an order",
    "change_order": "changing an order",
    "change_shipping_address": "changing the delivery address of an order",
    "delivery_options": "our delivery options and costs",
    "delivery_period": "how long delivery takes",
    "return_item": "returning something",
    "refund_policy": "how refunds work",
    "request_refund": "getting a refund",
    "track_refund": "checking on a refund",
    "cancellation_fee": "whether there's a fee to cancel",
    "payment_methods": "which payment methods we accept",
    "payment_issue": "a problem with a payment",
    "get_invoice": "getting an invoice or receipt",
    "create_account": "opening an account",
    "edit_account": "changing your account details",
    "delete_account": "closing your account",
    "switch_account": "switching to another account",
    "recover_password": "resetting your password",
    "registration_problems": "trouble signing up",
    "newsletter_subscription": "our newsletter",
    "leave_review": "leaving a review or feedback",
    "complaint": "making a complaint",
    "human_handoff": "talking to a person",
    "place_order": "how to place an order",
    "product_search": "finding a product",
    "contact_info": "how to contact us",
})
# Never suggested as a guess ("inform" says nothing about what the shopper wants done).
NOT_SUGGESTED = frozenset({names.NLU_FALLBACK, names.OUT_OF_SCOPE, "other_language", names.INFORM})
# Guessed yes/no answers are checked with a shorter question.
YES_NO_QUESTIONS = MappingProxyType({names.AFFIRM: "Sorry, just to check - is that a yes?",
                    names.DENY: "Sorry, just to check - is that a no?"})


def ticket_text(ticket: escalations.Ticket) -> str:
    """What happens next, promising only what will happen: a person joins here when an agent is
    signed in and accepting chats; otherwise when the team is back, and that the reply comes
    here (and by email to a signed-in shopper)."""
    if ticket.reused:
        opening = (f"You're already in the queue for our support team (reference "
                   f"{ticket.reference}); I've added this to it.")
    else:
        opening = f"I've passed this conversation to our support team (reference {ticket.reference})."
    if ticket.agent_available:
        return (f"{opening} Someone from the team will join you here shortly - please keep this "
                "window open.")
    away = "Nobody from the team is available right now"
    if ticket.opening_hours:
        away += f"; we're here {ticket.opening_hours}"
    reply = (f"Someone will reply within {ticket.response_hours} working hours, here in this "
             "chat")
    if ticket.signed_in:
        reply += " and by email, so you can close this window."
    else:
        reply += " - come back to this chat on this device to read it."
    return f"{opening} {away}. {reply}"


class ActionEscalate(ShopAction):
    """``human_handoff``: open (or reuse) an escalation and say what happens next."""

    def name(self) -> Text:
        return names.ACTION_ESCALATE

    def act(self, dispatcher, tracker, domain) -> Events:
        ticket = escalations.escalate(self.services, tracker.sender_id, self.customer(tracker),
                                      "human_request", recent_user_messages(tracker),
                                      channel=tracker.get_latest_input_channel())
        dispatcher.utter_message(text=ticket_text(ticket))
        return []


class ActionDefaultFallback(ShopAction):
    """After a second failed attempt to understand: hand the conversation to a person."""

    def name(self) -> Text:
        return names.ACTION_DEFAULT_FALLBACK

    def act(self, dispatcher, tracker, domain) -> Events:
        ticket = escalations.escalate(self.services, tracker.sender_id, self.customer(tracker),
                                      "fallback", recent_user_messages(tracker),
                                      channel=tracker.get_latest_input_channel())
        dispatcher.utter_message(text="Sorry, I'm still not getting it. " + ticket_text(ticket))
        return [UserUtteranceReverted()]

    def on_failure(self, tracker) -> Events:
        return [UserUtteranceReverted()]


def order_number_payload(tracker) -> str:
    """The message's order number as payload entities, so a confirmed guess keeps it.

    The two-stage fallback replaces the unclear message with the button's payload and forgets
    what was extracted from it. Only a normalised ``SH-123456`` goes into the payload, never
    free user text.
    """
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == names.ENTITY_ORDER_NUMBER:
            number = normalise_order_number(entity.get("value"))
            if number:
                return f'{{"{names.ENTITY_ORDER_NUMBER}":"{number}"}}'
    return ""


class ActionDefaultAskAffirmation(ShopAction):
    """First stage of the fallback: "Did you mean <plain words>?" with Yes / No buttons."""

    def name(self) -> Text:
        return names.ACTION_DEFAULT_ASK_AFFIRMATION

    def act(self, dispatcher, tracker, domain) -> Events:
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        # A yes/no guess only makes sense while a yes/no question is waiting for its answer.
        yes_no = YES_NO_QUESTIONS if tracker.get_slot(names.SLOT_PENDING_ACTION) else {}
        guess = next(
            (r.get("name") for r in ranking
             if r.get("name") not in NOT_SUGGESTED
             and (r.get("name") in INTENT_PHRASES or r.get("name") in yes_no)),
            None,
        )
        if not has_words(latest_text(tracker)):
            # Nothing to guess from (empty, emoji only): just ask again.
            guess = None
        if guess is None:
            dispatcher.utter_message(text=replies.ASK_REPHRASE)
            return []
        question = YES_NO_QUESTIONS.get(guess) or (
            f"Sorry, I'm not sure I follow. Is this about {INTENT_PHRASES[guess]}?")
        dispatcher.utter_message(
            text=question,
            buttons=[{"title": "Yes", "payload": f"/{guess}{order_number_payload(tracker)}"},
                     {"title": "No, something else", "payload": f"/{names.OUT_OF_SCOPE}"}],
        )
        return []


class ActionDefaultAskRephrase(ShopAction):
    """Second stage of the fallback: ask the shopper to put it another way."""

    def name(self) -> Text:
        return names.ACTION_DEFAULT_ASK_REPHRASE

    def act(self, dispatcher, tracker, domain) -> Events:
        dispatcher.utter_message(text=replies.ASK_REPHRASE)
        return []
