"""Conversations written by Rasa 3.6's own SQLTrackerStore (as the Rasa server writes them)."""
from __future__ import annotations

import asyncio
from pathlib import Path


def unix(moment) -> float:
    from datetime import timezone

    return moment.replace(tzinfo=timezone.utc).timestamp()


def save_conversation(db: Path | str, sender_id: str, turns, *, start: float,
                      metadata: dict | None = None, url: str | None = None) -> None:
    """A session started at ``start`` and one user message + bot reply per turn
    (``turns``: (user text, bot text) pairs, one second apart), saved with Rasa's store."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    if url is None:
        store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))
    else:
        store = SQLTrackerStore(domain=Domain.empty(), host=url)
    existing = asyncio.run(store.retrieve(sender_id))
    events = list(existing.events) if existing is not None else [
        ActionExecuted("action_session_start", timestamp=start), SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start)]
    at = start
    for user_text, bot_text in turns:
        at += 1
        events += [UserUttered(user_text, {"name": "inform", "confidence": 0.9}, timestamp=at,
                               metadata=dict(metadata or {})),
                   ActionExecuted("utter_reply", timestamp=at + 0.1),
                   BotUttered(bot_text, timestamp=at + 0.1),
                   ActionExecuted("action_listen", timestamp=at + 0.2)]
    asyncio.run(store.save(DialogueStateTracker.from_events(sender_id, events)))
    store.engine.dispose()


def retrieve(db: Path, sender_id: str):
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))
    try:
        return asyncio.run(store.retrieve(sender_id))
    finally:
        store.engine.dispose()
