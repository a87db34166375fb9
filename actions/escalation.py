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

# How the two-stage fallback offers a guessed topic: a button's title, and in the question
# "Did you mean: track a refund / track an order?" the same words.
INTENT_TITLES = MappingProxyType({
    "greet": "Just saying hello",
    "goodbye": "Saying goodbye",
    "thank": "Saying thanks",
    "bot_challenge": "Asking if I'm a bot",
    "track_order": "Track an order",
    "cancel_order": "Cancel an order",
    "change_order": "Change an order",
    "change_shipping_address": "Change a delivery address",
    "delivery_options": "Delivery options and costs",
    "delivery_period": "Delivery times",
    "return_item": "Return an item",
    "refund_policy": "How refunds work",
    "request_refund": "Ask for a refund",
    "track_refund": "Track a refund",
    "cancellation_fee": "Fees for cancelling",
    "payment_methods": "Ways to pay",
    "payment_issue": "A problem with a payment",
    "get_invoice": "Get an invoice",
    "create_account": "Open an account",
    "edit_account": "Change my account details",
    "delete_account": "Close my account",
    "export_data": "A copy of my data",
    "switch_account": "Switch accounts",
    "recover_password": "Reset my password",
    "registration_problems": "Trouble signing up",
    "newsletter_subscription": "The newsletter",
    "leave_review": "Leave a review",
    "complaint": "Make a complaint",
    "human_handoff": "Talk to a person",
    "place_order": "Place an order",
    "product_search": "Find a product",
    "contact_info": "Contact details",
})
# Never suggested as a guess ("inform" says nothing about what the shopper wants done).
NOT_SUGGESTED = frozenset({names.NLU_FALLBACK, names.OUT_OF_SCOPE, names.OTHER_LANGUAGE,
                           names.INFORM})
GUESSES = 2  # topics offered as buttons
SOMETHING_ELSE = MappingProxyType({"title": "Something else", "payload": f"/{names.OUT_OF_SCOPE}"})
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
        if top_intent(tracker) == names.OTHER_LANGUAGE:
            # Another language, not a failure to understand: say which language we speak
            # (its button offers a person) instead of opening an escalation nobody asked for.
            dispatcher.utter_message(response=names.UTTER_ENGLISH_ONLY)
            return [UserUtteranceReverted()]
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


def top_intent(tracker) -> str | None:
    """The classifier's best intent for the latest message, the fallback left aside."""
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    return next((r.get("name") for r in ranking if r.get("name") != names.NLU_FALLBACK), None)


def fallback_guesses(ranking: list[dict], yes_no: bool) -> list[str]:
    """The (at most) two likeliest topics worth offering, best first."""
    allowed = set(INTENT_TITLES) | (set(YES_NO_QUESTIONS) if yes_no else set())
    names_in_order = dict.fromkeys(r.get("name") for r in ranking)
    return [n for n in names_in_order if n in allowed and n not in NOT_SUGGESTED][:GUESSES]


def _lower_first(title: str) -> str:
    return title[:1].lower() + title[1:]


class ActionDefaultAskAffirmation(ShopAction):
    """First stage of the fallback: "Did you mean: A / B?" with a button for each likely topic
    and one for something else; a yes/no question while one is waiting for its answer; the
    English-only answer when the message looks like another language."""

    def name(self) -> Text:
        return names.ACTION_DEFAULT_ASK_AFFIRMATION

    def act(self, dispatcher, tracker, domain) -> Events:
        if top_intent(tracker) == names.OTHER_LANGUAGE:
            dispatcher.utter_message(response=names.UTTER_ENGLISH_ONLY)
            return []
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        # A yes/no guess only makes sense while a yes/no question is waiting for its answer.
        yes_no = bool(tracker.get_slot(names.SLOT_PENDING_ACTION))
        guesses = fallback_guesses(ranking, yes_no)
        if not has_words(latest_text(tracker)):
            # Nothing to guess from (empty, emoji only): just ask again.
            guesses = []
        if not guesses:
            dispatcher.utter_message(text=replies.ASK_REPHRASE)
            return []
        entities = order_number_payload(tracker)
        if guesses[0] in YES_NO_QUESTIONS:
            dispatcher.utter_message(
                text=YES_NO_QUESTIONS[guesses[0]],
                buttons=[{"title": "Yes", "payload": f"/{guesses[0]}"},
                         dict(SOMETHING_ELSE, title="No, something else")])
            return []
        guesses = [g for g in guesses if g in INTENT_TITLES]
        options = " / ".join(_lower_first(INTENT_TITLES[g]) for g in guesses)
        dispatcher.utter_message(
            text=f"Sorry, I'm not sure I follow. Did you mean: {options}?",
            buttons=[{"title": INTENT_TITLES[g], "payload": f"/{g}{entities}"} for g in guesses]
            + [dict(SOMETHING_ELSE)],
        )
        return []


class ActionDefaultAskRephrase(ShopAction):
    """Second stage of the fallback: ask the shopper to put it another way."""

    def name(self) -> Text:
        return names.ACTION_DEFAULT_ASK_REPHRASE

    def act(self, dispatcher, tracker, domain) -> Events:
        dispatcher.utter_message(text=replies.ASK_REPHRASE)
        return []
