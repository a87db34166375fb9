"""Faults survived: conversations go on while each process is killed (SIGKILL) and restarted.

Twenty conversations (``--conversations``) talk to the real Rasa server over REST, one message
per conversation per round, as a widget would: a message that cannot be delivered (connection
refused, timeout, 5xx) is sent again every second until it is answered or ``--deadline`` seconds
have passed. Between the rounds the script kills, with ``kill -9``, the action server, then the
shop database (a PostgreSQL cluster of its own, when PostgreSQL is installed; with SQLite there
is no database process to kill and that phase is reported as skipped), then the Rasa server, and
starts each one again while the conversations keep sending.

It reports, for every message sent: answered, answered with a polite error (the bot's own "I
can't reach our order system" / "something went wrong on my side" replies), and lost (no answer
by the deadline, or an empty answer). The target is 0 lost. It also counts the product needs the
shoppers stated that reached the need capture (the product-search action answered them) against
the needs rows stored once the action server's outbox has drained: the target is equal.

    .venv/bin/python benchmarks/faults.py [--conversations 20] [--rounds 2] [--json]
        [--sqlite]   # use a SQLite shop database (no database-kill phase)

`make test` runs it briefly (tests/integration/test_faults.py) and checks both targets.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import servers as srv  # noqa: E402
from bot.settings import REPO_ROOT  # noqa: E402

# The bot's polite failure replies (actions/replies.py and the input channel's fallback).
POLITE_MARKERS = (
    "can't reach our order system",
    "something went wrong on my side",
    "try again in a moment",
    "try again in a few minutes",
)

# One need per conversation per round, each of a different category so that no later need is
# taken for a refinement of the one before (a restated need is one record, by design).
NEEDS = (
    "I'm looking for waterproof hiking boots",
    "do you have a wool jumper for my dad",
    "I need a yoga mat",
    "looking for a leather wallet as a present",
    "I'm looking for a scented candle",
    "have you got a board game for kids",
    "I'm looking for a face moisturiser",
)
CHATTER = ("hello", "which payment methods do you take?", "thanks")


@dataclass
class Tally:
    sent: int = 0
    answered: int = 0
    polite: int = 0
    lost: int = 0
    retried: int = 0
    needs_captured: int = 0
    lost_examples: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Proc:
    """A server we can kill -9 and start again on the same port."""

    def __init__(self, name: str, argv: list[str], env: dict, log: Path, ready_url: str,
                 cwd: Path = REPO_ROOT):
        self.name, self.argv, self.env, self.log, self.ready_url = name, argv, env, log, ready_url
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> None:
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env,
                                     stdout=self.log.open("a"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if wait:
            srv.wait_ready(self.ready_url, self.proc, self.log)

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None:
            srv.stop(self.proc)


class Postgres:
    """A throwaway PostgreSQL cluster that can be killed -9 and started again."""

    def __init__(self, workdir: Path):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
        if not bins:
            raise RuntimeError("PostgreSQL is not installed")
        self.bin = bins[-1]
        self.dir = workdir / "pg"
        self.dir.mkdir()
        self.port = srv.free_port()
        self.root = os.getuid() == 0
        if self.root:  # the server runs as postgres: it must reach its folder
            os.chmod(workdir, 0o755)
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "shop")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/shop"

    def _run(self, tool: str, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.root else []
        done = subprocess.run([*prefix, str(self.bin / tool), *args], capture_output=True,
                              text=True)
        if done.returncode:
            raise RuntimeError(f"{tool} failed: {done.stderr.strip()[-500:]}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w",
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")

    def kill9(self) -> None:
        """SIGKILL the postmaster and every backend, as a crashed machine would leave them."""
        pid = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        victims = [pid] + _children(pid)
        for p in victims:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in victims):
            time.sleep(0.1)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def send(rasa_url: str, sender: str, text: str, deadline_s: float, tally: Tally,
         is_need: bool) -> None:
    """Deliver one message as the widget would (again every second until answered)."""
    url = f"{rasa_url}/webhooks/rest/webhook"
    deadline = time.monotonic() + deadline_s
    attempts = 0
    replies = None
    while time.monotonic() < deadline:
        attempts += 1
        try:
            r = requests.post(url, json={"sender": sender, "message": text}, timeout=30)
            if r.status_code < 500:
                replies = r.json()
                break
        except (requests.RequestException, ValueError):
            pass
        time.sleep(1)
    texts = [m.get("text") or "" for m in replies or [] if isinstance(m, dict)]
    said = " ".join(texts).lower()
    with tally.lock:
        tally.sent += 1
        tally.retried += attempts > 1
        if not replies:
            tally.lost += 1
            if len(tally.lost_examples) < 5:
                tally.lost_examples.append({"sender": sender, "text": text,
                                            "got": replies})
        elif any(m in said for m in POLITE_MARKERS):
            tally.polite += 1
            # A polite reply from the product search itself still means the need was captured
            # (to the database or to the outbox); the channel's fallback means it never ran.
            if is_need and "something went wrong on my side" not in said:
                tally.needs_captured += 1
        else:
            tally.answered += 1
            if is_need:
                tally.needs_captured += 1


def run_round(rasa_url: str, conversations: list[str], round_no: int, deadline: float,
              tally: Tally) -> None:
    """Each conversation: a chatter line, then a need, then a chatter line (in order)."""

    def conversation(i: int, sender: str) -> None:
        need = NEEDS[(i + round_no) % len(NEEDS)]
        script = [(CHATTER[round_no % len(CHATTER)], False), (need, True),
                  (CHATTER[(round_no + 1) % len(CHATTER)], False)]
        for text, is_need in script:
            send(rasa_url, sender, text, deadline, tally, is_need)

    with ThreadPoolExecutor(len(conversations)) as pool:
        list(pool.map(conversation, range(len(conversations)), conversations))


def stored_needs(db_url: str, conversations: list[str]) -> int:
    from sqlalchemy import func, select

    from bot.store.db import make_engine, session_scope
    from bot.store.models import Need

    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            return s.execute(select(func.count()).select_from(Need)
                             .where(Need.conversation_id.in_(conversations))).scalar()
    finally:
        engine.dispose()


def outbox_pending(path: Path) -> int:
    """Records still waiting in the outbox (the file and any segment being drained)."""
    from bot.needs.outbox import Outbox

    return len(Outbox(path).pending())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds of conversation during each outage (and before the first)")
    parser.add_argument("--deadline", type=float, default=240,
                        help="seconds a message is re-sent before it counts as lost")
    parser.add_argument("--outage", type=float, default=4,
                        help="seconds a killed process stays down")
    parser.add_argument("--sqlite", action="store_true", help="SQLite shop database")
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "shop.tar.gz")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, DBs)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="shop-faults-"))
    pg = None
    procs: list[Proc] = []
    try:
        if args.sqlite or not list(Path("/usr/lib/postgresql").glob("*/bin")):
            db_url = f"sqlite:///{work / 'shop.db'}"
        else:
            pg = Postgres(work)
            db_url = pg.url
        srv.seed_live_db(db_url)
        outbox = work / "outbox" / "needs_outbox.jsonl"
        env = srv.with_action_secret({"DATABASE_URL": db_url, "SHOP_NEEDS_OUTBOX": str(outbox),
                                      "SHOP_IDENTITY_SECRET": secrets.token_hex(16)})
        actions_port, rasa_port = srv.free_port(), srv.free_port()
        endpoints = srv.write_endpoints(work / "endpoints.yml", work / "tracker.db", actions_port)
        # Twenty shoppers share 127.0.0.1 here: the per-address limit is lifted (still counted).
        credentials = srv.write_credentials(work / "credentials.yml", **srv.UNLIMITED)
        actions = Proc("action server",
                       [str(srv.BIN_DIR / "python"), "-m", "actions", "--port", str(actions_port)],
                       {**os.environ, **env}, work / "actions.log",
                       f"http://127.0.0.1:{actions_port}/health")
        rasa = Proc("rasa server",
                    srv.rasa_command(args.model, endpoints, rasa_port, secrets.token_hex(16),
                                     credentials),
                    srv.rasa_env(env), work / "rasa.log", f"http://127.0.0.1:{rasa_port}/")
        procs = [actions, rasa]
        actions.start()
        rasa.start()
        rasa_url = f"http://127.0.0.1:{rasa_port}"
        conversations = [f"faults-{secrets.token_hex(4)}-{i}" for i in range(args.conversations)]
        tally = Tally()
        phases: list[dict] = []
        round_no = 0

        def phase(name: str, kill, restart) -> None:
            nonlocal round_no
            started = time.monotonic()
            before = (tally.sent, tally.answered, tally.polite, tally.lost)
            talkers = []
            for _ in range(args.rounds):
                if kill is not None:
                    kill()
                    revive = threading.Timer(args.outage, restart)
                    revive.start()
                t = threading.Thread(target=run_round, args=(rasa_url, conversations, round_no,
                                                             args.deadline, tally))
                round_no += 1
                t.start()
                t.join()
                talkers.append(t)
                if kill is not None:
                    revive.join()
            after = (tally.sent, tally.answered, tally.polite, tally.lost)
            phases.append({"phase": name, "seconds": round(time.monotonic() - started, 1),
                           **{k: a - b for k, a, b in zip(("sent", "answered", "polite", "lost"),
                                                          after, before)}})

        phase("no fault", None, None)
        phase("action server killed", actions.kill9, actions.start)
        if pg is not None:
            phase("database killed", pg.kill9, pg.start)
        phase("rasa server killed", rasa.kill9, rasa.start)

        # Everything is back: let the action server's outbox drain, then count stored needs.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and outbox_pending(outbox):
            time.sleep(1)
        stored = stored_needs(db_url, conversations)
        result = {
            "conversations": args.conversations,
            "database": "postgresql" if pg else "sqlite (no database-kill phase)",
            "messages": {"sent": tally.sent, "answered": tally.answered,
                         "polite_error": tally.polite, "lost": tally.lost,
                         "delivered_after_retry": tally.retried},
            "needs": {"captured": tally.needs_captured, "stored": stored,
                      "still_in_outbox": outbox_pending(outbox)},
            "phases": phases,
            "lost_examples": tally.lost_examples,
        }
    finally:
        for p in reversed(procs):
            p.stop()
        if pg is not None and not args.keep:
            pg.stop()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        m, n = result["messages"], result["needs"]
        print(f"database: {result['database']}")
        for p in result["phases"]:
            print(f"  {p['phase']:<22} sent {p['sent']:>3}  answered {p['answered']:>3}  "
                  f"polite {p['polite']:>3}  lost {p['lost']:>3}  ({p['seconds']} s)")
        print(f"messages: sent {m['sent']}, answered {m['answered']}, polite error "
              f"{m['polite_error']}, lost {m['lost']} (target 0); delivered after a retry "
              f"{m['delivered_after_retry']}")
        print(f"needs: captured {n['captured']}, stored {n['stored']} (target equal), "
              f"still in outbox {n['still_in_outbox']}")
    if args.keep:
        print(f"work folder kept: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    ok = result["messages"]["lost"] == 0 and n_equal(result)
    return 0 if ok else 1


def n_equal(result: dict) -> bool:
    return result["needs"]["captured"] == result["needs"]["stored"]


if __name__ == "__main__":
    sys.exit(main())
