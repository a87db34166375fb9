"""What the input channels add to every message: verifying the identity token and counting the two
message-rate limits (per conversation, per client address), as ``bot.web.guard.ChannelGuard``
does them inside the Rasa server.

    .venv/bin/python benchmarks/channel_guard.py [--messages 2000] [--redis redis://localhost:6379/0]

Runs against a fresh, migrated SQLite shop database (WAL, as ``make run``), or Redis with
``--redis``; prints the median and p95 per message of each part, in milliseconds.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.identity import sign  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store.schema import upgrade  # noqa: E402
from bot.web.guard import ChannelGuard, Limits  # noqa: E402

SECRET = "benchmark-secret"


def ms(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 3),
            "p95_ms": round(ordered[int(len(ordered) * 0.95)], 3)}


async def measure(guard: ChannelGuard, messages: int) -> dict:
    verify, limits = [], []
    sender = "benchmark-session-0001"
    metadata = {"customer_token": sign(1, SECRET, session=sender)}
    await guard.allow("warm-up", "198.51.100.1")
    for i in range(messages):
        start = time.perf_counter()
        assert guard.metadata(metadata, sender)
        verify.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        await guard.allow(f"{sender}-{i % 50}", f"198.51.100.{i % 200}")
        limits.append((time.perf_counter() - start) * 1000)
    return {"verify_token": ms(verify), "two_limit_hits": ms(limits)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--redis", default="", help="count in this Redis instead of SQLite")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'shop.db'}"
        upgrade(url)
        services = Services(Settings(database_url=url, identity_secret=SECRET,
                                     redis_url=args.redis))
        unlimited = Limits(rate_per_minute=10 ** 9, address_rate_per_minute=10 ** 9)
        try:
            result = asyncio.run(measure(ChannelGuard(unlimited, services), args.messages))
        finally:
            services.close()
    result["store"] = "redis" if args.redis else "sqlite (WAL)"
    result["messages"] = args.messages
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
