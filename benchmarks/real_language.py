"""How well does the trained assistant understand language nobody here wrote? Support requests and needs.

Three measurements, each printed as a table (or one JSON object with --json):

1. **Bitext dev split** (`../shared/datasets/bitext_support_dev/dev.csv`, 405 customer-service
   requests, 15 for each of 27 topics). Every message is parsed in-process by the trained model
   (default `models/shop.tar.gz`; `--model`) and its topic mapped to our intents (`BITEXT_MAP`
   below, documented in docs/nlu.md). Reported: accuracy as the bot answers (with the
   FallbackClassifier: a fallback counts as not right) and of the classifier's top intent without
   the threshold, the fallback rate, the wrong-answer rate, recall per topic, the most frequent
   confusion pairs, and accuracy / fallback / wrong per threshold recomputed from the rankings
   (how the threshold in config.yml was chosen: right minus wrong answers). The split is for
   measuring and tuning only: no sentence of it goes into training data
   (`tests/nlu/test_dev_split_not_trained.py`). `--errors` lists the misunderstood messages: use it
   to see *which topics* fail, never to copy wording into nlu_data.
2. **HINT3 v1** (`benchmarks/hint3.py`'s functions): throwaway NLU-only models with our
   config.yml pipeline trained on each HINT3 train file, scored on its test file (`--hint3 none`
   skips the two trainings, a few minutes on the shared machine).
3. **Need extraction on conversational language**, when the gold file exists (default
   `bot/needs/data/conversational_test.jsonl`; `--needs-gold`). Lines have the gold format of
   `../shared/examples/needs_examples.jsonl` (`{"id", "text", "gold": {...}}`), optionally
   `"conversation"` (lines of one conversation are given to the extractor in file order, with the
   earlier texts of that conversation) and `"turn"`. Reported: micro precision / recall / F1 over
   the need fields (`bot.needs.evaluate`) and the share of no-need lines given no need at all.

4. **Stated needs reach the product search**: every line of our own held-out need sets
   (`bot/needs/data/test.jsonl` and the conversational set; `--intent-gold`, neither is NLU
   training data) whose gold names a product is parsed by the trained model, which should answer
   `product_search`: the share that does, as answered and as the top intent, and where the rest go.
   The Bitext split has no shopping topic, so without this a change tuned on it could lose the
   bot's other half (it did once: docs/nlu.md).

Plus the in-process NLU parse speed: messages per second over the dev texts after a warm-up, in
wall-clock and this process's CPU time (the machine is shared; its load average is printed).

    .venv/bin/python benchmarks/real_language.py [--model models/shop.tar.gz] [--hint3 v1|none]
        [--needs-gold FILE] [--speed-against OTHER_MODEL] [--errors] [--json]
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterable, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO_ROOT))

import hint3  # noqa: E402  (benchmarks/hint3.py: HINT3 files, scoring and throwaway models)

DEFAULT_DEV = REPO_ROOT.parent / "shared" / "datasets" / "bitext_support_dev" / "dev.csv"
DEFAULT_MODEL = REPO_ROOT / "models" / "shop.tar.gz"
DEFAULT_NEEDS_GOLD = REPO_ROOT / "bot" / "needs" / "data" / "conversational_test.jsonl"
DEFAULT_INTENT_GOLD = (REPO_ROOT / "bot" / "needs" / "data" / "test.jsonl", DEFAULT_NEEDS_GOLD)
PRODUCT_SEARCH = "product_search"
FALLBACK = hint3.FALLBACK_INTENT
# Thresholds of the sweep (the FallbackClassifier's `threshold`).
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(2, 19))
AMBIGUITIES = (0.0, 0.05, 0.1)

# Bitext topic -> the intents of ours that answer it, the one our data teaches first.
# A second intent is accepted only where our bot gives that topic the answer it needs through
# another door (docs/nlu.md, "The dev split and how its topics map to ours"):
# - contact_customer_service ("how do I reach customer service", "I want customer service"):
#   contact_info gives the channels and hours and offers a person; human_handoff brings one.
# - set_up_shipping_address ("I need to add a new delivery address"): an address kept in the
#   account is edit_account's answer (Your account > Details); for an order placed it is
#   change_shipping_address.
BITEXT_MAP = MappingProxyType({
    "cancel_order": ("cancel_order",),
    "change_order": ("change_order",),
    "change_shipping_address": ("change_shipping_address",),
    "check_cancellation_fee": ("cancellation_fee",),
    "check_invoice": ("get_invoice",),
    "check_payment_methods": ("payment_methods",),
    "check_refund_policy": ("refund_policy",),
    "complaint": ("complaint",),
    "contact_customer_service": ("contact_info", "human_handoff"),
    "contact_human_agent": ("human_handoff",),
    "create_account": ("create_account",),
    "delete_account": ("delete_account",),
    "delivery_options": ("delivery_options",),
    "delivery_period": ("delivery_period",),
    "edit_account": ("edit_account",),
    "get_invoice": ("get_invoice",),
    "get_refund": ("request_refund",),
    "newsletter_subscription": ("newsletter_subscription",),
    "payment_issue": ("payment_issue",),
    "place_order": ("place_order",),
    "recover_password": ("recover_password",),
    "registration_problems": ("registration_problems",),
    "review": ("leave_review",),
    "set_up_shipping_address": ("edit_account", "change_shipping_address"),
    "switch_account": ("switch_account",),
    "track_order": ("track_order",),
    "track_refund": ("track_refund",),
})

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DevRow:
    text: str
    topic: str  # the source's intent name


# ---------------------------------------------------------------------------------------- data


def read_dev(path: Path) -> list[DevRow]:
    """Rows of the dev split (`text,bitext_intent`); blank rows skipped."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"text", "bitext_intent"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        rows = []
        for row in reader:
            text = " ".join((row["text"] or "").split())
            topic = (row["bitext_intent"] or "").strip()
            if text and topic:
                rows.append(DevRow(text, topic))
    return rows


