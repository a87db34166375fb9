"""The leads' report on a hand-made dataset (bot.console.reports); every figure worked out by
hand in the comments."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest

from bot.console import reports
from bot.console.reports import ReportError
from bot.store.models import Escalation

SINCE, UNTIL = date(2026, 6, 13), date(2026, 6, 15)


def _escalation(conversation, created, first_reply=None, resolved=None, outcome=None,
                rating=None):
    status = "resolved" if resolved else "open"
    return Escalation(conversation_id=conversation, reason="human_request", status=status,
                      summary="", created_at=created, updated_at=created,
                      first_reply_at=first_reply, resolved_at=resolved, outcome=outcome,
                      rating=rating, paused=False, last_message="")


def at(day, hour, minute=0, second=0):
    return datetime(2026, 6, day, hour, minute, second)


@pytest.fixture
def dataset(console_services, tracker_file):
    with console_services.unit_of_work() as s:
        s.add_all([
            # 13 June: first replies 120 s, 600 s, 360 s -> median 360; resolved in 1800 s and
            # 3600 s -> median 2700; solved 1, refunded 1; ratings 5 and 3 -> 2, mean 4.0
            _escalation("a", at(13, 10), at(13, 10, 2), at(13, 10, 30), "solved", 5),
            _escalation("b", at(13, 11), at(13, 11, 10), at(13, 12), "refunded", 3),
            _escalation("c", at(13, 23, 59), at(14, 0, 5)),
            # 15 June: first reply 60 s, resolved in 660 s, spam; a rating of 7 is not one
            _escalation("d", at(15, 9), at(15, 9, 1), at(15, 9, 11), "spam"),
            _escalation("e", at(15, 10), rating=7),
            # outside the period
            _escalation("z", at(12, 23, 59), at(13, 0, 1), at(13, 1), "solved", 1),
            _escalation("y", at(16, 0), at(16, 0, 1), at(16, 0, 2), "solved", 1),
        ])
    t = tracker_file
    # 13 June: a, b, f (twice), g write -> 4 conversations; a and b escalated -> 2 contained
    for sender, moment in (("a", at(13, 9)), ("b", at(13, 10, 30)), ("f", at(13, 12)),
                           ("f", at(13, 13)), ("g", at(13, 20))):
        t.turn(sender, "hello", at=moment)
    # 14 June: c and f write, nobody escalated that day -> 2 of 2
    t.turn("c", "still there?", at=at(14, 8))
    t.turn("f", "again", at=at(14, 9))
    # 15 June: d and h write (e only has bot events) -> 2; d escalated -> 1 contained
    t.turn("d", "help", at=at(15, 8, 59))
    t.bot("e", "a bot message", at=at(15, 9, 30))
    t.turn("h", "hi", at=at(15, 12))
    # outside the period
    t.turn("z", "old", at=at(12, 23))
    t.turn("y", "later", at=at(16, 1))
    return console_services


def test_the_figures_per_day_and_in_total(dataset, tracker):
    report = reports.report(dataset, tracker, since=SINCE, until=UNTIL)
    d13, d14, d15 = report.days
    assert [d.day for d in report.days] == [SINCE, date(2026, 6, 14), UNTIL]

    assert d13.escalations == 3
    assert d13.median_first_reply_seconds == 360
    assert d13.median_resolve_seconds == 2700
    assert dict(d13.outcomes) == {"solved": 1, "refunded": 1, "replaced": 0, "not_solvable": 0,
                                  "spam": 0, "other": 0}
    assert (d13.ratings, d13.mean_rating) == (2, 4.0)
    assert (d13.conversations, d13.contained, d13.containment) == (4, 2, 0.5)

    assert d14.escalations == 0
    assert (d14.median_first_reply_seconds, d14.median_resolve_seconds) == (None, None)
    assert (d14.ratings, d14.mean_rating) == (0, None)
    assert (d14.conversations, d14.contained, d14.containment) == (2, 2, 1.0)

    assert d15.escalations == 2
    assert (d15.median_first_reply_seconds, d15.median_resolve_seconds) == (60, 660)
    assert d15.outcomes["spam"] == 1 and sum(d15.outcomes.values()) == 1
    assert (d15.ratings, d15.mean_rating) == (0, None)
    assert (d15.conversations, d15.contained, d15.containment) == (2, 1, 0.5)

    total = report.total
    assert total.day is None and total.escalations == 5
    assert total.median_first_reply_seconds == 240  # 60, 120, 360, 600
    assert total.median_resolve_seconds == 1800  # 660, 1800, 3600
    assert {k: v for k, v in total.outcomes.items() if v} == {"solved": 1, "refunded": 1,
                                                              "spam": 1}
    assert (total.ratings, total.mean_rating) == (2, 4.0)
    # a, b, c, d, f, g, h wrote; a, b, c, d were escalated in the period -> f, g, h
    assert (total.conversations, total.contained) == (7, 3)
    assert total.containment == pytest.approx(3 / 7)
    assert report.as_dict()["total"]["containment"] == 0.4286


def test_the_csv(dataset, tracker):
    text = reports.to_csv(reports.report(dataset, tracker, since=SINCE, until=UNTIL))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(reports.CSV_COLUMNS)
    assert [r["day"] for r in rows] == ["2026-06-13", "2026-06-14", "2026-06-15", "total"]
    assert rows[0]["escalations"] == "3" and rows[0]["median_first_reply_seconds"] == "360"
    assert rows[0]["outcome_solved"] == "1" and rows[0]["mean_rating"] == "4.0"
    assert rows[1]["median_resolve_seconds"] == "" and rows[1]["containment"] == "1.0"
    assert rows[3]["containment"] == "0.4286" and rows[3]["conversations"] == "7"


def test_the_csv_is_formula_safe(console_services, tracker):
    # an outcome the code does not know (written by hand into the database) is counted as
    # "other": nothing stored as text reaches a cell, and every cell goes through safe_cell
    with console_services.unit_of_work() as s:
        s.add(_escalation("x", at(14, 10), outcome='=HYPERLINK("http://evil")'))
    report = reports.report(console_services, tracker, since=SINCE, until=UNTIL)
    assert report.total.outcomes["other"] == 1
    text = reports.to_csv(report)
    assert "HYPERLINK" not in text
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit()


def test_a_made_up_day_row_goes_through_safe_cell():
    figures = reports.Figures(day=None, escalations=-1, median_first_reply_seconds=None,
                              median_resolve_seconds=None, outcomes={}, ratings=0,
                              mean_rating=None, conversations=0, contained=0)
    report = reports.Report(SINCE, SINCE, (), figures)
    row = list(csv.DictReader(io.StringIO(reports.to_csv(report))))[0]
    assert row["escalations"] == "-1"  # a negative number stays a number


def test_bad_periods_are_refused(console_services, tracker):
    with pytest.raises(ReportError, match="before"):
        reports.report(console_services, tracker, since=UNTIL, until=SINCE)
    with pytest.raises(ReportError, match="366"):
        reports.report(console_services, tracker, since=date(2025, 1, 1), until=UNTIL)
    with pytest.raises(ReportError):
        reports.period("2026-06-01", UNTIL)


def test_an_empty_period(console_services, tracker):
    report = reports.report(console_services, tracker, since=SINCE, until=SINCE)
    assert report.total.escalations == 0 and report.total.containment is None
