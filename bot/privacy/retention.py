"""Retention: conversation events older than ``SHOP_RETENTION_DAYS`` (90 by default) are deleted
from Rasa's tracker store, and newsletter addresses whose confirmation link expired unclicked
are deleted from the shop database. ``python -m bot privacy retention`` runs it by hand; the
worker runs it daily. Each run (not a dry run) writes a ``retention_purge`` audit record with
the counts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select

from bot import audit
from bot.privacy.erasure import secure_delete
from bot.privacy.trackerstore import TrackerStore, sqlite_checkpoint
from bot.services import Services
from bot.store.models import NewsletterSubscription


@dataclass(frozen=True)
class RetentionResult:
    days: int
    cutoff: datetime
    events: int
    conversations: int
    unconfirmed_subscriptions: int
    dry_run: bool

    def as_dict(self) -> dict:
        return {"days": self.days, "cutoff": self.cutoff.isoformat(), "events": self.events,
                "conversations": self.conversations,
                "unconfirmed_subscriptions": self.unconfirmed_subscriptions,
                "dry_run": self.dry_run}


def _unix(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def run_retention(services: Services, tracker: TrackerStore, *, days: int | None = None,
                  dry_run: bool = False, actor: str = "job") -> RetentionResult:
    privacy = services.settings.privacy
    days = privacy.retention_days if days is None else days
    if days < 1:
        raise ValueError("the retention period is at least 1 day")
    now = services.now()
    cutoff = now - timedelta(days=days)
    # A conversation with an event in the last few minutes may be in Rasa's hands right now:
    # its old events go on the next run (see bot.privacy.erasure on why).
    active_since = _unix(now) - privacy.erasure_quiet_seconds
    if dry_run:
        events, conversations = tracker.count_before(_unix(cutoff), active_since)
    else:
        events, conversations = tracker.delete_before(_unix(cutoff), active_since)
    expired = now - timedelta(hours=privacy.newsletter_link_hours)
    unconfirmed = (NewsletterSubscription.status == "pending") & (
        func.coalesce(NewsletterSubscription.confirmation_sent_at,
                      NewsletterSubscription.created_at) < expired)
    with services.unit_of_work() as session:
        if dry_run:
            subscriptions = session.execute(select(func.count()).select_from(
                NewsletterSubscription).where(unconfirmed)).scalar() or 0
        else:
            secure_delete(session)
            subscriptions = session.execute(delete(NewsletterSubscription).where(unconfirmed)
                                            .execution_options(synchronize_session=False)
                                            ).rowcount or 0
        result = RetentionResult(days, cutoff, events, conversations, subscriptions, dry_run)
        if not dry_run:
            audit.record(session, now=now, actor=actor, action="retention_purge",
                         subject="tracker store", detail=result.as_dict())
    if not dry_run:
        tracker.housekeeping()
        sqlite_checkpoint(services.engine)
    return result