def accepted(topic: str, mapping=BITEXT_MAP) -> tuple[str, ...]:
    """Our intents that answer the topic; () when unmapped (such rows are excluded, counted)."""
    return tuple(mapping.get(topic, ()))


# ------------------------------------------------------------------------------------- scoring


def top_intent(prediction: hint3.Prediction) -> str:
    """The classifier's best intent, ignoring the fallback threshold."""
    return prediction.ranking[0][0] if prediction.ranking else FALLBACK


def score_dev(rows: Sequence[DevRow], predictions: Sequence[hint3.Prediction],
              mapping=BITEXT_MAP, top_confusions: int | None = None) -> dict:
    """Accuracy with the bot's own fallback and without it, per-topic recall, confusions.

    ``predictions[i].intent`` is what the bot answers (FallbackClassifier applied); the ranking
    holds the classifier's intents before the fallback step.
    """
    if len(rows) != len(predictions):
        raise ValueError("rows and predictions differ in length")
    excluded = Counter(row.topic for row in rows if not accepted(row.topic, mapping))
    scored = [(row, p) for row, p in zip(rows, predictions) if accepted(row.topic, mapping)]
    n = len(scored)
    right = wrong = fell_back = right_top = right_strict = 0
    per_topic: dict[str, Counter] = defaultdict(Counter)
    confusions: Counter = Counter()
    for row, prediction in scored:
        ours = accepted(row.topic, mapping)
        answered, top = prediction.intent, top_intent(prediction)
        topic = per_topic[row.topic]
        topic["n"] += 1
        if answered == FALLBACK:
            fell_back += 1
            topic["fallback"] += 1
        elif answered in ours:
            right += 1
            topic["right"] += 1
            right_strict += answered == ours[0]
        else:
            wrong += 1
        if top in ours:
            right_top += 1
            topic["right_top"] += 1
        else:
            confusions[(ours[0], top)] += 1

    def rate(count: int) -> float | None:
        return round(count / n, 4) if n else None

    return {
        "rows": len(rows),
        "scored": n,
        "excluded_unmapped": dict(excluded),
        "accuracy": rate(right),
        "accuracy_first_intent_only": rate(right_strict),
        "accuracy_without_threshold": rate(right_top),
        "fallback_rate": rate(fell_back),
        "wrong_rate": rate(wrong),
        "per_topic": {
            name: {
                "ours": list(accepted(name, mapping)),
                "n": c["n"],
                "recall": round(c["right"] / c["n"], 4),
                "recall_without_threshold": round(c["right_top"] / c["n"], 4),
                "fallback": c["fallback"],
            }
            for name, c in sorted(per_topic.items())
        },
        "top_confusions": [  # most frequent first; all of them unless top_confusions says
            {"expected": expected, "predicted": predicted, "count": count}
            for (expected, predicted), count in confusions.most_common(top_confusions)
        ],
    }


