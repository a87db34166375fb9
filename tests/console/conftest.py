"""Console tests: an empty migrated shop database with a movable clock (tests/staff/conftest.py)
and a small SQLite tracker store shaped like Rasa 3.6's ``SQLTrackerStore``, filled with real
events (``rasa.shared.core.events``' ``as_dict()``, stored the way ``SQLTrackerStore.save``
stores them)."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from sqlalchemy import create_engine, insert

from bot.needs.follow import EVENTS
from bot.services import Services
from bot.settings import PrivacySettings, Settings
from bot.staff import accounts
from tests.staff.conftest import PASSWORD, Clock

__all__ = ["PASSWORD", "TrackerFile", "epoch"]


def epoch(at: datetime) -> float:
    return at.replace(tzinfo=timezone.utc).timestamp()


class TrackerFile:
    """A SQLite tracker store file the test writes; the code under test reads it read-only."""

    def __init__(self, path, now: datetime):
        self.path = path
        self.url = f"sqlite:///{path}"
        self.engine = create_engine(self.url, future=True)
        EVENTS.metadata.create_all(self.engine)
        self.now = now  # the time of the next event (each add moves it on by a second)

    def close(self):
        self.engine.dispose()

    def add(self, sender: str, event) -> int:
        """Store one rasa Event as SQLTrackerStore.save does; returns its id."""
        data = event.as_dict()
        with self.engine.begin() as conn:
            result = conn.execute(insert(EVENTS).values(
                sender_id=sender, type_name=event.type_name, timestamp=data.get("timestamp"),
                intent_name=(data.get("parse_data") or {}).get("intent", {}).get("name"),
                action_name=data.get("name"), data=json.dumps(data)))
            return int(result.inserted_primary_key[0])

    def raw(self, sender: str, type_name: str, data: str, timestamp: float | None = None) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(insert(EVENTS).values(
                sender_id=sender, type_name=type_name, timestamp=timestamp, data=data))
            return int(result.inserted_primary_key[0])

    def _stamp(self, at: datetime | None) -> float:
        if at is not None:
            self.now = at
        stamp = epoch(self.now)
        self.now += timedelta(seconds=1)
        return stamp

    # --- the events a chat stores -------------------------------------------------------------

    def session_start(self, sender: str, at: datetime | None = None) -> int:
        stamp = self._stamp(at)
        self.add(sender, ActionExecuted("action_session_start", timestamp=stamp))
        event_id = self.add(sender, SessionStarted(timestamp=stamp))
        self.add(sender, SlotSet("shop_hours", "9-5", timestamp=stamp))
        self.add(sender, ActionExecuted("action_listen", timestamp=stamp))
        return event_id

    def user(self, sender: str, text: str, intent: str | None = "greet",
             confidence: float = 0.9, ranking: list[tuple[str, float]] | None = None,
             entities: list[dict] | None = None, at: datetime | None = None) -> int:
        stamp = self._stamp(at)
        if ranking is None and intent is not None:
            ranking = [(intent, confidence), ("thank", round((1 - confidence) / 2, 4))]
        parse_data = {
            "text": text, "entities": entities or [],
            "intent": {"name": intent, "confidence": confidence} if intent else {},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking or []],
        }
        return self.add(sender, UserUttered(
            text, intent=parse_data["intent"], entities=entities or [], parse_data=parse_data,
            timestamp=stamp, input_channel="socketio", message_id=f"m{stamp}",
            metadata={"customer_token": "x"}))

    def action(self, sender: str, name: str, at: datetime | None = None) -> int:
        return self.add(sender, ActionExecuted(name, policy="RulePolicy", confidence=1.0,
                                               timestamp=self._stamp(at)))

    def bot(self, sender: str, text: str | None, utter_action: str | None = None,
            custom: dict | None = None, at: datetime | None = None) -> int:
        metadata = {"utter_action": utter_action} if utter_action else {}
        data = {"elements": None, "quick_replies": None, "buttons": None,
                "attachment": None, "image": None, "custom": custom}
        return self.add(sender, BotUttered(text, data=data, metadata=metadata,
                                           timestamp=self._stamp(at)))

    def agent(self, sender: str, text: str, *, kind: str = "text", name: str = "Sam",
              message_id: int = 1, at: datetime | None = None) -> int:
        """An agent message as the delivery part stores it (a bot event, data.custom)."""
        return self.bot(sender, "" if kind != "text" else text, custom={
            "type": "agent_message", "id": message_id, "from": name, "kind": kind,
            "text": text}, at=at)

    def pause(self, sender: str, at: datetime | None = None) -> int:
        return self.add(sender, ConversationPaused(timestamp=self._stamp(at)))

    def resume(self, sender: str, at: datetime | None = None) -> int:
        return self.add(sender, ConversationResumed(timestamp=self._stamp(at)))

    def turn(self, sender: str, text: str, intent: str = "greet", confidence: float = 0.9,
             reply: str = "Hello!", at: datetime | None = None, **user) -> int:
        """A whole chat turn: the message, a response, action_listen; returns the user
        event's id."""
        event_id = self.user(sender, text, intent, confidence, at=at, **user)
        self.action(sender, f"utter_{intent}")
        self.bot(sender, reply, utter_action=f"utter_{intent}")
        self.action(sender, "action_listen")
        return event_id


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def tracker_file(tmp_path, clock):
    store = TrackerFile(tmp_path / "rasa.db", clock.now - timedelta(hours=2))
    yield store
    store.close()


@pytest.fixture
def console_services(db_url, engine, clock, tmp_path, tracker_file):
    settings = Settings(database_url=db_url, identity_secret="console-test-secret",
                        needs_outbox=tmp_path / "outbox.jsonl")
    settings = replace(settings, privacy=PrivacySettings(tracker_url=tracker_file.url))
    return Services(settings, engine=engine, clock=clock)


@pytest.fixture
def tracker(console_services):
    """The read-only engine the console uses (as the web app builds it)."""
    from bot.console.transcript import tracker_engine_for

    engine = tracker_engine_for(console_services)
    yield engine
    engine.dispose()


@pytest.fixture
def people(console_services):
    """An agent, a lead and an analyst: {role: StaffView}."""
    found = {}
    for role, name in (("agent", "Sam <Agent>"), ("lead", "Lee Lead"),
                       ("analyst", "Ana Analyst")):
        found[role] = accounts.add(console_services, email=f"{role}@example-shop.co.uk",
                                   name=name, role=role, password=PASSWORD)
    return found
