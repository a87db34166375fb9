"""Faults survived (benchmarks/faults.py, briefly): twenty conversations go on while the action
server, the shop database (PostgreSQL) and the Rasa server are each killed with SIGKILL and
started again. No message may be lost, and every need the bot captured must be stored."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import REPO_ROOT

pytestmark = pytest.mark.integration

HAS_POSTGRES = bool(list(Path("/usr/lib/postgresql").glob("*/bin")))


def test_twenty_conversations_survive_each_process_killed():
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "faults.py"), "--conversations", "20",
         "--json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200,
    )
    assert done.stdout, done.stderr[-3000:]
    result = json.loads(done.stdout)
    phases = [p["phase"] for p in result["phases"]]
    assert phases[0] == "no fault" and "action server killed" in phases
    assert "rasa server killed" in phases
    if HAS_POSTGRES:
        assert "database killed" in phases
    messages = result["messages"]
    assert messages["sent"] == 20 * 3 * len(phases)
    assert messages["lost"] == 0, result["lost_examples"]
    assert messages["answered"] + messages["polite_error"] == messages["sent"]
    # The no-fault round is answered in full; every need the bot captured was stored.
    assert result["phases"][0]["answered"] == 60
    assert result["needs"]["captured"] >= 40
    assert result["needs"]["stored"] == result["needs"]["captured"]
    assert done.returncode == 0