def sweep_dev(rows: Sequence[DevRow], predictions: Sequence[hint3.Prediction], ambiguity: float,
              thresholds: Iterable[float] = THRESHOLDS, mapping=BITEXT_MAP) -> list[dict]:
    """Right / wrong / fallback rates per threshold, recomputed from the rankings.

    ``net`` is right minus wrong answers as a share of the scored rows: the threshold chosen
    for config.yml maximises it (a wrong answer costs as much as a right one gains; a fallback
    costs nothing but asks the shopper again).
    """
    scored = [(row, p) for row, p in zip(rows, predictions) if accepted(row.topic, mapping)]
    out = []
    for threshold in thresholds:
        right = wrong = fallback = 0
        for row, prediction in scored:
            answered = hint3.apply_fallback(prediction.ranking, threshold, ambiguity)
            if answered == FALLBACK:
                fallback += 1
            elif answered in accepted(row.topic, mapping):
                right += 1
            else:
                wrong += 1
        n = len(scored) or 1
        out.append({"threshold": threshold, "accuracy": round(right / n, 4),
                    "fallback_rate": round(fallback / n, 4), "wrong_rate": round(wrong / n, 4),
                    "net": round((right - wrong) / n, 4)})
    return out


def best_threshold(sweep: Sequence[dict]) -> float:
    """The threshold with the highest right-minus-wrong; on a tie the one with fewer wrong
    answers (a wrong answer costs the shopper more than a "did you mean")."""
    return max(sweep, key=lambda r: (r["net"], -r["wrong_rate"], -r["threshold"]))["threshold"]


def errors(rows: Sequence[DevRow], predictions: Sequence[hint3.Prediction],
           mapping=BITEXT_MAP) -> list[dict]:
    """Messages the bot did not answer right (for diagnosis, never for training data)."""
    out = []
    for row, prediction in zip(rows, predictions):
        ours = accepted(row.topic, mapping)
        if ours and prediction.intent not in ours:
            out.append({"topic": row.topic, "expected": ours[0], "answered": prediction.intent,
                        "top": top_intent(prediction),
                        "confidence": round(prediction.ranking[0][1], 3)
                        if prediction.ranking else 0.0,
                        "text": row.text})
    return out


# ---------------------------------------------------------------------------------- the model


def load_agent(model: Path):
    from rasa.core.agent import Agent

    return Agent.load(str(model))


def parse(agent, texts: Sequence[str]) -> tuple[list[hint3.Prediction], float, float]:
    """(predictions, wall seconds, CPU seconds) for parsing ``texts`` one by one in-process."""

    async def parse_all() -> list[hint3.Prediction]:
        out = []
        for text in texts:
            parsed = await agent.parse_message(text)
            ranking = tuple(
                (item["name"], float(item["confidence"]))
                for item in parsed.get("intent_ranking") or []
                if item.get("name") != FALLBACK
            )
            out.append(hint3.Prediction(parsed["intent"]["name"], ranking))
        return out

    started, cpu_started = time.perf_counter(), time.process_time()
    predictions = asyncio.run(parse_all())
    return predictions, time.perf_counter() - started, time.process_time() - cpu_started


def model_fallback(agent) -> tuple[float, float] | None:
    """(threshold, ambiguity) of the FallbackClassifier inside the loaded model, if any."""
    schema = agent.processor.model_metadata.predict_schema
    for node in schema.nodes.values():
        if getattr(node.uses, "__name__", "") == "FallbackClassifier":
            return (float(node.config.get("threshold", 0.3)),
                    float(node.config.get("ambiguity_threshold", 0.1)))
    return None


