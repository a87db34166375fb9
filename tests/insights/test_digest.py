"""The weekly insights digest (bot.insights.digest): who gets it, what it says, once per week and
person across runs and processes, and delivery to a real SMTP server (aiosmtpd) by the command.

The fixture shop's today is Monday 2026-06-15, so the default digest covers 8-14 June
(2026-W24)."""
from __future__ import annotations

import json
import os
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import mail
from bot.cli import main
from bot.insights import digest
from bot.settings import MailSettings
from bot.staff import accounts
from bot.store.db import session_scope
from bot.store.models import InsightsDigest, OutgoingMail
from smtp_helpers import smtp_server
from tests.insights.needlog import hand_built, log, need_row

PASSWORD = "digest test password"
EVIL = '<img src=x onerror="alert(1)"> boots'


@pytest.fixture
def people(services):
    made = {}
    for role, name in (("analyst", "Ana <Analyst>"), ("lead", "Lee Lead"),
                       ("agent", "Sam Agent")):
        made[role] = accounts.add(services, email=f"{role}@example-shop.co.uk", name=name,
                                  role=role, password=PASSWORD)
    gone = accounts.add(services, email="gone@example-shop.co.uk", name="Gone", role="analyst",
                        password=PASSWORD)
    accounts.disable(services, gone.email)
    return made


@pytest.fixture
def week_of_needs(services):
    """Hand-built June log + the week 8-14 June: unmet demand and a theme that took off."""
    rows = hand_built()
    week = [date(2026, 6, 8) + timedelta(days=i) for i in range(7)]
    for i, day in enumerate(week):
        rows.append(need_row(day.isoformat(), category="pets", product="dog coat",
                             attributes=["waterproof"], price_max=40,
                             status="unmet:not_stocked", text=f"waterproof dog coat {i}"))
        rows.append(need_row(day.isoformat(), category="outerwear", product="rain jacket",
                             price_max=120, status="unmet:out_of_stock", customer=1,
                             propensity=0.6))
    rows.append(need_row("2026-06-09", category="outerwear", product=EVIL,
                         status="unmet:over_budget", price_max=500))
    # A steady background so that the planted theme stands out: two teapots a week, 16 weeks.
    for w in range(16):
        for k in range(2):
            day = date(2026, 6, 14) - timedelta(days=7 * w + 2 * k)
            rows.append(need_row(day.isoformat(), category="kitchen", product="teapot",
                                 status="matched"))
    return log(services.engine, rows)


def _outbox(services):
    with session_scope(services.engine) as s:
        return [(r.to_addr, r.subject, r.body, r.html)
                for r in s.execute(select(OutgoingMail).order_by(OutgoingMail.to_addr))
                .scalars()]


def test_the_week_it_covers():
    assert digest.default_as_of(date(2026, 6, 15)) == date(2026, 6, 14)  # Monday
    assert digest.default_as_of(date(2026, 6, 18)) == date(2026, 6, 14)  # Thursday
    assert digest.default_as_of(date(2026, 6, 14)) == date(2026, 6, 7)  # Sunday: not over
    assert digest.week_key(date(2026, 6, 14)) == "2026-W24"
    assert digest.week_key(date(2027, 1, 3)) == "2026-W53"


def test_the_digest_says_what_the_week_held(services, people, week_of_needs):
    report = digest.build(services)
    assert (report.as_of, report.since, report.week) == (date(2026, 6, 14), date(2026, 6, 8),
                                                        "2026-W24")
    assert report.needs == 7 * 2 + 1 + 2  # dog coats, rain jackets, EVIL, two teapots
    assert report.unmet_needs == 15
    values = [r.value for r in report.unmet.rows]
    # rain jackets: Alice once, 0.6 x 120 = 72; dog coats: 7 anonymous x p x 40; EVIL: p x 500
    assert set(values) == {"rain jacket", "dog coat", EVIL.lower()}
    assert [r.expected_value for r in report.unmet.rows] == sorted(
        (r.expected_value for r in report.unmet.rows), reverse=True)
    labels = [t.label for t in report.emerging.themes]
    assert "waterproof + dog coat" in labels and "teapot" not in labels

    text, html = digest.render(report, "Ana <Analyst>", "https://shop.example")
    assert "Hello Ana <Analyst>," in text
    assert "TOP UNMET DEMAND, BY EXPECTED VALUE" in text and "waterproof + dog coat" in text
    assert "not stocked 7" in text and "out of stock 7" in text
    assert ("https://shop.example/insights/needs?since=2026-06-08&until=2026-06-14"
            "&field=product&value=dog+coat&status=unmet") in text
    assert "Hello Ana &lt;Analyst&gt;," in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; boots" in html
    assert "<img" not in html
    assert "waterproof dog coat 3" not in text + html  # no shopper message in the mail


def test_analysts_and_leads_get_it_once_a_week(services, people, week_of_needs):
    first = digest.run_weekly(services)
    assert first.week == "2026-W24"
    assert sorted(first.queued) == ["analyst@example-shop.co.uk", "lead@example-shop.co.uk"]
    rows = _outbox(services)
    assert [r[0] for r in rows] == ["analyst@example-shop.co.uk", "lead@example-shop.co.uk"]
    to, subject, body, html = rows[0]
    assert subject == "Product insights for 8 Jun 2026 to 14 Jun 2026 (2026-W24)"
    assert "Hello Ana <Analyst>," in body and html.startswith("<!doctype html>")

    # The hourly job again, a restart, the command by hand: nobody gets it twice.
    again = digest.run_weekly(services)
    assert again.queued == [] and again.skipped == []  # nobody waiting: nothing computed
    by_hand = digest.queue_digest(services, digest.build(services, "2026-06-12"))
    assert by_hand.week == "2026-W24" and by_hand.queued == []
    assert sorted(by_hand.skipped) == ["analyst@example-shop.co.uk", "lead@example-shop.co.uk"]
    assert len(_outbox(services)) == 2
    assert digest.sent_weeks(services, people["analyst"].id) == ["2026-W24"]

    # A new analyst this week gets it; next week everybody does again.
    accounts.add(services, email="new@example-shop.co.uk", name="New", role="analyst",
                 password=PASSWORD)
    assert digest.run_weekly(services).queued == ["new@example-shop.co.uk"]
    services.clock = lambda: datetime(2026, 6, 22, 9)
    assert len(digest.run_weekly(services).queued) == 3


