"""Helpers for action tests: trackers as the action server receives them, running actions."""
from bot.identity import VERIFIED_KEY


def make_tracker(intent="inform", text="", slots=None, metadata=None, entities=None,
                 events=None, ranking=None, sender="conv-1", active_loop=None,
                 latest_action="action_listen"):
    """A rasa_sdk Tracker as the action server receives it."""
    from rasa_sdk import Tracker

    latest = {"intent": {"name": intent, "confidence": 0.9}, "entities": entities or [],
              "text": text, "metadata": metadata or {}, "intent_ranking": ranking or []}
    return Tracker(sender, dict(slots or {}), latest, list(events or []), False, None,
                   {"name": active_loop} if active_loop else {}, latest_action)


async def run(action, tracker, domain=None):
    """(events, messages) of one action run."""
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain or {})
    return events, dispatcher.messages


def texts(messages):
    return [m["text"] for m in messages]


def token(customer_id):
    """Message metadata of a signed-in customer, as the input channel passes it on once it has
    verified the shopper's token (the token itself never reaches the actions)."""
    return {VERIFIED_KEY: customer_id}
