"""Product insights with a million logged needs: every JSON view's p95, on SQLite and PostgreSQL.

    nice -n 10 .venv/bin/python benchmarks/insights.py [--needs 1000000] [--runs 20]
        [--backend sqlite|postgresql|both] [--postgres-url URL] [--json]

PostgreSQL: ``--postgres-url``, else ``SHOP_TEST_POSTGRES_URL`` or ``DATABASE_URL`` (a throwaway
database: its schema is dropped), else a throwaway cluster is started the way the tests start
one (``scripts/with_postgres.sh``). SQLite: a fresh file in a temporary folder.

For each database: migrate, write a small catalogue (the taxonomy's 21 categories, a few
products each, for the median prices) and 50,000 customers, then ``--needs`` needs generated
directly (not through the extractor) over the 365 days up to ``ANCHOR``: taxonomy product types
with a long tail of modifiers ("kids", "vintage"...), 0-3 of the category's features, colours,
sizes, brands, stated prices, recipients and occasions at realistic rates, 45% unmet across the
four reasons, 5% pending, 35% of needs from signed-in shoppers (80% of them scored), weekly and
yearly seasonality, and two themes that grow over the last six weeks. Then ``python -m bot
insights rebuild``'s function builds the facets and the daily rollup (timed), and each view is
called ``--runs`` times with the filters a product person uses most (the 365 days up to
``ANCHOR``, a mid-month day, so the period has partial first and last months; a quarter; one
category); the p50/p95 in milliseconds are printed (targets: p95 < 500 ms on PostgreSQL, < 1 s
on SQLite). The views are the service functions the JSON endpoints and pages call; a page
that combines several of them is timed as their sum (``overview page``), so pages can be added
to :func:`views` as their code settles.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bot import insights  # noqa: E402
from bot.demo.writer import write_rows  # noqa: E402
from bot.insights import facets  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store.db import make_engine, session_scope  # noqa: E402
from bot.store.schema import upgrade  # noqa: E402
from bot.taxonomy import load_taxonomy  # noqa: E402

ANCHOR = date(2026, 6, 17)  # mid-month: a year's queries read two partial months by day
CUSTOMERS = 50_000
CHUNK = 100_000
REPO = Path(__file__).resolve().parent.parent
MODIFIERS = ("kids", "womens", "mens", "vintage", "mini", "large", "travel", "luxury", "cheap",
             "organic", "retro", "handmade", "personalised", "eco", "compact", "heavy duty",
             "slim", "classic", "modern", "budget")
RECIPIENTS = ("wife", "husband", "son", "daughter", "mum", "dad", "friend", "grandma", "boss",
              "girlfriend", "boyfriend", "nephew")
OCCASIONS = ("birthday", "christmas", "wedding", "anniversary", "holiday", "new job",
             "graduation", "mothers day", "fathers day", "new home")
STATUSES = (("matched", 50), ("pending", 5), ("unmet:not_stocked", 18),
            ("unmet:out_of_stock", 12), ("unmet:over_budget", 8), ("unmet:size_or_colour", 7))
GROWING = (("outerwear", "rain jacket", ("lightweight", "packable")),
           ("footwear", "trail running shoe", ("vegan", "waterproof")))


# --- data ---------------------------------------------------------------------------------------

def catalogue_rows(rng: random.Random) -> dict[str, list[dict]]:
    taxonomy = load_taxonomy()
    rows: dict[str, list[dict]] = {"categories": [], "products": [], "customers": []}
    pid = 0
    for cid, cat in enumerate(taxonomy.categories, start=1):
        rows["categories"].append({"id": cid, "slug": cat.slug, "name": cat.name,
                                   "parent_id": None})
        for n in range(8):
            pid += 1
            low, high = cat.price
            rows["products"].append({
                "id": pid, "sku": f"BI-{pid:05d}", "name": f"{cat.name} item {n}",
                "slug": f"bench-{pid}", "category_id": cid,
                "product_type": cat.types[n % len(cat.types)],
                "brand": cat.brands[n % len(cat.brands)],
                "price": Decimal(str(round(rng.uniform(low, high), 2))), "currency": "GBP",
                "stock": rng.randint(0, 20), "description": "", "active": True,
                "created_at": datetime(2025, 1, 1), "image_url": None})
    created = datetime(2025, 1, 1)
    rows["customers"] = [{"id": i, "email": f"shopper{i}@bench.example", "first_name": "B",
                          "last_name": f"S{i}", "phone": None, "created_at": created,
                          "marketing_opt_in": False, "erased_at": None}
                         for i in range(1, CUSTOMERS + 1)]
    return rows


def _day_weights(days: int) -> list[float]:
    """Weekly (weekends busier) and yearly (a December peak) seasonality."""
    out = []
    for back in range(days):
        day = ANCHOR - timedelta(days=back)
        weekly = 1.3 if day.weekday() >= 5 else 1.0
        yearly = 1.0 + 0.6 * max(0.0, 1 - abs((day - date(day.year, 12, 10)).days) / 40)
        out.append(weekly * yearly)
    return out


def need_rows(rng: random.Random, count: int, start_id: int) -> list[dict]:
    taxonomy = load_taxonomy()
    categories = taxonomy.categories
    colours, sizes = taxonomy.colours, taxonomy.size_systems
    weights = _day_weights(365)
    days = rng.choices(range(365), weights=weights, k=count)
    statuses = rng.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES], k=count)
    rows = []
    for i in range(count):
        back = days[i]
        growing = back < 42 and rng.random() < 0.01 * (42 - back) / 42
        if growing:
            slug, product, attrs = GROWING[i % len(GROWING)]
            cat = taxonomy.category(slug)
            attributes = list(attrs)
        else:
            cat = categories[(int(rng.paretovariate(1.2)) - 1) % len(categories)]
            product = cat.types[(int(rng.paretovariate(1.0)) - 1) % len(cat.types)]
            if rng.random() < 0.3:
                modifier = MODIFIERS[(int(rng.paretovariate(0.8)) - 1) % len(MODIFIERS)]
                product = f"{modifier} {product}"
            features = cat.features or taxonomy.materials
            attributes = rng.sample(features, k=min(len(features),
                                                    rng.choices((0, 1, 2, 3),
                                                                (45, 35, 15, 5))[0]))
        system = sizes[cat.sizes[0]] if cat.sizes else ()
        price = round(rng.uniform(*cat.price), 0) if rng.random() < 0.4 else None
        signed = rng.random() < 0.35
        when = datetime.combine(ANCHOR - timedelta(days=back), datetime.min.time()) + timedelta(
            seconds=rng.randint(0, 86399))
        text_words = " ".join([*attributes, product])
        rows.append({
            "id": start_id + i, "conversation_id": f"bench-{start_id + i}", "need_seq": 100,
            "customer_id": rng.randint(1, CUSTOMERS) if signed else None, "turn": 1,
            "text": f"do you have a {text_words}?", "last_message_key": f"k{start_id + i}",
            "product": product, "category": cat.slug,
            "attributes": json.dumps(attributes),
            "colour": json.dumps([rng.choice(colours)] if rng.random() < 0.3 else []),
            "size": json.dumps([rng.choice(system)] if system and rng.random() < 0.3 else []),
            "brand": rng.choice(cat.brands) if rng.random() < 0.15 else None,
            "price_min": None, "price_max": None if price is None else Decimal(str(price)),
            "currency": "GBP", "quantity": None,
            "recipient": rng.choice(RECIPIENTS) if rng.random() < 0.1 else None,
            "occasion": rng.choice(OCCASIONS) if rng.random() < 0.1 else None,
            "needed_by": None, "confidence": Decimal("0.9"), "matched_product_ids": "[]",
            "status": statuses[i], "extractor_version": "bench", "created_at": when,
            "updated_at": when,
            "propensity_probability": round(rng.betavariate(2, 5), 4)
            if signed and rng.random() < 0.8 else None,
            "propensity_band": None, "propensity_model_version": None,
            "back_in_stock_requested_at": None, "back_in_stock_notified_at": None,
            "converted_order_id": None, "converted_at": None, "is_demo": False,
            "source_id": None})
    return rows


def load(url: str, needs: int, seed: int) -> dict:
    rng = random.Random(seed)
    upgrade(url)
    engine = make_engine(url)
    timings = {}
    try:
        started = time.perf_counter()
        with session_scope(engine) as session:
            write_rows(session, catalogue_rows(rng))
        for start in range(0, needs, CHUNK):
            batch = need_rows(rng, min(CHUNK, needs - start), start + 1)
            with session_scope(engine) as session:
                write_rows(session, {"needs": batch})
        timings["insert_needs_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        with session_scope(engine) as session:
            counts = facets.rebuild(session)
        timings["rebuild_s"] = round(time.perf_counter() - started, 1)
        if url.startswith("postgresql"):
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        else:
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return {**timings, **counts}


# --- timing -------------------------------------------------------------------------------------

def views(services: Services) -> list[tuple[str, callable]]:
    """(name, call) of every insights view, with the filters used most: the whole year, and
    one category. Page timings go here too (the service calls a page makes, or an HTTP GET)."""
    year = {"since": ANCHOR - timedelta(days=364), "until": ANCHOR}
    quarter = {"since": ANCHOR - timedelta(days=89), "until": ANCHOR}
    cat = "outerwear"
    top_attr = insights.top(services, "attribute", **year).rows[0].value
    calls = [
        ("volume year by day", lambda: insights.volume(services, bucket="day", **year)),
        ("volume year by week", lambda: insights.volume(services, bucket="week", **year)),
        ("volume year by month, one category",
         lambda: insights.volume(services, bucket="month", category=cat, **year)),
    ]
    for field in insights.FIELDS:
        calls.append((f"top {field} year",
                      lambda f=field: insights.top(services, f, **year)))
    calls += [
        ("top product year, one category",
         lambda: insights.top(services, "product", category=cat, **year)),
        ("top attribute quarter", lambda: insights.top(services, "attribute", **quarter)),
    ]
    for by in ("product", "category", "attribute"):
        for order in ("volume", "value"):
            calls.append((f"unmet by {by} year, by {order}",
                          lambda b=by, o=order: insights.unmet(services, by=b, order=o,
                                                               **year)))
    calls += [
        ("unmet by product year, one category",
         lambda: insights.unmet(services, by="product", category=cat, **year)),
        ("themes year", lambda: insights.themes(services, **year)),
        ("themes with attributes year",
         lambda: insights.themes(services, with_attributes=True, **year)),
        ("emerging 4 weeks", lambda: insights.emerging(services, as_of=ANCHOR, weeks=4)),
        ("emerging 6 weeks, one category",
         lambda: insights.emerging(services, as_of=ANCHOR, weeks=6, category=cat)),
        ("drill-down all needs year, page 1", lambda: insights.drilldown(services, **year)),
        ("drill-down all needs year, page 200",
         lambda: insights.drilldown(services, page=200, **year)),
        ("drill-down attribute unmet year",
         lambda: insights.drilldown(services, field="attribute", value=top_attr,
                                    status="unmet", **year)),
        ("drill-down category + reason year",
         lambda: insights.drilldown(services, category=cat, status="unmet:out_of_stock",
                                    **year)),
        ("categories", lambda: insights.categories(services)),
        ("unmet CSV export year",
         lambda: insights.to_csv(insights.unmet(services, by="product", limit=500, **year))),
        ("overview page (volume + top product + unmet + emerging)", lambda: (
            insights.volume(services, bucket="week", **year),
            insights.top(services, "product", **year),
            insights.unmet(services, by="product", order="value", **year),
            insights.emerging(services, as_of=ANCHOR))),
    ]
    return calls


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1),
            "max_ms": round(ordered[-1], 1)}


def measure(url: str, runs: int) -> dict:
    engine = make_engine(url)
    settings = Settings(database_url=url, identity_secret="benchmark")
    services = Services(settings, engine=engine,
                        clock=lambda: datetime.combine(ANCHOR, datetime.min.time())
                        + timedelta(hours=18))
    out = {}
    try:
        for name, call in views(services):
            json.dumps(_as_json(call()))  # warm-up, and the JSON is part of the answer
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                json.dumps(_as_json(call()))
                samples.append((time.perf_counter() - started) * 1000)
            out[name] = percentiles(samples)
    finally:
        engine.dispose()
    return out


def _as_json(result):
    if isinstance(result, tuple):
        return [_as_json(r) for r in result]
    if isinstance(result, (str, list)):
        return result
    return insights.to_json(result)


# --- databases ----------------------------------------------------------------------------------

def run_sqlite(args) -> dict:
    if args.sqlite_path:  # keep the database (built once, measured again while tuning)
        path = Path(args.sqlite_path)
        url = f"sqlite:///{path}"
        built = {"reused": True} if path.exists() else load(url, args.needs, args.seed)
        return {"build": {**built, "db_mb": round(path.stat().st_size / 1e6)},
                "views": measure(url, args.runs)}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/insights.db"
        built = load(url, args.needs, args.seed)
        size = os.path.getsize(f"{folder}/insights.db")
        return {"build": {**built, "db_mb": round(size / 1e6)}, "views": measure(url, args.runs)}


def run_postgres(args) -> dict:
    url = args.postgres_url or os.environ.get("SHOP_TEST_POSTGRES_URL") or \
        os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        # the tests' throwaway cluster: run this script again inside scripts/with_postgres.sh
        argv = [sys.executable, __file__, "--backend", "postgresql", "--needs", str(args.needs),
                "--runs", str(args.runs), "--seed", str(args.seed), "--json"]
        done = subprocess.run([str(REPO / "scripts" / "with_postgres.sh"), *argv],
                              capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])["postgresql"]
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    built = load(url, args.needs, args.seed)
    return {"build": built, "views": measure(url, args.runs)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--needs", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--sqlite-path", default=None,
                        help="SQLite file to build once and reuse (default: a temporary one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = {"needs": args.needs, "runs": args.runs}
    if args.backend in ("sqlite", "both"):
        result["sqlite"] = run_sqlite(args)
        if not args.json:
            _show("SQLite", result["sqlite"], 1000)
    if args.backend in ("postgresql", "both"):
        result["postgresql"] = run_postgres(args)
        if not args.json:
            _show("PostgreSQL", result["postgresql"], 500)
    if args.json:
        print(json.dumps(result))
    return 0


def _show(name: str, result: dict, target_ms: float) -> None:
    print(f"{name}: build {result['build']}")
    width = max(len(v) for v in result["views"])
    worst = max(v["p95_ms"] for v in result["views"].values())
    for view, figures in result["views"].items():
        print(f"  {view.ljust(width)}  p50 {figures['p50_ms']:8.1f} ms  p95 "
              f"{figures['p95_ms']:8.1f} ms")
    print(f"  worst p95 {worst:.1f} ms (target < {target_ms:.0f} ms): "
          f"{'met' if worst < target_ms else 'NOT met'}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
