"""``python -m bot needs ...``: extract, evaluate, list, import, follow, reconcile, outbox,
train, build-data."""
from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

from bot.csvsafe import write_dicts
from bot.store.models import NEED_STATUSES

# What ``needs list --status`` accepts: each status, any unmet reason, converted.
LIST_STATUSES = NEED_STATUSES + ("unmet", "converted")


def register(subparsers) -> None:
    needs = subparsers.add_parser("needs", help="product need extraction and the needs log")
    sub = needs.add_subparsers(dest="needs_command", metavar="ACTION", required=True)

    extract = sub.add_parser("extract", help="extract needs from --text or an --input JSONL")
    source = extract.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help='JSONL lines {"id": ..., "text": ...}')
    source.add_argument("--text", help="one message")
    extract.add_argument("--model", type=Path, help="trained model dir (default models/needs)")
    extract.set_defaults(handler=_extract)

    evaluate = sub.add_parser("evaluate", help="per-field precision/recall/F1 on a gold JSONL")
    evaluate.add_argument("--gold", type=Path, required=True)
    evaluate.add_argument("--model", type=Path)
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument("--errors", action="store_true", help="also list every mismatch")
    evaluate.set_defaults(handler=_evaluate)

    listing = sub.add_parser("list", help="needs from the log")
    listing.add_argument("--since", help="YYYY-MM-DD (created on or after)")
    listing.add_argument("--status", choices=LIST_STATUSES,
                         help="a status, 'unmet' (any reason) or 'converted' (a later order "
                              "fulfilled it)")
    listing.add_argument("--format", choices=("csv", "json"), default="csv")
    listing.add_argument("--database-url", help="default: DATABASE_URL or var/shop.db")
    listing.set_defaults(handler=_list)

    importing = sub.add_parser(
        "import", help="extract, match and log the needs of a JSONL log of shoppers' messages")
    importing.add_argument("--input", required=True, metavar="FILE.jsonl",
                           help='lines {"id": ..., "created_at": ISO-8601, "text": ...'
                                '[, "customer_id": ...]}; - reads standard input')
    importing.add_argument("--database-url", help="default: DATABASE_URL or var/shop.db")
    importing.add_argument("--model", type=Path)
    importing.add_argument("--batch-size", type=int, default=500,
                           help="messages per extraction batch and transaction (default 500)")
    importing.set_defaults(handler=_import)

    reconcile = sub.add_parser(
        "reconcile", help="record the later orders that fulfilled logged needs (converted)")
    reconcile.add_argument("--database-url", help="default: DATABASE_URL or var/shop.db")
    reconcile.set_defaults(handler=_reconcile)

    follow = sub.add_parser(
        "follow", help="capture needs stated in any chat turn from Rasa's SQL tracker store")
    follow.add_argument("--tracker-url",
                        help="SQLAlchemy URL of the tracker store (default: from endpoints.yml)")
    follow.add_argument("--database-url", help="default: DATABASE_URL or var/shop.db")
    follow.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    follow.add_argument("--once", action="store_true",
                        help="process what is there, print a summary and exit")
    follow.add_argument("--from-end", action="store_true",
                        help="without a checkpoint, start after the newest event (no backfill)")
    follow.add_argument("--model", type=Path)
    follow.set_defaults(handler=_follow)

    outbox = sub.add_parser("outbox", help="the needs queued while the shop database was down")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    drain = outbox_sub.add_parser("drain", help="import the queued needs now (the action "
                                                "server does it every few seconds)")
    status = outbox_sub.add_parser("status", help="how many needs wait and how many lines are "
                                                  "quarantined")
    for parser, handler in ((drain, _outbox_drain), (status, _outbox_status)):
        parser.add_argument("--database-url", help="default: DATABASE_URL or var/shop.db")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.set_defaults(handler=handler)

    train = sub.add_parser("train", help="build the need NER from bot/needs/data")
    train.add_argument("--if-stale", action="store_true",
                       help="skip when the model's stamp matches the data and config hash")
    train.set_defaults(handler=_train)

    build = sub.add_parser("build-data", help="regenerate the gold JSONL files from messages.txt "
                                              "and the conversation files")
    build.set_defaults(handler=_build_data)


