"""Chat-turn latency over the REST channel: our assistant vs a bare Rasa baseline, one run.

The baseline is built from the same NLU data and config.yml, with one plain response per intent
and no custom actions, so the difference is what our actions (database, identity) add. Both use the
SQL tracker store and the same input channels (credentials.yml). N concurrent conversations each
send a script of turns; we report p50/p95 latency per kind of turn and messages per second. The
two assistants are measured in alternating blocks (baseline, ours, ours, baseline, ...) while all
servers run, so a change in the machine's background load falls on both alike.

    .venv/bin/python benchmarks/bot_latency.py --conversations 8 --rounds 4 [--blocks 3] [--json]
        [--baseline-model var/bench/baseline.tar.gz]   # reuse a baseline trained earlier
        [--floor]   # also measure the floor: the baseline plus one custom action that does nothing
        [--before DIR]   # also measure an earlier checkout of this repo (its own trained model)

`--floor` adds a third assistant: the bare baseline, except that the DB-turn messages' intents
(track_order, product_search) are answered by a custom action on its own action server that
sends the same reply and returns no events (benchmarks/noop_actions.py). Its DB-turn p50 above the
baseline's is what one action-server round trip costs before any action does any work.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlparse

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import servers as srv  # noqa: E402
from bot.settings import REPO_ROOT  # noqa: E402

SECRET = "benchmark-secret"
# (kind, text, signed in as customer 1?) - kinds: "utter" runs responses only in our bot,
# "db" runs custom actions that read the shop database.
SCRIPT = [
    ("utter", "hello there", False),
    ("db", "where's my order SH-100003?", True),
    ("db", "do you have any hiking boots?", False),
    ("utter", "which payment methods do you take", False),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


FLOOR_INTENTS = ("track_order", "product_search")
NOOP_ACTION = "action_noop_reply"


def build_baseline(workdir: Path, noop_intents: tuple[str, ...] = ()) -> Path:
    """Train a bare assistant on our NLU data: one response per intent, no custom actions
    (``noop_intents`` are answered by the do-nothing custom action instead)."""
    data = workdir / "data"
    data.mkdir(parents=True)
    intents, entities = set(), {"order_number", "email", "product"}
    # the hand-written and the generated examples (nlu_data/nlu, nlu_data/generated)
    for folder in ("nlu", "generated"):
        for path in sorted((REPO_ROOT / "nlu_data" / folder).glob("*.yml")):
            doc = yaml.safe_load(path.read_text())
            for item in doc.get("nlu", []):
                if "intent" in item:
                    intents.add(item["intent"])
            (data / f"{folder}_{path.name}").write_text(path.read_text())
    intents = sorted(intents)
    domain = {
        "version": "3.1",
        "intents": intents,
        "entities": sorted(entities),
        "responses": {f"utter_{i}": [{"text": f"Baseline reply to {i}."}] for i in intents}
        | {"utter_default": [{"text": "Sorry, I didn't get that."}]},
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
    }
    if noop_intents:
        domain["actions"] = [NOOP_ACTION]
    rules = {
        "version": "3.1",
        "rules": [
            {"rule": f"answer {i}", "steps": [
                {"intent": i}, {"action": NOOP_ACTION if i in noop_intents else f"utter_{i}"}]}
            for i in intents
        ]
        + [{"rule": "fallback", "steps": [{"intent": "nlu_fallback"}, {"action": "utter_default"}]}],
    }
    (workdir / "domain.yml").write_text(yaml.safe_dump(domain, sort_keys=False))
    (data / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    config = yaml.safe_load((REPO_ROOT / "config.yml").read_text())
    for policy in config.get("policies", []):
        policy.pop("core_fallback_action_name", None)
    (workdir / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    subprocess.run(
        [str(srv.BIN_DIR / "rasa"), "train", "--data", str(data), "--domain",
         str(workdir / "domain.yml"), "--config", str(workdir / "config.yml"), "--out",
         str(workdir / "models"), "--fixed-model-name", "baseline", "--quiet"],
        cwd=workdir, check=True, stdout=subprocess.DEVNULL,
        # config.yml names our own NLU components (bot.nlu.*)
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    return workdir / "models" / "baseline.tar.gz"


async def run_load(rasa_url: str, conversations: int, rounds: int,
                   repo: Path = REPO_ROOT) -> dict:
    """One block: ``conversations`` concurrent conversations, each ``rounds`` x SCRIPT, with
    the identity tokens ``repo``'s checkout accepts."""
    latencies: dict[str, list[float]] = {"utter": [], "db": []}
    errors = 0
    url = f"{rasa_url}/webhooks/rest/webhook"

    async def conversation(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for _ in range(rounds):
            sender = f"bench-{uuid.uuid4().hex[:12]}"
            token = srv.identity_token(SECRET, 1, sender, repo)
            for kind, text, signed_in in SCRIPT:
                body: dict = {"sender": sender, "message": text}
                if signed_in:
                    body["metadata"] = {"customer_token": token}
                start = time.perf_counter()
                async with session.post(url, json=body) as resp:
                    replies = await resp.json()
                elapsed = (time.perf_counter() - start) * 1000
                if resp.status != 200 or not replies:
                    errors += 1
                latencies[kind].append(elapsed)

    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        # One warm-up conversation so model loading and first-call costs are not measured.
        await conversation(session)
        latencies = {"utter": [], "db": []}
        errors = 0
        start = time.perf_counter()
        await asyncio.gather(*(conversation(session) for _ in range(conversations)))
        wall = time.perf_counter() - start
    return {"latencies": latencies, "errors": errors, "wall": wall}


def summarise(blocks: list[dict]) -> dict:
    latencies = {kind: [x for b in blocks for x in b["latencies"][kind]] for kind in ("utter", "db")}
    total = sum(len(v) for v in latencies.values())
    return {
        "messages": total,
        "errors": sum(b["errors"] for b in blocks),
        "messages_per_second": round(total / sum(b["wall"] for b in blocks), 2),
        **{
            kind: {
                "n": len(vals),
                "p50_ms": round(statistics.median(vals), 1),
                "p95_ms": round(percentile(vals, 95), 1),
            }
            for kind, vals in latencies.items()
        },
    }


def trained_model(saved: Path | None, workdir: Path, noop_intents: tuple[str, ...]) -> tuple[Path, bool]:
    """(model, trained now?): ``saved`` when it exists, else a fresh training (kept at ``saved``)."""
    if saved is not None and saved.exists():
        return saved, False
    what = "floor" if noop_intents else "bare baseline"
    print(f"training the {what} assistant...", file=sys.stderr)
    model = build_baseline(workdir, noop_intents)
    if saved is not None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(model, saved)
    return model, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=3,
                        help="measurement blocks per assistant, alternating baseline and ours so "
                             "both meet the same background load")
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "shop.tar.gz")
    parser.add_argument("--baseline-model", type=Path, default=None,
                        help="reuse this trained baseline (trained and saved there if missing)")
    parser.add_argument("--floor", action="store_true",
                        help="also measure the baseline plus a do-nothing custom action")
    parser.add_argument("--floor-model", type=Path, default=None,
                        help="reuse this trained floor assistant (trained and saved there if missing)")
    parser.add_argument("--before", type=Path, default=None,
                        help="an earlier checkout of this repository (with models/shop.tar.gz "
                             "trained there): measured in the same run as 'before'")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bot-latency-") as tmp, ExitStack() as running:
        work = Path(tmp)
        baseline_model, trained = trained_model(args.baseline_model, work / "baseline", ())
        if args.floor:
            floor_model, _ = trained_model(args.floor_model, work / "floor", FLOOR_INTENTS)
        db_url = f"sqlite:///{work / 'shop.db'}"
        srv.seed_live_db(db_url)
        env = {"DATABASE_URL": db_url, "SHOP_IDENTITY_SECRET": SECRET}
        credentials = srv.write_credentials(work / "credentials.yml", **srv.UNLIMITED)
        # All servers run throughout; only the one being measured gets traffic.
        base = running.enter_context(srv.rasa_server(work, baseline_model, env, None,
                                                     credentials=credentials))
        actions = running.enter_context(srv.action_server(work, env))
        ours = running.enter_context(
            srv.rasa_server(work, args.model, env, urlparse(actions.url).port,
                            credentials=credentials))
        urls = {"baseline": base.url, "ours": ours.url}
        repos = dict.fromkeys(urls, REPO_ROOT)
        if args.floor:
            noop_env = {**env, "PYTHONPATH": str(Path(__file__).resolve().parent)}
            noop = running.enter_context(srv.action_server(work, noop_env, "noop_actions"))
            urls["floor"] = running.enter_context(srv.rasa_server(
                work, floor_model, env, urlparse(noop.url).port, credentials=credentials)).url
            repos["floor"] = REPO_ROOT
        if args.before is not None:
            before = args.before.resolve()
            old = running.enter_context(srv.action_server(work, env, repo=before))
            urls["before"] = running.enter_context(srv.rasa_server(
                work, before / "models" / "shop.tar.gz", env, urlparse(old.url).port,
                repo=before, credentials=srv.write_credentials(
                    work / "credentials-before.yml", before, **srv.UNLIMITED))).url
            repos["before"] = before
        blocks: dict[str, list[dict]] = {name: [] for name in urls}
        for block in range(args.blocks):
            order = list(urls) if block % 2 == 0 else list(reversed(urls))
            for name in order:
                print(f"block {block + 1}/{args.blocks}: {name}", file=sys.stderr)
                blocks[name].append(asyncio.run(
                    run_load(urls[name], args.conversations, args.rounds, repos[name])))
        results = {name: summarise(b) for name, b in blocks.items()}

    base_p50 = results["baseline"]["db"]["p50_ms"]
    results["db_turn_p50_overhead_pct"] = round(
        100 * (results["ours"]["db"]["p50_ms"] - base_p50) / base_p50, 1
    )
    if "floor" in results:
        results["floor_db_turn_p50_overhead_pct"] = round(
            100 * (results["floor"]["db"]["p50_ms"] - base_p50) / base_p50, 1)
    if "before" in results:
        results["before_db_turn_p50_overhead_pct"] = round(
            100 * (results["before"]["db"]["p50_ms"] - base_p50) / base_p50, 1)
    results["setup"] = {"conversations": args.conversations, "rounds": args.rounds,
                        "blocks": args.blocks,
                        "turns": [t for _, t, _ in SCRIPT],
                        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
                        "baseline_reused": args.baseline_model is not None and not trained}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{args.conversations} concurrent conversations x {args.rounds} rounds x "
              f"{len(SCRIPT)} turns, {args.blocks} alternating blocks per assistant, REST "
              "channel, SQL tracker store")
        print(f"{'assistant':<10} {'turn':<6} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'msg/s':>7}")
        for name in blocks:
            r = results[name]
            for kind in ("utter", "db"):
                print(f"{name:<10} {kind:<6} {r[kind]['n']:>5} {r[kind]['p50_ms']:>8} "
                      f"{r[kind]['p95_ms']:>8} {r['messages_per_second']:>7}")
        print(f"DB-action turn p50 vs baseline (same messages): "
              f"{results['db_turn_p50_overhead_pct']:+.1f}% (target <= +25%)")
        if "floor" in results:
            print(f"floor (baseline + a do-nothing custom action) DB-turn p50 vs baseline: "
                  f"{results['floor_db_turn_p50_overhead_pct']:+.1f}%")
        if "before" in results:
            print(f"before (the earlier checkout) DB-turn p50 vs baseline: "
                  f"{results['before_db_turn_p50_overhead_pct']:+.1f}%")
        print(f"load average (1 min) at the end: {results['setup']['load_average_1m_at_end']}")
        errors = {name: results[name]["errors"] for name in blocks}
        if any(errors.values()):
            print("errors: " + ", ".join(f"{name} {n}" for name, n in errors.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
