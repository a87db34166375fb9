"""Need-extraction speed: throughput through nlp.pipe + assembly, and per-message latency.

    python benchmarks/needs_speed.py [--repeat 20] [--model DIR] [--json]

Messages are our held-out test texts (bot/needs/data/test.jsonl), repeated. Targets: >= 1,000
messages/s and p95 < 5 ms for one message (`extract(text)`), on one process. The machine's load
average is printed with the figures: on a shared machine wall-clock figures depend on what else
runs, so the same measurements are also given in this process's CPU time (what one dedicated
core would take).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.needs.annotations import TEST_PATH, read_jsonl  # noqa: E402
from bot.needs.pipeline import NeedExtractor  # noqa: E402


def _percentiles(values: list[float]) -> dict:
    values = sorted(values)
    return {"p50": round(statistics.median(values), 3),
            "p95": round(values[int(0.95 * (len(values) - 1))], 3), "max": round(values[-1], 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--model", type=Path, help="trained model dir (default models/needs)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    texts = [r["text"] for r in read_jsonl(TEST_PATH)]
    extractor = NeedExtractor(args.model) if args.model else NeedExtractor()
    for text in texts:  # warm up caches
        extractor.extract(text)
    batch = texts * args.repeat
    start, cpu_start = time.perf_counter(), time.process_time()
    produced = sum(1 for _ in extractor.extract_many(batch))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    latencies, cpu_latencies = [], []
    for text in texts * max(1, args.repeat // 4):
        t0, c0 = time.perf_counter(), time.thread_time()
        extractor.extract(text)
        cpu_latencies.append((time.thread_time() - c0) * 1000)
        latencies.append((time.perf_counter() - t0) * 1000)
    result = {
        "extractor": extractor.version, "messages": produced,
        "load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        "throughput_msg_per_s": round(produced / seconds, 1),
        "latency_ms": _percentiles(latencies),
        "cpu_throughput_msg_per_s": round(produced / cpu_seconds, 1),
        "cpu_latency_ms": _percentiles(cpu_latencies),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['extractor']}: {result['throughput_msg_per_s']} msg/s over "
              f"{produced} messages; one message p50 {result['latency_ms']['p50']} ms, "
              f"p95 {result['latency_ms']['p95']} ms (load average {result['load_average_1m']} "
              f"on {result['cpus']} CPUs); in CPU time {result['cpu_throughput_msg_per_s']} "
              f"msg/s, p50 {result['cpu_latency_ms']['p50']} ms, p95 "
              f"{result['cpu_latency_ms']['p95']} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
