"""Per-turn latency of two assistants side by side, one message at a time: A/B in one run.

Each side is a checkout of this repository (its code, its ``models/shop.tar.gz``), or this
checkout with another Rasa model (``--model-b``). Both stacks (Rasa server + action server, SQL
tracker store, one seeded shop DB) run throughout; blocks alternate A, B, B, A, ... and each block
sends ``--conversations`` fresh conversations of the four benchmark turns, one message at a time,
so the p50 of each turn shows where a difference comes from (Rasa's own work shows on the turns
that run no custom action).

    .venv/bin/python benchmarks/turn_ab.py --b /path/to/earlier/checkout [--blocks 6] [--json]
    .venv/bin/python benchmarks/turn_ab.py --model-b /tmp/other/shop.tar.gz
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlparse

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import servers as srv  # noqa: E402
from bot.settings import REPO_ROOT  # noqa: E402

SECRET = "benchmark-secret"
TURNS = (("hello there", False), ("where's my order SH-100003?", True),
         ("do you have any hiking boots?", False), ("which payment methods do you take", False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--b", type=Path, default=None, help="the other checkout (side B)")
    parser.add_argument("--model-b", type=Path, default=None,
                        help="side B: this checkout with this Rasa model instead")
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--conversations", type=int, default=12, help="per block")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if (args.b is None) == (args.model_b is None):
        parser.error("give exactly one of --b and --model-b")
    sides = {"A": (REPO_ROOT, REPO_ROOT / "models" / "shop.tar.gz")}
    if args.b is not None:
        sides["B"] = (args.b.resolve(), args.b.resolve() / "models" / "shop.tar.gz")
    else:
        sides["B"] = (REPO_ROOT, args.model_b.resolve())
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="turn-ab-") as tmp, ExitStack() as running:
        work = Path(tmp)
        db_url = f"sqlite:///{work / 'shop.db'}"
        srv.seed_live_db(db_url)
        env = {"DATABASE_URL": db_url, "SHOP_IDENTITY_SECRET": SECRET}
        urls = {}
        for name, (repo, model) in sides.items():
            actions = running.enter_context(srv.action_server(work, env, repo=repo))
            credentials = srv.write_credentials(work / f"credentials-{name}.yml", repo,
                                                **srv.UNLIMITED)
            urls[name] = running.enter_context(srv.rasa_server(
                work, model, env, urlparse(actions.url).port, repo=repo,
                credentials=credentials)).url
        with requests.Session() as http:
            for block in range(args.blocks + 1):  # block 0 warms both up and is not counted
                for name in ("A", "B") if block % 2 == 0 else ("B", "A"):
                    for _ in range(args.conversations):
                        sender = uuid.uuid4().hex
                        for text, signed_in in TURNS:
                            body: dict = {"sender": sender, "message": text}
                            if signed_in:
                                body["metadata"] = {"customer_token": srv.identity_token(
                                    SECRET, 1, sender, sides[name][0])}
                            start = time.perf_counter()
                            http.post(f"{urls[name]}/webhooks/rest/webhook", json=body,
                                      timeout=60).raise_for_status()
                            if block:
                                samples.setdefault((name, text), []).append(
                                    (time.perf_counter() - start) * 1000)
    result = {
        "sides": {name: {"repo": str(repo), "model": str(model)}
                  for name, (repo, model) in sides.items()},
        "turns": [{"turn": text, **{f"{name}_p50_ms": round(statistics.median(
            samples[(name, text)]), 1) for name in sides}, "n": len(samples[("A", text)])}
                  for text, _ in TURNS],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{'turn':<36} {'A p50 ms':>9} {'B p50 ms':>9}")
        for row in result["turns"]:
            print(f"{row['turn']:<36} {row['A_p50_ms']:>9} {row['B_p50_ms']:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
