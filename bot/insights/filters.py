"""What every insights view is asked for, checked: the period, the category, the field, the
status, paging. Anything wrong raises :class:`InsightsError` with a message fit to show a
product person as is (the web pages put it on the page, the command prints it)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import NEED_UNMET_REASONS, Category, NeedDaily
from bot.taxonomy import load_taxonomy

# The fields a need is broken down by (``theme``: product with its attribute set).
FIELDS = ("product", "category", "attribute", "colour", "size", "brand", "price_band",
          "recipient", "occasion", "theme")
UNMET_REASONS = (*NEED_UNMET_REASONS, "other")  # other: an old bare "unmet" row
STATUS_FILTERS = ("matched", "pending", "unmet", *(f"unmet:{r}" for r in NEED_UNMET_REASONS))
BUCKETS = ("day", "week", "month")
DEFAULT_DAYS = 90  # the period when none is given: the last 90 days up to today
MAX_DAYS = 3 * 366
MAX_LIMIT = 500


class InsightsError(ValueError):
    """A view that cannot be made from what was asked; the message is safe to show."""


@dataclass(frozen=True)
class Period:
    """Days ``since`` to ``until``, both included (UTC days)."""

    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def as_dict(self) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


def parse_date(value, name: str) -> date | None:
    """``value`` as a date: a date, a datetime (its day) or ``YYYY-MM-DD`` text; None stays."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InsightsError(f"{name} must be a date like 2026-01-31")


def period(since, until, today: date, *, default_days: int = DEFAULT_DAYS) -> Period:
    """The period asked for: ``until`` defaults to today, ``since`` to ``default_days`` before.
    Refused: a day after today, ``since`` after ``until``, more than :data:`MAX_DAYS` days."""
    start, end = parse_date(since, "since"), parse_date(until, "until")
    end = end or today
    start = start or end - timedelta(days=default_days - 1)
    if start > today:
        raise InsightsError(f"since ({start.isoformat()}) is in the future")
    if end > today:
        raise InsightsError(f"until ({end.isoformat()}) is in the future")
    if start > end:
        raise InsightsError(f"the period is empty: since ({start.isoformat()}) is after "
                            f"until ({end.isoformat()})")
    if (end - start).days + 1 > MAX_DAYS:
        raise InsightsError(f"at most {MAX_DAYS} days at a time")
    return Period(start, end)


def field(value, *, allowed: tuple[str, ...] = FIELDS) -> str:
    if value not in allowed:
        raise InsightsError(f"unknown field {str(value)[:40]!r}: use one of {', '.join(allowed)}")
    return value


def status(value) -> str | None:
    if value in (None, ""):
        return None
    if value not in STATUS_FILTERS:
        raise InsightsError(f"unknown status {str(value)[:40]!r}: use one of "
                            f"{', '.join(STATUS_FILTERS)}")
    return value


def bucket(value) -> str:
    if value not in BUCKETS:
        raise InsightsError(f"unknown bucket {str(value)[:40]!r}: use day, week or month")
    return value


def whole(value, name: str, *, low: int = 1, high: int = MAX_LIMIT) -> int:
    """A whole number in [low, high] (text from a form is accepted)."""
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high or (isinstance(value, float)
                                                       and value != number):
        raise InsightsError(f"{name} must be a whole number from {low} to {high}")
    return number


def known_categories(session: Session) -> list[str]:
    """Category slugs a filter may name: the taxonomy's, the catalogue's and any needs have."""
    found = {c.slug for c in load_taxonomy().categories}
    found.update(session.execute(select(Category.slug)).scalars())
    found.update(session.execute(select(NeedDaily.value).where(NeedDaily.field == "category")
                                 .distinct()).scalars())
    return sorted(v for v in found if v)


def category(session: Session, value) -> str | None:
    """A category filter: None or "" for all, else a known slug (lower case)."""
    if value in (None, ""):
        return None
    slug = str(value).strip().lower()
    if slug in {c.slug for c in load_taxonomy().categories}:
        return slug
    if session.execute(select(Category.id).where(Category.slug == slug)).first() is not None:
        return slug
    if session.execute(select(NeedDaily.value).where(NeedDaily.field == "category",
                                                     NeedDaily.value == slug).limit(1)
                       ).first() is not None:
        return slug
    raise InsightsError(f"unknown category {str(value)[:80]!r}")