def _extractor(args):
    """The process's extractor, or the pipeline in ``--model``."""
    if not args.model:
        return args.services.extractor
    from bot.needs.pipeline import NeedExtractor

    return NeedExtractor(args.model)


def _read_input(path: Path) -> list[dict]:
    records = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: expected an object")
            records.append(record)
    return records


def _extract(args) -> int:
    extractor = _extractor(args)
    records = [{"id": None, "text": args.text}] if args.text is not None else _read_input(args.input)
    texts = [r.get("text") if isinstance(r.get("text"), str) else "" for r in records]
    out = sys.stdout
    for record, needs in zip(records, extractor.extract_many(texts)):
        out.write(json.dumps({"id": record.get("id"), "needs": [n.to_dict() for n in needs]},
                             ensure_ascii=False) + "\n")
    return 0


def _evaluate(args) -> int:
    from bot.needs.evaluate import format_table, score, score_conversations

    records = _read_input(args.gold)
    extractor = _extractor(args)
    texts = [r.get("text") if isinstance(r.get("text"), str) else "" for r in records]
    predictions = [[n.to_dict() for n in needs] for needs in extractor.extract_many(texts)]
    report = score(records, predictions)
    states = score_conversations(records, predictions)
    if args.json:
        data = report.as_dict()
        data["extractor_version"] = extractor.version
        if states is not None:
            data["open_need_after_each_turn"] = {
                "turns": states.messages, "fields": states.as_dict()["fields"],
                "micro": states.micro.as_dict()}
        if args.errors:
            data["errors"] = report.errors
        print(json.dumps(data, indent=2))
    else:
        print(f"gold: {args.gold}  extractor: {extractor.version}")
        print(format_table(report))
        if states is not None:
            micro = states.micro
            print(f"open need after each turn (the turns merged as the chat merges them): "
                  f"P {micro.precision:.3f} R {micro.recall:.3f} F1 {micro.f1:.3f} "
                  f"over {states.messages} turns")
        if args.errors:
            for error in report.errors:
                print(json.dumps(error, ensure_ascii=False))
    return 0


_LIST_COLUMNS = ("id", "conversation_id", "need_seq", "customer_id", "turn", "text", "product",
                 "category", "attributes", "colour", "size", "brand", "price_min", "price_max",
                 "currency", "quantity", "recipient", "occasion", "needed_by", "confidence",
                 "matched_product_ids", "status", "converted_order_id", "converted_at",
                 "back_in_stock_requested_at", "back_in_stock_notified_at", "is_demo",
                 "source_id", "extractor_version", "created_at", "updated_at")


def _list(args) -> int:
    from sqlalchemy import select

    from bot.store.db import session_scope
    from bot.store.models import Need

    query = select(Need).order_by(Need.created_at, Need.id)
    if args.since:
        query = query.where(Need.created_at >= datetime.fromisoformat(args.since))
    if args.status == "unmet":
        query = query.where(Need.status.like("unmet:%"))
    elif args.status == "converted":
        query = query.where(Need.converted_at.isnot(None))
    elif args.status:
        query = query.where(Need.status == args.status)
    with session_scope(args.services.engine) as session:
        rows = [{c: _plain(getattr(n, c)) for c in _LIST_COLUMNS}
                for n in session.execute(query).scalars()]
    if args.format == "json":
        for row in rows:
            for key in ("attributes", "colour", "size", "matched_product_ids"):
                row[key] = json.loads(row[key] or "[]")
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        write_dicts(sys.stdout, _LIST_COLUMNS, rows)  # formula-safe: shoppers' text
    return 0


def _import(args) -> int:
    from bot.needs.importer import import_lines, read_lines

    if args.input != "-" and not Path(args.input).is_file():
        print(f"needs import: no such file: {args.input}", file=sys.stderr)
        return 2
    if not 1 <= args.batch_size <= 10_000:
        print("needs import: --batch-size must be between 1 and 10000", file=sys.stderr)
        return 2
    services = args.services

    def report(bad) -> None:
        print(f"{args.input}: {bad}", file=sys.stderr, flush=True)

    try:
        stats = import_lines(services.engine, _extractor(args), read_lines(args.input),
                             now=services.now(), batch_size=args.batch_size, on_error=report)
    except OSError as err:
        print(f"needs import: cannot read {args.input}: {err.strerror or err}", file=sys.stderr)
        return 2
    print(json.dumps(stats.as_dict()))
    return 0


