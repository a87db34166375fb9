"""Emerging themes: which themes grew in the last weeks, beyond what chance explains.

For an ``as_of`` day and ``weeks`` = N, the **recent** window is the N weeks ending on ``as_of``
(included) and the **before** window the N x ``ratio`` weeks just before it (ratio 3 by default:
the last 4 weeks against the 12 before). For every theme (a product with its attribute set,
:func:`bot.insights.facets.theme_label`) we count its needs in both windows.

The test: if a theme did not change, each of its n = recent + before needs falls in the recent
window with the same probability p0 as any need does, so recent ~ Binomial(n, p0), where p0 is
the share of *all* needs (of the category filter) that fell in the recent window. With steady
traffic p0 is the windows' length ratio 1 / (1 + ratio); using the actual share instead keeps a
busier month from making every theme look like it grows. The one-sided p-value is
P(X >= recent) under that binomial (exact, conditional on n). Themes with fewer than
``min_recent`` recent needs are not tested (three needs are never a trend). The p-values of the
tested themes are adjusted with Benjamini-Hochberg (false discovery rate), and a theme is
reported when its adjusted p-value (``q_value``) is at most ``alpha`` (0.05), most significant
first. ``growth`` is the weekly rate in the recent window over the weekly rate before (null when
the theme is new: no need before). ``p_value`` is the raw one-sided p-value.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from bot.insights import filters
from bot.insights.filters import InsightsError, Period
from bot.insights.service import MAX_EXAMPLES, _daily_where, _examples
from bot.insights.stats import benjamini_hochberg, binomial_upper_tail
from bot.store.models import NeedDaily

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from bot.services import Services

DEFAULT_WEEKS = 4
DEFAULT_RATIO = 3
DEFAULT_ALPHA = 0.05
DEFAULT_MIN_RECENT = 5
MAX_WEEKS = 26


@dataclass(frozen=True)
class EmergingTheme:
    label: str
    recent: int
    before: int
    growth: float | None  # weekly rate recent / weekly rate before; None: new
    p_value: float
    q_value: float  # Benjamini-Hochberg adjusted
    examples: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"label": self.label, "recent": self.recent, "before": self.before,
                "growth": self.growth, "p_value": self.p_value, "q_value": self.q_value,
                "examples": list(self.examples)}


@dataclass(frozen=True)
class EmergingReport:
    as_of: date
    weeks: int
    ratio: int
    category: str | None
    recent: Period
    before: Period
    recent_needs: int  # all needs in the recent window
    before_needs: int
    expected_share: float | None  # p0: the share of all needs that fell in the recent window
    tested: int  # themes with at least min_recent recent needs
    alpha: float
    themes: tuple[EmergingTheme, ...]
    csv_columns = ("label", "recent", "before", "growth", "p_value", "q_value", "examples")

    def as_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "weeks": self.weeks, "ratio": self.ratio,
                "category": self.category, "recent_window": self.recent.as_dict(),
                "before_window": self.before.as_dict(), "recent_needs": self.recent_needs,
                "before_needs": self.before_needs, "expected_share": self.expected_share,
                "tested": self.tested, "alpha": self.alpha,
                "themes": [t.as_dict() for t in self.themes]}

    def csv_rows(self) -> list[dict]:
        return [{**t.as_dict(), "examples": " | ".join(t.examples)} for t in self.themes]


def windows(as_of: date, weeks: int, ratio: int) -> tuple[Period, Period]:
    """The recent window (``weeks`` weeks ending on ``as_of``) and the one before it."""
    recent = Period(as_of - timedelta(days=7 * weeks - 1), as_of)
    before = Period(recent.since - timedelta(days=7 * weeks * ratio), recent.since
                    - timedelta(days=1))
    return recent, before


def _counts(session, field: str, span: Period, cat: str | None) -> dict[str, int]:
    return {value: int(n) for value, n in session.execute(
        select(NeedDaily.value, func.sum(NeedDaily.needs))
        .where(*_daily_where(field, span, cat)).group_by(NeedDaily.value))}


def emerging(services: "Services", *, as_of=None, weeks: int = DEFAULT_WEEKS,
             ratio: int = DEFAULT_RATIO, category=None, alpha: float = DEFAULT_ALPHA,
             min_recent: int = DEFAULT_MIN_RECENT, limit: int = 20,
             examples_per_row: int = 3) -> EmergingReport:
    """Themes that grew significantly in the ``weeks`` weeks up to ``as_of`` (module
    docstring), most significant first."""
    weeks = filters.whole(weeks, "weeks", high=MAX_WEEKS)
    ratio = filters.whole(ratio, "ratio", high=12)
    min_recent = filters.whole(min_recent, "min_recent", high=1_000_000)
    limit = filters.whole(limit, "limit")
    examples_per_row = filters.whole(examples_per_row, "examples", low=0, high=MAX_EXAMPLES)
    if not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise InsightsError("alpha must be between 0 and 1")
    today = services.now().date()
    day = filters.parse_date(as_of, "as_of") or today
    if day > today:
        raise InsightsError(f"as_of ({day.isoformat()}) is in the future")
    recent, before = windows(day, weeks, ratio)
    with services.unit_of_work() as session:
        cat = filters.category(session, category)
        recent_all = sum(_counts(session, "all", recent, cat).values())
        before_all = sum(_counts(session, "all", before, cat).values())
        recent_counts = _counts(session, "theme", recent, cat)
        before_counts = _counts(session, "theme", before, cat)
        share = recent_all / (recent_all + before_all) if recent_all + before_all else None
        tested = sorted(label for label, n in recent_counts.items() if n >= min_recent)
        found: list[EmergingTheme] = []
        if share is not None and 0 < share < 1 and tested:
            p_values = [binomial_upper_tail(recent_counts[label],
                                            recent_counts[label] + before_counts.get(label, 0),
                                            share) for label in tested]
            q_values = benjamini_hochberg(p_values)
            hits = sorted(((p, q, label) for label, p, q in zip(tested, p_values, q_values)
                           if q <= alpha), key=lambda h: (h[0], -recent_counts[h[2]], h[2]))
            for p, q, label in hits[:limit]:
                now_n, then_n = recent_counts[label], before_counts.get(label, 0)
                growth = round(now_n * ratio / then_n, 3) if then_n else None
                found.append(EmergingTheme(
                    label, now_n, then_n, growth, p, q,
                    _examples(session, "theme", label, recent, cat, examples_per_row)))
    return EmergingReport(day, weeks, ratio, cat, recent, before, recent_all, before_all,
                          None if share is None else round(share, 6), len(tested), alpha,
                          tuple(found))
