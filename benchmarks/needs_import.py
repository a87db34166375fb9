"""`python -m bot needs import` throughput, end to end, on a demo shop.

    .venv/bin/python benchmarks/needs_import.py [--lines 5000] [--customers 1500] [--seed 7]
        [--database-url URL] [--json]

Builds the demo shop (catalogue, customers, orders; no logged needs) in a fresh SQLite file, or
in the empty database of ``--database-url`` / ``DATABASE_URL`` (PostgreSQL), writes ``--lines``
import lines for the year before today - about 85% written by the demo's need-message writer
(``bot.demo.needs.demo_messages``: every status, seasons, the growing themes) and 15% service
talk with no product need (order questions, thanks) - then runs the real command once as a
subprocess and again on the same file (the idempotent re-import).

Reported: the command's own summary (``messages_per_second``: from the first line read to the
last row committed: parsing, extraction through ``nlp.pipe``, catalogue matching and the batched
writes), the whole command's wall time including the interpreter start and the loading of the
need model (the lemma table alone is several seconds), the re-import, the rows in the table
afterwards, and the machine's load average (the machine is shared: figures move with it).
Target: >= 500 messages/s.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from bot.demo.build import build_demo_data  # noqa: E402
from bot.demo.generate import anchor_now  # noqa: E402
from bot.demo.needs import demo_messages, load_facts  # noqa: E402
from bot.settings import REPO_ROOT  # noqa: E402
from bot.store.db import make_engine, session_scope  # noqa: E402
from bot.store.models import Need  # noqa: E402

# Service talk with no product need (ours), filled in at random.
NO_NEED = (
    "where is my order SH-{n}?", "my parcel hasn't arrived yet, order SH-{n}",
    "can I return the jumper I bought last week?", "thanks, that's great!", "hi",
    "how long does delivery take?", "I was charged twice for order SH-{n}",
    "what are your opening hours?", "can I change my delivery address please",
    "the zip on my coat broke after a week", "do you do student discount?",
    "I'd like a refund for order SH-{n}", "cancel my order please", "ok thank you, bye",
    "is the parka machine washable?", "the kettle I ordered arrived damaged",
)
NO_NEED_SHARE = 0.15


def write_lines(path: Path, url: str, seed: int, count: int) -> int:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            facts = load_facts(session)
    finally:
        engine.dispose()
    rng = random.Random(seed)
    now = anchor_now(date.today())
    lines = demo_messages(rng, facts, now, int(count * (1 - NO_NEED_SHARE)))
    talk = []
    for _ in range(count - len(lines)):
        at = rng.choice(lines)["created_at"]
        talk.append({"created_at": at, "text": rng.choice(NO_NEED).format(
            n=rng.randint(100001, 199999)),
            "customer_id": rng.choice(facts.customers) if rng.random() < 0.6 else None})
    rows = sorted(lines + talk, key=lambda r: r["created_at"])
    with path.open("w", encoding="utf-8") as out:
        for i, row in enumerate(rows, start=1):
            out.write(json.dumps({**row, "id": f"bench-{i:07d}"}) + "\n")
    return len(rows)


def run_import(path: Path, url: str) -> tuple[dict, float]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot", "needs", "import", "--input", str(path),
                           "--database-url", url], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    return json.loads(done.stdout.strip().splitlines()[-1]), seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="an empty database (default: DATABASE_URL, else a temp SQLite file)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="needs-import-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'shop.db'}"
        build_demo_data(url, seed=args.seed, customers=args.customers)
        path = Path(tmp) / "messages.jsonl"
        lines = write_lines(path, url, args.seed, args.lines)
        first, first_wall = run_import(path, url)
        again, again_wall = run_import(path, url)
        engine = make_engine(url)
        try:
            with session_scope(engine) as session:
                rows = session.execute(select(func.count()).select_from(Need)).scalar()
        finally:
            engine.dispose()
    result = {
        "database": url.split(":", 1)[0], "lines": lines,
        "import": first,
        "command_seconds": round(first_wall, 2),
        "command_messages_per_second": round(lines / first_wall, 1),
        "reimport": {**again, "command_seconds": round(again_wall, 2)},
        "needs_in_table": rows,
        "load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['database']}: {lines} lines, {first['needs']} needs written "
              f"({first['without_need']} lines without a need), statuses {first['statuses']}")
        print(f"import: {first['messages_per_second']} messages/s "
              f"({first['seconds']} s from first line to last commit)")
        print(f"whole command: {result['command_seconds']} s = "
              f"{result['command_messages_per_second']} messages/s with interpreter start and "
              f"model load")
        print(f"re-import: {again['already_imported']} already imported, {again['needs']} "
              f"written, {again['messages_per_second']} messages/s; {rows} rows in the table")
        print(f"load average {result['load_average_1m']} on {result['cpus']} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
