"""The audit log: records are redacted and read back newest first."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot import audit
from bot.demo.fixtures import FIXTURE_NOW
from bot.store.db import session_scope


def test_records_are_redacted_and_listed_newest_first(engine):
    with session_scope(engine) as s:
        audit.record(s, now=FIXTURE_NOW, actor="bot", action="ownership_locked",
                     subject="order SH-100001", detail={"email": "jo@example.com", "n": 5})
        audit.record(s, now=FIXTURE_NOW + timedelta(seconds=1), actor="job",
                     action="retention_purge", detail={"events": 3})
    with session_scope(engine) as s:
        rows = audit.recent(s)
        assert [r.action for r in rows] == ["retention_purge", "ownership_locked"]
        assert rows[1].detail == {"email": "[email]", "n": 5}
        assert [r.action for r in audit.recent(s, action="ownership_locked")] == [
            "ownership_locked"]


def test_unknown_actions_are_refused(engine):
    with session_scope(engine) as s, pytest.raises(ValueError):
        audit.record(s, now=FIXTURE_NOW, actor="bot", action="made_up")


def test_audit_list_command(services, capsys):
    import json as _json

    from bot.cli import main

    with services.unit_of_work() as s:
        audit.record(s, now=FIXTURE_NOW, actor="bot", action="ownership_locked",
                     subject="order SH-100001", detail={"failures": 5})
    assert main(["audit", "--database-url", services.settings.database_url, "list", "--json",
                 "--days", "100000"]) == 0
    rows = [_json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["action"], r["subject"], r["detail"]) for r in rows] == [
        ("ownership_locked", "order SH-100001", {"failures": 5})]
