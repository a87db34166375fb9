"""The leads' report: escalations, response and resolution times, outcomes, satisfaction and the
bot's containment, per day and over a period.

Days are UTC days. An escalation counts on the day it was opened: its first reply, resolution,
outcome and rating count there too (a cohort), so a day's figures settle as its escalations are
worked. Containment: of the conversations in which the shopper wrote that day (distinct
``sender_id`` with a ``user`` event in the tracker store), the share that had no escalation
opened that day; over the period, the share of the period's conversations with no escalation
opened in the period. Medians are computed in Python over the period's rows (a few thousand).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from statistics import median
from types import MappingProxyType
from typing import TYPE_CHECKING, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.console.transcript import EVENTS, TrackerUnavailable
from bot.csvsafe import write_dicts
from bot.store.models import ESCALATION_OUTCOMES, Escalation

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from bot.services import Services

MAX_DAYS = 366
OTHER_OUTCOME = "other"  # an outcome the code does not know (never expected)
OUTCOME_KEYS = (*ESCALATION_OUTCOMES, OTHER_OUTCOME)
_BATCH = 5000


class ReportError(ValueError):
    """A report that cannot be made (bad dates); the message is safe to show."""


@dataclass(frozen=True)
class Figures:
    day: date | None  # None: the whole period
    escalations: int
    median_first_reply_seconds: float | None
    median_resolve_seconds: float | None
    outcomes: Mapping[str, int]  # every OUTCOME_KEYS key
    ratings: int
    mean_rating: float | None
    conversations: int
    contained: int

    @property
    def containment(self) -> float | None:
        return self.contained / self.conversations if self.conversations else None

    def as_dict(self) -> dict:
        return {
            "day": self.day.isoformat() if self.day else None,
            "escalations": self.escalations,
            "median_first_reply_seconds": self.median_first_reply_seconds,
            "median_resolve_seconds": self.median_resolve_seconds,
            "outcomes": dict(self.outcomes), "ratings": self.ratings,
            "mean_rating": self.mean_rating, "conversations": self.conversations,
            "contained": self.contained,
            "containment": None if self.containment is None else round(self.containment, 4),
        }


@dataclass(frozen=True)
class Report:
    since: date
    until: date
    days: tuple[Figures, ...]
    total: Figures

    def as_dict(self) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "outcome_names": list(OUTCOME_KEYS),
                "days": [d.as_dict() for d in self.days], "total": self.total.as_dict()}


@dataclass(frozen=True)
class _Row:
    conversation_id: str
    day: date
    first_reply: float | None
    resolve: float | None
    outcome: str | None
    rating: int | None


def period(since: date, until: date) -> list[date]:
    """The days from ``since`` to ``until`` (both included), or :class:`ReportError`."""
    if not isinstance(since, date) or not isinstance(until, date):
        raise ReportError("since and until must be dates")
    if until < since:
        raise ReportError("until is before since")
    count = (until - since).days + 1
    if count > MAX_DAYS:
        raise ReportError(f"at most {MAX_DAYS} days at a time")
    return [since + timedelta(days=n) for n in range(count)]


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max(0.0, (end - start).total_seconds())


def _escalations(services: "Services", since: date, until: date) -> list[_Row]:
    start, end = datetime.combine(since, time()), datetime.combine(until + timedelta(days=1),
                                                                   time())
    with services.unit_of_work() as session:
        rows = session.execute(
            select(Escalation.conversation_id, Escalation.created_at,
                   Escalation.first_reply_at, Escalation.resolved_at, Escalation.outcome,
                   Escalation.rating)
            .where(Escalation.created_at >= start, Escalation.created_at < end)).all()
    return [_Row(r.conversation_id, r.created_at.date(), _seconds(r.created_at, r.first_reply_at),
                 _seconds(r.created_at, r.resolved_at), r.outcome,
                 r.rating if isinstance(r.rating, int) and 1 <= r.rating <= 5 else None)
            for r in rows]


def _conversations(tracker: Engine, since: date, until: date) -> set[tuple[date, str]]:
    """(day, conversation) for every conversation with a user message that day."""
    start = datetime.combine(since, time(), tzinfo=timezone.utc).timestamp()
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=timezone.utc).timestamp()
    found: set[tuple[date, str]] = set()
    cursor = 0
    try:
        with tracker.connect() as conn:
            while True:
                rows = conn.execute(
                    select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.timestamp)
                    .where(EVENTS.c.type_name == "user", EVENTS.c.timestamp >= start,
                           EVENTS.c.timestamp < end, EVENTS.c.id > cursor)
                    .order_by(EVENTS.c.id).limit(_BATCH)).all()
                for row in rows:
                    cursor = int(row.id)
                    day = datetime.fromtimestamp(float(row.timestamp), timezone.utc).date()
                    found.add((day, row.sender_id))
                if len(rows) < _BATCH:
                    break
    except SQLAlchemyError as err:
        raise TrackerUnavailable(f"the conversation store cannot be read "
                                 f"({err.__class__.__name__})") from err
    return found


def _tidy(seconds: float) -> float | int:
    """Seconds to a tenth, whole ones as an int (360, not 360.0, in the CSV)."""
    value = round(seconds, 1)
    return int(value) if value.is_integer() else value


def _figures(day: date | None, rows: list[_Row], conversations: set[str]) -> Figures:
    outcomes = dict.fromkeys(OUTCOME_KEYS, 0)
    for row in rows:
        if row.outcome:
            key = row.outcome if row.outcome in ESCALATION_OUTCOMES else OTHER_OUTCOME
            outcomes[key] += 1
    replies = [r.first_reply for r in rows if r.first_reply is not None]
    resolves = [r.resolve for r in rows if r.resolve is not None]
    ratings = [r.rating for r in rows if r.rating is not None]
    escalated = {r.conversation_id for r in rows}
    return Figures(
        day=day, escalations=len(rows),
        median_first_reply_seconds=_tidy(median(replies)) if replies else None,
        median_resolve_seconds=_tidy(median(resolves)) if resolves else None,
        outcomes=MappingProxyType(outcomes), ratings=len(ratings),
        mean_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
        conversations=len(conversations), contained=len(conversations - escalated))


def report(services: "Services", tracker: Engine, *, since: date, until: date) -> Report:
    """The figures of each day from ``since`` to ``until`` (UTC, both included) and of the
    whole period. Raises :class:`ReportError` (bad dates) or :class:`TrackerUnavailable`."""
    days = period(since, until)
    rows = _escalations(services, since, until)
    active = _conversations(tracker, since, until)
    by_day: dict[date, list[_Row]] = {}
    for row in rows:
        by_day.setdefault(row.day, []).append(row)
    talking: dict[date, set[str]] = {}
    for day, conversation in active:
        talking.setdefault(day, set()).add(conversation)
    figures = tuple(_figures(day, by_day.get(day, []), talking.get(day, set())) for day in days)
    total = _figures(None, rows, {conversation for _, conversation in active})
    return Report(since, until, figures, total)


CSV_COLUMNS = ("day", "escalations", "median_first_reply_seconds", "median_resolve_seconds",
               *(f"outcome_{name}" for name in OUTCOME_KEYS), "ratings", "mean_rating",
               "conversations", "contained", "containment")


def _csv_rows(report: Report) -> Iterable[dict]:
    for figures in (*report.days, report.total):
        data = figures.as_dict()
        yield {"day": data["day"] or "total", "escalations": figures.escalations,
               "median_first_reply_seconds": figures.median_first_reply_seconds,
               "median_resolve_seconds": figures.median_resolve_seconds,
               **{f"outcome_{name}": figures.outcomes.get(name, 0) for name in OUTCOME_KEYS},
               "ratings": figures.ratings, "mean_rating": figures.mean_rating,
               "conversations": figures.conversations, "contained": figures.contained,
               "containment": data["containment"]}


def to_csv(report: Report) -> str:
    """The report as CSV with a header, one line per day and a ``total`` line; every cell goes
    through :func:`bot.csvsafe.safe_cell`."""
    out = io.StringIO()
    write_dicts(out, CSV_COLUMNS, _csv_rows(report))
    return out.getvalue()
