"""python -m bot worker: its jobs (mail, erasures, retention, limits) run once with --once, the
scheduler has each on its interval, and the process stops cleanly on SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime

from sqlalchemy import select

from bot import audit, mail
from bot.cli import main
from bot.demo.fixtures import BEN_ID, FIXTURE_NOW
from bot.privacy.erasure import erase_customer
from bot.settings import REPO_ROOT
from bot.store.db import session_scope
from bot.store.models import ErasureRequest, Need
from bot.worker import Jobs, build_scheduler
from tests.privacy.rasa_store import save_conversation


def test_once_runs_every_job(services, db_url, tmp_path, monkeypatch):
    tracker_db = tmp_path / "tracker.db"
    save_conversation(tracker_db, "ben-1", [("hello", "hi")], start=1_000_000_000,
                      metadata={"shop_customer_id": BEN_ID})
    save_conversation(tracker_db, "ancient", [("long ago", "ok")], start=900_000_000)
    erase_customer(services, BEN_ID, actor="customer:2", conversations=["ben-1"])
    with session_scope(services.engine) as s:
        mail.queue(s, mail.Mail("jo@example.com", "Hi", "body"), FIXTURE_NOW)
        # A need that waited for its size months ago (the clock is real here): settled.
        s.add(Need(conversation_id="left", need_seq=100, turn=1, text="", last_message_key="k",
                   product="parka", category="outerwear", matched_product_ids="[]",
                   status="pending", extractor_version="test", created_at=FIXTURE_NOW,
                   updated_at=FIXTURE_NOW))
    monkeypatch.setenv("SHOP_MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.delenv("SMTP_HOST", raising=False)
    assert main(["worker", "--once", "--database-url", db_url,
                 "--tracker-url", f"sqlite:///{tracker_db}"]) == 0
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    with session_scope(services.engine) as s:
        assert s.execute(select(ErasureRequest.status)).scalar_one() == "done"
        assert len(audit.recent(s, action="retention_purge")) == 1
        assert s.execute(select(Need.status)).scalar_one() == "matched"


def test_the_schedule():
    scheduler = build_scheduler(Jobs(None, None, None), now=datetime(2026, 1, 1))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"mail", "erasures", "retention", "limits", "agent_delivery",
                         "agent_email", "needs_settle", "needs_convert", "back_in_stock",
                         "insights_digest"}
    assert jobs["needs_settle"].trigger.interval.total_seconds() == 60
    assert jobs["needs_convert"].trigger.interval.total_seconds() == 600
    assert jobs["back_in_stock"].trigger.interval.total_seconds() == 300
    assert jobs["insights_digest"].trigger.interval.total_seconds() == 3600
    assert jobs["agent_delivery"].trigger.interval.total_seconds() == 5
    assert jobs["agent_email"].trigger.interval.total_seconds() == 5
    assert jobs["retention"].trigger.interval.days == 1
    assert jobs["mail"].trigger.interval.total_seconds() == 5
    assert jobs["erasures"].trigger.interval.total_seconds() == 30


def test_the_process_stops_on_sigterm(db_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": db_url, "SHOP_MAIL_DIR": str(tmp_path / "mail"),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("SMTP_HOST", None)
    log = tmp_path / "worker.log"
    proc = subprocess.Popen([sys.executable, "-m", "bot", "worker", "--tracker-url",
                             f"sqlite:///{tmp_path / 'tracker.db'}"], cwd=REPO_ROOT, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "worker started" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        assert "worker started" in log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in log.read_text()
