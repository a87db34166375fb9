"""Emerging themes: a planted growing theme is found; themes of the same size whose counts are
only chance are not; tiny counts are never reported; the statistics match scipy."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from bot import insights
from bot.insights.emerging import windows
from bot.insights.stats import benjamini_hochberg, binomial_upper_tail
from tests.insights.needlog import log, need_row

AS_OF = date(2026, 6, 14)  # recent: 2026-05-18..06-14 (4 weeks); before: the 12 weeks before


def _needs(product: str, attributes: list[str], days: list[date]) -> list:
    return [need_row(d.isoformat(), category="outerwear", product=product, attributes=attributes,
                     status="unmet:not_stocked", text=f"{' '.join(attributes)} {product} #{i}")
            for i, d in enumerate(days)]


def _uniform_days(rng: random.Random, n: int, first: date, last: date) -> list[date]:
    span = (last - first).days
    return [first + timedelta(days=rng.randint(0, span)) for _ in range(n)]


def test_a_planted_growing_theme_is_found_and_chance_is_not(services):
    rng = random.Random(13)
    recent, before = windows(AS_OF, 4, 3)
    rows = []
    # background: 30 steady themes, ~3 needs a week each over the 16 weeks
    for t in range(30):
        rows += _needs(f"coat {t}", [], _uniform_days(rng, 48, before.since, recent.until))
    # planted: 1 a week before, 6 a week in the last 4 weeks (12 + 24 = 36 needs)
    rows += _needs("hiking jacket", ["lightweight", "waterproof"],
                   _uniform_days(rng, 12, before.since, before.until)
                   + _uniform_days(rng, 24, recent.since, recent.until))
    # chance: 20 themes of the same size (36), each need in the recent window with p = 1/4
    for t in range(20):
        rows += _needs(f"fleece {t}", ["recycled"],
                       [rng.choice(_window_days(recent if rng.random() < 0.25 else before))
                        for _ in range(36)])
    log(services.engine, rows)
    report = insights.emerging(services, as_of=AS_OF.isoformat(), weeks=4)
    labels = [t.label for t in report.themes]
    assert labels == ["lightweight + waterproof + hiking jacket"]
    theme = report.themes[0]
    assert (theme.recent, theme.before) == (24, 12)
    assert theme.growth == pytest.approx(24 * 3 / 12)
    assert theme.p_value < 1e-4 and theme.q_value <= 0.05
    assert len(theme.examples) == 3
    assert report.tested >= 40  # the chance themes with at least 5 recent needs were tested too
    assert report.expected_share == pytest.approx(
        report.recent_needs / (report.recent_needs + report.before_needs), abs=1e-6)


def _window_days(window) -> list[date]:
    return [window.since + timedelta(days=i) for i in range((window.until - window.since).days + 1)]


def test_tiny_counts_are_not_a_trend(services):
    recent, _ = windows(AS_OF, 4, 3)
    rows = _needs("gilet", ["vegan"], [recent.until] * 4)  # 4 new needs, nothing before
    rows += _needs("anorak", [], [recent.since - timedelta(days=d) for d in range(1, 60)])
    log(services.engine, rows)
    report = insights.emerging(services, as_of=AS_OF)
    assert report.themes == ()


def test_a_new_theme_has_no_growth_figure_but_can_be_significant(services):
    recent, before = windows(AS_OF, 4, 3)
    rows = _needs("heated vest", [], _window_days(recent)[:20])
    rows += _needs("anorak", [], _window_days(before)[:60] + _window_days(recent)[:20])
    log(services.engine, rows)
    report = insights.emerging(services, as_of=AS_OF)
    assert [(t.label, t.recent, t.before, t.growth) for t in report.themes] == [
        ("heated vest", 20, 0, None)]


def test_binomial_tail_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for k, n, p in ((0, 10, 0.3), (3, 10, 0.3), (10, 10, 0.3), (24, 36, 0.25), (1, 1, 0.5),
                    (900, 1000, 0.5), (300, 1000, 0.25), (5, 100000, 0.0001), (11, 10, 0.5)):
        assert binomial_upper_tail(k, n, p) == pytest.approx(stats.binom.sf(k - 1, n, p),
                                                              rel=1e-9, abs=1e-300)


def test_benjamini_hochberg_matches_the_textbook():
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.5]) == pytest.approx(
        [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    assert benjamini_hochberg([]) == []