def test_two_workers_at_once_send_one_digest_each(services, people, week_of_needs, db_url,
                                                  lazy_extractor, tmp_path):
    """Three workers (each its own engine, as separate processes have) queue the same week's
    digest at the same moment: each person gets one."""
    from bot.store.db import make_engine
    from service_helpers import make_services

    engines = [make_engine(db_url) for _ in range(3)]
    report = digest.build(services)
    start = threading.Barrier(len(engines))
    results, errors = [], []

    def worker(engine):
        try:
            start.wait()
            results.append(digest.queue_digest(
                make_services(db_url, engine, tmp_path, lazy_extractor), report))
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(e,)) for e in engines]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        for e in engines:
            e.dispose()
    assert errors == []
    assert sorted(email for r in results for email in r.queued) == [
        "analyst@example-shop.co.uk", "lead@example-shop.co.uk"]
    assert sum(len(r.skipped) for r in results) == 4
    with session_scope(services.engine) as s:
        assert s.execute(select(func.count()).select_from(InsightsDigest)).scalar_one() == 2
        assert s.execute(select(func.count()).select_from(OutgoingMail)).scalar_one() == 2


def test_the_command_sends_it_over_smtp(services, people, week_of_needs, db_url, monkeypatch,
                                        capsys):
    with smtp_server() as (inbox, port):
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(port))
        monkeypatch.setenv("SMTP_STARTTLS", "0")
        monkeypatch.setenv("SMTP_FROM", "Shop insights <insights@example-shop.co.uk>")
        assert main(["insights", "digest", "--as-of", "2026-06-14", "--dry-run",
                     "--database-url", db_url]) == 0
        dry = capsys.readouterr().out
        assert "Subject: Product insights for 8 Jun 2026 to 14 Jun 2026 (2026-W24)" in dry
        assert "To: analyst@example-shop.co.uk, lead@example-shop.co.uk" in dry
        assert inbox.envelopes == [] and _outbox(services) == []  # a dry run sends nothing

        assert main(["insights", "digest", "--as-of", "2026-06-14", "--json",
                     "--database-url", db_url]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["week"] == "2026-W24" and result["sent"] == 2
        assert sorted(inbox.recipients()) == ["analyst@example-shop.co.uk",
                                              "lead@example-shop.co.uk"]
        message = next(m for m in inbox.messages() if m["To"] == "analyst@example-shop.co.uk")
        assert message["From"] == "Shop insights <insights@example-shop.co.uk>"
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "dog coat" in text and "waterproof + dog coat" in html
        assert "<img" not in html
        assert _outbox(services) == []  # sent: the outbox forgets the address

        # Again for the same week: nobody is mailed twice.
        assert main(["insights", "digest", "--as-of", "2026-06-10", "--json",
                     "--database-url", db_url]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["queued"] == [] and len(result["skipped"]) == 2
        assert len(inbox.envelopes) == 2


def test_a_bad_date_is_one_line(services, people, db_url, capsys):
    assert main(["insights", "digest", "--as-of", "2999-01-01", "--database-url", db_url]) == 2
    assert "in the future" in capsys.readouterr().err
    assert main(["insights", "digest", "--as-of", "next week", "--database-url", db_url]) == 2
    assert "as_of must be a date" in capsys.readouterr().err


def test_the_worker_job_queues_it_and_the_mail_job_sends_it(services, people, week_of_needs):
    from bot.worker import Jobs

    with smtp_server() as (inbox, port):
        mailer = mail.Mailer(MailSettings(host="127.0.0.1", port=port, starttls=False))
        jobs = Jobs(services, None, mailer)
        jobs.insights_digest()
        jobs.mail()
        jobs.insights_digest()
        jobs.mail()
    assert sorted(inbox.recipients()) == ["analyst@example-shop.co.uk",
                                          "lead@example-shop.co.uk"]


@pytest.mark.skipif(not os.environ.get("SHOP_TEST_POSTGRES_URL"),
                    reason="SHOP_TEST_POSTGRES_URL not set")
def test_once_per_week_and_person_on_postgresql(tmp_path, lazy_extractor):
    from bot.demo.fixtures import FIXTURE_NOW, seed_fixture
    from bot.store.db import make_engine
    from bot.store.schema import upgrade
    from service_helpers import make_services
    from sqlalchemy import text

    url = os.environ["SHOP_TEST_POSTGRES_URL"]
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(url)
        with session_scope(engine) as session:
            seed_fixture(session, FIXTURE_NOW)
        pg = make_services(url, engine, tmp_path, lazy_extractor)
        accounts.add(pg, email="ana@example-shop.co.uk", name="Ana", role="analyst",
                     password=PASSWORD)
        log(engine, hand_built())
        report = digest.build(pg, "2026-06-07")
        assert report.unmet.rows[0].value == "rain jacket"
        assert digest.queue_digest(pg, report).queued == ["ana@example-shop.co.uk"]
        assert digest.queue_digest(pg, report).skipped == ["ana@example-shop.co.uk"]
        assert [r[0] for r in _outbox(pg)] == ["ana@example-shop.co.uk"]
    finally:
        engine.dispose()