def speed(agent, texts: Sequence[str], rounds: int) -> dict:
    """Messages per second over ``texts``, ``rounds`` times after a warm-up; median round."""
    parse(agent, texts[:20])
    wall, cpu = [], []
    for _ in range(rounds):
        _, seconds, cpu_seconds = parse(agent, texts)
        wall.append(len(texts) / seconds)
        cpu.append(len(texts) / cpu_seconds if cpu_seconds else float("inf"))
    return {"messages": len(texts), "rounds": rounds,
            "msg_per_s": round(statistics.median(wall), 1),
            "cpu_msg_per_s": round(statistics.median(cpu), 1),
            "load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}


def speed_against(agents: dict, texts: Sequence[str], rounds: int) -> dict:
    """Parse speed of several models, their rounds interleaved (A B, B A, A B...) so that what
    else runs on a shared machine falls on all alike; median msg/s wall-clock and per CPU-second."""
    for agent in agents.values():
        parse(agent, texts[:20])
    wall: dict = {name: [] for name in agents}
    cpu: dict = {name: [] for name in agents}
    order = list(agents)
    for round_ in range(rounds):
        for name in (order if round_ % 2 == 0 else order[::-1]):
            _, seconds, cpu_seconds = parse(agents[name], texts)
            wall[name].append(len(texts) / seconds)
            cpu[name].append(len(texts) / cpu_seconds if cpu_seconds else float("inf"))
    return {name: {"msg_per_s": round(statistics.median(wall[name]), 1),
                   "cpu_msg_per_s": round(statistics.median(cpu[name]), 1),
                   "rounds": [round(v, 1) for v in wall[name]]} for name in agents} | {
        "load_average_1m": round(os.getloadavg()[0], 2), "messages": len(texts)}


# ------------------------------------------------------------------------------ need extraction

# (text, earlier texts of the same conversation) -> list of NEED dicts
NeedFunction = Callable[[str, Sequence[str]], list]


def read_needs_gold(path: Path) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if not isinstance(record, dict) or "text" not in record or "gold" not in record:
                raise ValueError(f"{path}:{number}: a line needs 'text' and 'gold'")
            records.append(record)
    return records


def extract_in_order(records: Sequence[dict], extract: NeedFunction) -> list[list]:
    """Each line's needs, lines of one conversation given in file order with their history."""
    history: dict[str, list[str]] = defaultdict(list)
    out = []
    for index, record in enumerate(records):
        conversation = str(record.get("conversation", f"line-{index}"))
        out.append(list(extract(record["text"], tuple(history[conversation]))))
        history[conversation].append(record["text"])
    return out


def score_needs(records: Sequence[dict], predictions: Sequence[list]) -> dict:
    """Micro P/R/F1 over the need fields and the share of no-need lines given no need; and,
    where ``bot.needs.evaluate`` replays conversations (``score_conversations``), the same for
    the open need after each turn."""
    from bot.needs import evaluate

    report = evaluate.score(list(records), [list(p) for p in predictions])
    result = report.as_dict()
    out = {"lines": report.messages,
           "conversations": len({r.get("conversation") for r in records
                                 if r.get("conversation") is not None}),
           "micro": result["micro"], "no_need": result["no_need"], "fields": result["fields"]}
    replay = getattr(evaluate, "score_conversations", None)
    if replay is not None:
        open_needs = replay(list(records), [list(p) for p in predictions])
        if open_needs is not None:
            out["open_need_micro"] = open_needs.as_dict()["micro"]
    return out


def default_need_function(model: Path | None = None) -> NeedFunction:
    """The need extractor as the contract's `needs extract` runs it: one message at a time."""
    from bot.needs.pipeline import NeedExtractor

    extractor = NeedExtractor(model) if model else NeedExtractor()

    def extract(text: str, history: Sequence[str]) -> list:
        return [need.to_dict() for need in extractor.extract(text)]

    return extract


# ------------------------------------------------------------------------------------- output


def fmt(value) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def format_dev(result: dict, sweep: Sequence[dict], threshold: float, ambiguity: float) -> str:
    lines = [
        f"Bitext dev split: {result['scored']} of {result['rows']} messages scored"
        f" (unmapped, excluded: {sum(result['excluded_unmapped'].values())});"
        f" FallbackClassifier threshold {threshold} (ambiguity {ambiguity})",
        "",
        f"accuracy (as answered, fallback = not right)  {fmt(result['accuracy'])}",
        f"accuracy, first mapped intent only            {fmt(result['accuracy_first_intent_only'])}",
        f"accuracy without the threshold (top intent)   {fmt(result['accuracy_without_threshold'])}",
        f"fallback rate                                 {fmt(result['fallback_rate'])}",
        f"wrong answers                                 {fmt(result['wrong_rate'])}",
        "",
        f"{'topic':<26} {'ours':<40} {'recall':>6} {'no thr':>6} {'fb':>3}",
    ]
    for topic, row in result["per_topic"].items():
        lines.append(f"{topic:<26} {'/'.join(row['ours']):<40} {row['recall']:>6.3f}"
                     f" {row['recall_without_threshold']:>6.3f} {row['fallback']:>3}")
    lines += ["", "top confusions (top intent, no threshold): expected -> predicted"]
    lines += [f"  {c['count']:>3}  {c['expected']} -> {c['predicted']}"
              for c in result["top_confusions"][:12]]
    lines += ["", "by threshold (recomputed from the rankings): accuracy / fallback / wrong / net",
              f"{'thr':>5} {'acc':>6} {'fb':>6} {'wrong':>6} {'net':>6}"]
    lines += [f"{r['threshold']:>5.2f} {r['accuracy']:>6.3f} {r['fallback_rate']:>6.3f}"
              f" {r['wrong_rate']:>6.3f} {r['net']:>6.3f}" for r in sweep]
    lines.append(f"best threshold by right minus wrong: {best_threshold(sweep)}")
    return "\n".join(lines)


def format_ambiguity(by_ambiguity: dict) -> str:
    """Per ambiguity threshold: the best threshold by right minus wrong, and what it gives."""
    lines = ["best threshold per ambiguity threshold (right minus wrong):"]
    for value, sweep in by_ambiguity.items():
        best = next(r for r in sweep if r["threshold"] == best_threshold(sweep))
        lines.append(f"  ambiguity {value}: threshold {best['threshold']:.2f} accuracy"
                     f" {best['accuracy']:.3f} fallback {best['fallback_rate']:.3f} wrong"
                     f" {best['wrong_rate']:.3f} net {best['net']:.3f}")
    return "\n".join(lines)


def stated_need_texts(paths: Iterable[Path]) -> list[str]:
    """The lines of our need gold files whose gold names a product."""
    texts = []
    for path in paths:
        texts += [r["text"] for r in read_needs_gold(path) if r["gold"].get("product")]
    return texts


def score_stated_needs(predictions: Sequence[hint3.Prediction]) -> dict:
    """How many stated needs the bot answers with ``product_search`` (and where the rest go)."""
    answered = Counter(p.intent for p in predictions)
    top = sum(top_intent(p) == PRODUCT_SEARCH for p in predictions)
    total = len(predictions) or 1
    return {"messages": len(predictions),
            "accuracy": round(answered[PRODUCT_SEARCH] / total, 3),
            "top_intent_accuracy": round(top / total, 3),
            "fallback_rate": round(answered[FALLBACK] / total, 3),
            "elsewhere": dict(Counter(p.intent for p in predictions
                                      if p.intent not in (PRODUCT_SEARCH, FALLBACK))
                              .most_common(6))}


def format_stated_needs(result: dict) -> str:
    elsewhere = ", ".join(f"{k} {v}" for k, v in result["elsewhere"].items()) or "none"
    return (f"stated needs answered with product_search: {result['accuracy']:.3f} as answered,"
            f" {result['top_intent_accuracy']:.3f} top intent, fallback"
            f" {result['fallback_rate']:.3f} ({result['messages']} messages of our held-out need"
            f" sets); other intents: {elsewhere}")


def format_speed(result: dict) -> str:
    return (f"NLU parse speed in-process: {result['msg_per_s']} msg/s wall-clock,"
            f" {result['cpu_msg_per_s']} msg/s of this process's CPU time"
            f" (median of {result['rounds']} rounds of {result['messages']} messages;"
            f" load average {result['load_average_1m']} on {result['cpus']} CPUs)")


def format_needs(result: dict | None, path: Path) -> str:
    if result is None:
        return f"need extraction: no conversational gold file at {path} (skipped)"
    micro, no_need = result["micro"], result["no_need"]
    text = (f"need extraction on {path.name}: {result['lines']} lines"
            f" ({result['conversations']} conversations): micro P {micro['precision']:.3f}"
            f" R {micro['recall']:.3f} F1 {micro['f1']:.3f}; no-need lines with no need"
            f" {no_need['correct']}/{no_need['messages']} = {no_need['rate']:.3f}")
    if "open_need_micro" in result:
        text += f"; open need after each turn: micro F1 {result['open_need_micro']['f1']:.3f}"
    return text


# ---------------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "config.yml",
                        help="config whose pipeline HINT3 trains and whose fallback is assumed")
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--datasets", type=Path, default=hint3.DEFAULT_DATASETS)
    parser.add_argument("--hint3", choices=("v1", "v2", "both", "none"), default="v1")
    parser.add_argument("--needs-gold", type=Path, default=DEFAULT_NEEDS_GOLD)
    parser.add_argument("--needs-model", type=Path, help="need extractor model dir")
    parser.add_argument("--intent-gold", type=Path, nargs="*", default=list(DEFAULT_INTENT_GOLD),
                        help="need gold files whose product lines should parse as product_search")
    parser.add_argument("--speed-rounds", type=int, default=3)
    parser.add_argument("--speed-against", type=Path, metavar="MODEL",
                        help="also time another model, rounds interleaved with ours")
    parser.add_argument("--errors", action="store_true",
                        help="list misunderstood dev messages (diagnosis only)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    if not args.model.exists():
        parser.error(f"no model at {args.model}")
    started = time.perf_counter()
    config = hint3.nlu_config(args.config)
    threshold, ambiguity = hint3.fallback_settings(config)
    report: dict = {"model": str(args.model), "threshold": threshold, "ambiguity": ambiguity}
    texts: list[str] = []

    if args.dev.exists():
        rows = read_dev(args.dev)
        texts = [row.text for row in rows]
        agent = load_agent(args.model)
        # The fallback the model was trained with decides its answers; the sweep uses its ambiguity.
        threshold, ambiguity = model_fallback(agent) or (threshold, ambiguity)
        report.update(threshold=threshold, ambiguity=ambiguity)
        predictions, _, _ = parse(agent, texts)
        report["dev"] = score_dev(rows, predictions)
        report["dev_sweep"] = sweep_dev(rows, predictions, ambiguity)
        report["dev_best_threshold"] = best_threshold(report["dev_sweep"])
        # The ambiguity threshold is a choice too: the same sweep for each candidate.
        report["dev_sweep_by_ambiguity"] = {
            str(value): sweep_dev(rows, predictions, value) for value in AMBIGUITIES}
        if args.errors:
            report["dev_errors"] = errors(rows, predictions)
        need_texts = stated_need_texts(p for p in args.intent_gold if p.exists())
        if need_texts:
            report["stated_needs"] = score_stated_needs(parse(agent, need_texts)[0])
        report["speed"] = speed(agent, texts, args.speed_rounds)
        if args.speed_against:
            other = load_agent(args.speed_against)
            report["speed_interleaved"] = speed_against(
                {"ours": agent, "other": other}, texts, max(2, args.speed_rounds * 2))
    else:
        logger.warning("no dev split at %s: skipped", args.dev)

    if args.hint3 != "none":
        versions = ("v1", "v2") if args.hint3 == "both" else (args.hint3,)
        with tempfile.TemporaryDirectory(prefix="real_language_") as tmp:
            os.environ["RASA_CACHE_DIRECTORY"] = str(Path(tmp) / "cache")
            report["hint3"] = hint3.run_benchmark(args.datasets, versions, config, Path(tmp))

    if args.needs_gold.exists():
        records = read_needs_gold(args.needs_gold)
        extract = default_need_function(args.needs_model)
        report["needs"] = score_needs(records, extract_in_order(records, extract))
    report["seconds_total"] = round(time.perf_counter() - started, 1)

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if "dev" in report:
        print(format_dev(report["dev"], report["dev_sweep"], threshold, ambiguity))
        print(format_ambiguity(report["dev_sweep_by_ambiguity"]))
        if "stated_needs" in report:
            print("\n" + format_stated_needs(report["stated_needs"]))
        for error in report.get("dev_errors", []):
            print(f"  {error['expected']:<24} -> {error['answered']:<24} {error['text']}")
        print("\n" + format_speed(report["speed"]))
        if "speed_interleaved" in report:
            both = report["speed_interleaved"]
            print(f"interleaved with {args.speed_against}: ours {both['ours']['msg_per_s']}"
                  f" msg/s ({both['ours']['cpu_msg_per_s']} per CPU-second), other"
                  f" {both['other']['msg_per_s']} msg/s ({both['other']['cpu_msg_per_s']} per"
                  f" CPU-second); load average {both['load_average_1m']}")
    if "hint3" in report:
        print("\n" + hint3.format_table(report["hint3"]))
    print("\n" + format_needs(report.get("needs"), args.needs_gold))
    print(f"\n({report['seconds_total']} s in total)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