def _reconcile(args) -> int:
    from bot.needs.reconcile import mark_converted
    from bot.store.db import session_scope

    with session_scope(args.services.engine) as session:
        converted = mark_converted(session, args.services.now())
    print(f"needs converted: {converted}")
    return 0


def _follow(args) -> int:
    import signal
    import threading

    from bot.needs.follow import NeedFollower, NotASqlTrackerStore, source_name, \
        tracker_engine, tracker_url_from_endpoints
    services = args.services
    stop = threading.Event()
    if not args.once:  # Ctrl-C / TERM (scripts/run.sh) stop the loop after the current event
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    try:
        tracker_url = args.tracker_url or tracker_url_from_endpoints()
    except NotASqlTrackerStore as err:
        # Not fatal for the other services `make run` started beside this one: say so and idle.
        print(f"needs follower: {err}; not following (pass --tracker-url)", file=sys.stderr,
              flush=True)
        if not args.once:
            stop.wait()
        return 0
    tracker = tracker_engine(tracker_url)
    follower = NeedFollower(tracker, services.engine, source=source_name(tracker_url),
                            extractor=_extractor(args), outbox=services.outbox,
                            start_at_end=args.from_end)
    try:
        if args.once:
            while follower.poll_once():
                pass
            stats = follower.stats
            print(f"events: {stats.events}, with needs: {stats.captured}, captured in chat: "
                  f"{stats.handled_in_chat}, malformed: {stats.malformed}, failed: "
                  f"{stats.failed}, queued: {stats.queued}; checkpoint {follower.checkpoint}")
            return 0
        print(f"needs follower: following {source_name(tracker_url)} every {args.interval}s "
              f"({follower.extractor.version})", flush=True)
        follower.run(stop, interval=args.interval)
        print(f"needs follower stopped at event {follower.checkpoint}", flush=True)
        return 0
    finally:
        tracker.dispose()


def _outbox_status(args) -> int:
    outbox = args.services.outbox
    status = {"outbox": str(outbox.path), **outbox.status(),
              "quarantine_file": str(outbox.quarantine_path)}
    if args.json:
        print(json.dumps(status))
    else:
        print(f"pending: {status['pending']} (in {status['segments']} segments being drained "
              f"and the outbox), quarantined: {status['quarantined']} "
              f"({status['unreported']} not yet reported); {status['outbox']}")
    return 0


def _outbox_drain(args) -> int:
    from bot.needs.service import drain_outbox

    services = args.services
    result = drain_outbox(services.engine, services.outbox, breaker=services.breaker)
    left = services.outbox.status()
    summary = {"imported": result.imported, "quarantined": result.quarantined,
               "busy": result.busy, "stopped": result.stopped, "pending": left["pending"]}
    if args.json:
        print(json.dumps(summary))
    elif result.busy:
        print("another drain is running; nothing done")
    else:
        print(f"imported: {result.imported}, quarantined: {result.quarantined}, still pending: "
              f"{left['pending']}" + (f" (stopped: {result.stopped})" if result.stopped else ""))
    return 1 if result.stopped else 0


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is not None and type(value).__name__ == "Decimal":
        return float(value)
    return value


def _train(args) -> int:
    from bot.needs.train import is_stale, model_dir, train

    if args.if_stale and not is_stale():
        print(f"need model up to date: {model_dir()}")
        return 0
    path = train(force=True)
    print(f"need model written to {path}")
    return 0


def _build_data(args) -> int:
    from bot.needs.annotations import build_conversation_files, build_gold_files

    n_train, n_test = build_gold_files()
    print(f"train: {n_train} messages, test: {n_test} messages")
    for name, turns in build_conversation_files().items():
        print(f"{name}: {turns} turns")
    return 0


def main(argv=None) -> int:  # pragma: no cover - `python -m bot` is the entry point
    from bot.cli import main as bot_main

    return bot_main(["needs", *(argv if argv is not None else sys.argv[1:])])


__all__ = ["register", "main"]
