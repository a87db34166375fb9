"""``python -m propensity train | evaluate | score | score-all | promote | rollback | list |
benchmark | convert-retail``."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

from bot.settings import REPO_ROOT

logger = logging.getLogger(__name__)
DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"


def _dates(text: str | None):
    if not text:
        return None
    import pandas as pd

    return [pd.Timestamp(t.strip()) for t in text.split(",") if t.strip()]


def _source_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--transactions", type=Path, help="transaction-log CSV (contract in ../shared/DESIGN.md)")
    g.add_argument("--database-url", help="shop DB (default: DATABASE_URL or var/shop.db)")


def _window_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--test-cutoff", help="YYYY-MM-DD (default: last fully observed window)")
    p.add_argument("--train-cutoffs", help="D1,D2,... (default: 4 cutoffs one horizon apart)")
    p.add_argument("--horizon-days", type=int, default=30)


@contextmanager
def _engine(args):
    """An engine on the shop DB the arguments name (default: DATABASE_URL or var/shop.db),
    disposed of when the command is done with it."""
    from bot.settings import Settings
    from bot.store.db import make_engine

    engine = make_engine(args.database_url or Settings.from_env().database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _load(args):
    """(events, needs, catalogue, source description)."""
    from propensity.data import read_transactions

    if getattr(args, "transactions", None):
        return read_transactions(args.transactions), None, None, {
            "kind": "transactions", "description": f"transaction log {args.transactions.name}"}
    from propensity.history import (
        load_catalogue_categories,
        load_events_from_db,
        load_needs_from_db,
    )

    with _engine(args) as engine:
        safe = engine.url.render_as_string(hide_password=True)
        return (load_events_from_db(engine), load_needs_from_db(engine),
                load_catalogue_categories(engine),
                {"kind": "database", "description": f"shop DB {safe}"})


def _print(obj) -> None:
    print(json.dumps(obj, indent=2, default=str))


def cmd_train(args) -> int:
    from propensity.registry import Registry
    from propensity.train import train_and_register

    events, needs, catalogue, source = _load(args)
    if not len(events):
        print("no events to train on (is the demo data built? `python -m bot demo-data`)",
              file=sys.stderr)
        return 2
    test = _dates(args.test_cutoff)
    result = train_and_register(
        events, registry=Registry(args.registry), source=source,
        train_cutoffs=_dates(args.train_cutoffs), test_cutoff=test[0] if test else None,
        horizon_days=args.horizon_days, needs=needs, catalogue=catalogue,
        promote=not args.no_promote)
    _print(result)
    return 0


def cmd_evaluate(args) -> int:
    from propensity.model import PropensityModel
    from propensity.registry import Registry
    from propensity.train import evaluate_model, rolling_cutoffs

    reg = Registry(args.registry)
    version = args.version or reg.current()
    if version is None:
        print("no model version given and none is current", file=sys.stderr)
        return 2
    events, needs, catalogue, _ = _load(args)
    test = _dates(args.test_cutoff)
    cutoff = test[0] if test else rolling_cutoffs(events, args.horizon_days)[1]
    m = evaluate_model(PropensityModel.load(reg.path(version)), events, cutoff,
                       horizon_days=args.horizon_days, needs=needs, catalogue=catalogue)
    _print({"version": version, "test_cutoff": str(cutoff.date()), "metrics": m})
    return 0


def cmd_score(args) -> int:
    from propensity.registry import Registry
    from propensity.scoring import PropensityService
    from propensity.serve import Score

    now = dt.datetime.fromisoformat(args.now) if args.now else None
    with _engine(args) as engine:
        res = PropensityService(engine, Registry(args.registry)).score_customer(args.customer, now)
    if isinstance(res, Score):
        _print({"customer_id": res.customer_id, "probability": round(res.probability, 4),
                "band": res.band, "model_version": res.model_version, "reasons": res.reason_texts})
    else:
        _print({"customer_id": res.customer_id, "score": None, "reason": res.reason,
                "model_version": res.model_version})
    return 0


def cmd_score_all(args) -> int:
    from propensity.registry import Registry
    from propensity.scoring import PropensityService

    with _engine(args) as engine:
        service = PropensityService(engine, Registry(args.registry))
        if service.current() is None:
            print("no current model; run `python -m propensity train`", file=sys.stderr)
            return 2
        df = service.score_all()
    from bot.csvsafe import safe_frame

    df = safe_frame(df)  # a staff export: formula-safe cells (numbers stay numbers)
    if args.output:
        df.to_csv(args.output, index=False)
        print(f"{len(df)} customers scored -> {args.output}")
    else:
        df.to_csv(sys.stdout, index=False)
    return 0


def cmd_promote(args) -> int:
    from propensity.model import PropensityModel
    from propensity.registry import PromotionRefused, Registry
    from propensity.train import evaluate_model

    reg = Registry(args.registry)

    def evaluate_current(cur, cand_meta):
        if not (args.transactions or args.database_url):
            raise PromotionRefused(
                f"current {cur} has no metrics on {cand_meta['test_cutoff']} of this data; pass "
                "--transactions or --database-url with the candidate's data to compare")
        events, needs, catalogue, _ = _load(args)
        from propensity.data import fingerprint

        if fingerprint(events) != cand_meta["data_fingerprint"]:
            raise PromotionRefused("the data given is not the data the candidate was tested on")
        return evaluate_model(PropensityModel.load(reg.path(cur)), events, cand_meta["test_cutoff"],
                              horizon_days=cand_meta["horizon_days"], needs=needs,
                              catalogue=catalogue)

    try:
        _print(reg.promote(args.version, evaluate_current=evaluate_current,
                           auc_tolerance=args.tolerance))
    except PromotionRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_rollback(args) -> int:
    from propensity.registry import Registry, RegistryError

    try:
        print(Registry(args.registry).rollback())
    except RegistryError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


def cmd_list(args) -> int:
    from propensity.registry import Registry

    reg = Registry(args.registry)
    cur = reg.current()
    for v in reg.versions():
        m = reg.meta(v)
        auc = m.get("metrics", {}).get("mlp", {}).get("roc_auc")
        print(f"{'*' if v == cur else ' '} {v}  test {m.get('test_cutoff')}  ROC-AUC {auc:.4f}")
    return 0


def cmd_benchmark(args) -> int:
    import time

    if args.table:
        from propensity.tabular import benchmark_table

        out = benchmark_table(args.table, args.label, seed=args.seed)
    else:
        import pandas as pd

        from propensity.data import read_transactions
        from propensity.model import MLPConfig
        from propensity.train import benchmark_json, default_train_cutoffs, run_experiment

        if not args.transactions or not args.test_cutoff:
            print("benchmark needs --transactions FILE --test-cutoff DATE (or --table FILE)",
                  file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        events = read_transactions(args.transactions)
        t_read = time.perf_counter() - t0
        test = pd.Timestamp(args.test_cutoff)
        train = _dates(args.train_cutoffs) or default_train_cutoffs(test, args.horizon_days)
        exp = run_experiment(events, train, test, horizon_days=args.horizon_days,
                             config=MLPConfig(seed=args.seed))
        out = benchmark_json(exp)
        out["seconds"]["read"] = round(t_read, 3)
        if args.report:
            from propensity.report import write_report

            write_report(args.report, title="Purchase propensity benchmark", metrics=exp.metrics,
                         y=exp.test_y, scores=exp.test_scores, context={
                             "transactions": args.transactions.name,
                             "training cutoffs": ", ".join(str(c.date()) for c in exp.train_cutoffs),
                             "test cutoff": str(test.date()), "horizon": f"{args.horizon_days} days",
                             "rows": exp.rows})
    if args.json:
        print(json.dumps(out))
    else:
        print(f"rows {out['rows']}  positive rate {out['positive_rate']:.3f}")
        for name, m in out["models"].items():
            print(f"  {name:8s} ROC-AUC {m['roc_auc']:.4f}  PR-AUC {m['pr_auc']:.4f}  "
                  f"Brier {m['brier']:.4f}")
        print(f"  seconds {out['seconds']}")
    return 0


def cmd_convert_retail(args) -> int:
    from propensity.data import convert_online_retail

    src = args.input or (args.datasets / "uci_online_retail" / "online_retail.csv.gz")
    stats = convert_online_retail(src, args.output)
    _print({"output": str(args.output), **stats.__dict__})
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m propensity", description=__doc__)
    p.add_argument("--registry", type=Path, default=None,
                   help="model registry folder (default models/propensity)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("train", help="train on the shop DB or a log, register, promote if not worse")
    _source_args(s)
    _window_args(s)
    s.add_argument("--no-promote", action="store_true")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="metrics of a registered version on a cutoff")
    s.add_argument("--version")
    _source_args(s)
    _window_args(s)
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("score", help="score one customer of the shop DB")
    s.add_argument("--customer", required=True)
    s.add_argument("--database-url")
    s.add_argument("--now", help="ISO time to score at (default: now, UTC)")
    s.set_defaults(func=cmd_score)

    s = sub.add_parser("score-all", help="score every customer of the shop DB (CSV)")
    s.add_argument("--database-url")
    s.add_argument("--output", type=Path)
    s.set_defaults(func=cmd_score_all)

    s = sub.add_parser("promote", help="make a version current if it is not worse")
    s.add_argument("version")
    s.add_argument("--tolerance", type=float, default=0.005, help="allowed ROC-AUC drop")
    _source_args(s)
    s.set_defaults(func=cmd_promote)

    s = sub.add_parser("rollback", help="restore the previous current version")
    s.set_defaults(func=cmd_rollback)

    s = sub.add_parser("list", help="registered versions (* = current)")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("benchmark", help="MLP vs baselines on a transaction log or a table")
    s.add_argument("--transactions", type=Path)
    s.add_argument("--test-cutoff")
    s.add_argument("--train-cutoffs")
    s.add_argument("--horizon-days", type=int, default=30)
    s.add_argument("--table", type=Path, help="labelled CSV, one row per example")
    s.add_argument("--label", default="Revenue")
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--report", type=Path, help="also write a Markdown report with plots here")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_benchmark)

    s = sub.add_parser("convert-retail", help="UCI Online Retail -> transaction contract CSV")
    s.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    s.add_argument("--input", type=Path)
    s.add_argument("--output", type=Path, default=REPO_ROOT / "var" / "propensity" / "online_retail.csv")
    s.set_defaults(func=cmd_convert_retail)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from propensity.data import TransactionFileError

    try:
        return args.func(args)
    except (TransactionFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
