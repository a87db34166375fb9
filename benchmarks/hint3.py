"""How good are our NLU pipeline (config.yml) and its fallback on real shop-bot traffic? HINT3.

HINT3 (hellohaptik/HINT3) holds real messages sent to two live e-commerce bots, SOFMattress and
Curekart. For each dataset we turn `*_train.csv` into a Rasa NLU file in a temporary folder, train a
throwaway NLU-only model with the `pipeline:` of our config.yml (same components, same settings,
FallbackClassifier included), parse every `*_test.csv` message and score it:

- accuracy: all test rows; a `NO_NODES_DETECTED` row (out of scope) is right when we predict
  `nlu_fallback`, any other row when we predict its label;
- in-scope accuracy: accuracy on the labelled rows only (a fallback there is wrong);
- OOS recall: share of `NO_NODES_DETECTED` rows we send to `nlu_fallback`.

The paper's figures (`published_results_v1/`) were measured on the v1 files (`v1_paper/`), so v1 is
the like-for-like comparison; v2 (Feb 2021) relabelled some test rows. For every published platform
we show its best accuracy over the thresholds it was run at, and the threshold.

    .venv/bin/python benchmarks/hint3.py [--version v1|v2|both] [--datasets DIR] [--json]
    .venv/bin/python benchmarks/hint3.py --tune-on-train   # choose a threshold from train data only

`--tune-on-train` never reads a test file: it holds out a quarter of the train intents as
pseudo out-of-scope messages plus a fifth of the remaining examples, trains on the rest, and reports
accuracy per fallback threshold on that held-out part.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
# config.yml's pipeline names our own components (bot.nlu.*): importable from the repo root.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
HINT3_FOLDER = "hint3_ecommerce_intents"
DATASETS = ("sofmattress", "curekart")
PLATFORMS = ("rasa", "bert", "dialogflow", "luis", "haptik")
OOS_LABEL = "NO_NODES_DETECTED"
FALLBACK_INTENT = "nlu_fallback"
SWEEP = tuple(round(0.1 * i, 1) for i in range(1, 10))

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    text: str
    label: str


@dataclass(frozen=True)
class Prediction:
    """The pipeline's answer, plus the classifier ranking before the fallback step."""

    intent: str
    ranking: tuple[tuple[str, float], ...]


# ---------------------------------------------------------------------------------------- data


def clean_text(text: str) -> str:
    """One line of plain text that Rasa's YAML reader takes literally.

    Square brackets are how Rasa marks entities (`[text](entity)`), so they become parentheses.
    """
    text = text.replace("[", "(").replace("]", ")")
    return re.sub(r"\s+", " ", text).strip()


def read_examples(path: Path) -> list[Example]:
    """Rows of a HINT3 CSV (`sentence,label`); copes with a BOM and CRLF (v2 Curekart train)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"sentence", "label"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        rows = []
        for row in reader:
            text, label = clean_text(row["sentence"] or ""), (row["label"] or "").strip()
            if text and label:
                rows.append(Example(text, label))
    return rows


def to_nlu_yaml(examples: Iterable[Example]) -> str:
    """Rasa 3 NLU training data: one intent block per label, first occurrence of a text wins.

    A text seen under two labels is kept only under the first: Rasa refuses contradicting examples.
    """
    by_label: dict[str, list[str]] = {}
    seen: set[str] = set()
    for example in examples:
        key = example.text.lower()
        if example.label == OOS_LABEL or key in seen:
            continue
        seen.add(key)
        by_label.setdefault(example.label, []).append(example.text)
    lines = ['version: "3.1"', "nlu:"]
    for label in sorted(by_label):
        lines.append(f"- intent: {label}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in by_label[label])
    return "\n".join(lines) + "\n"


def dataset_files(datasets_dir: Path, version: str, name: str) -> tuple[Path, Path]:
    folder = datasets_dir / HINT3_FOLDER
    if version == "v1":
        folder = folder / "v1_paper"
    return folder / f"{name}_train.csv", folder / f"{name}_test.csv"


# -------------------------------------------------------------------------------------- config


def nlu_config(config_path: Path) -> dict:
    """Our config.yml reduced to what an NLU-only model needs: recipe, language and pipeline."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    pipeline = config.get("pipeline") or []
    if not pipeline:
        raise ValueError(f"{config_path} has no pipeline")
    return {
        "recipe": config.get("recipe", "default.v1"),
        "language": config.get("language", "en"),
        "pipeline": pipeline,
    }


def fallback_settings(config: dict) -> tuple[float, float]:
    """(threshold, ambiguity_threshold) of the FallbackClassifier; Rasa's defaults if unset."""
    for component in config["pipeline"]:
        if component.get("name") == "FallbackClassifier":
            return (
                float(component.get("threshold", 0.3)),
                float(component.get("ambiguity_threshold", 0.1)),
            )
    raise ValueError("the pipeline has no FallbackClassifier: out-of-scope rows cannot be scored")


def with_fallback(config: dict, threshold: float, ambiguity: float) -> dict:
    pipeline = []
    for component in config["pipeline"]:
        component = dict(component)
        if component.get("name") == "FallbackClassifier":
            component.update(threshold=threshold, ambiguity_threshold=ambiguity)
        pipeline.append(component)
    return {**config, "pipeline": pipeline}


# ------------------------------------------------------------------------------------- scoring


def apply_fallback(ranking: Sequence[tuple[str, float]], threshold: float, ambiguity: float) -> str:
    """What Rasa's FallbackClassifier decides for a classifier ranking (highest first)."""
    ranking = [item for item in ranking if item[0] != FALLBACK_INTENT]
    if not ranking:
        return FALLBACK_INTENT
    top = ranking[0][1]
    second = ranking[1][1] if len(ranking) > 1 else 0.0
    if top < threshold or top - second < ambiguity:
        return FALLBACK_INTENT
    return ranking[0][0]


def is_correct(label: str, predicted: str) -> bool:
    if label == OOS_LABEL:
        return predicted == FALLBACK_INTENT
    return predicted == label


def score(labels: Sequence[str], predicted: Sequence[str]) -> dict:
    """Accuracy over all rows, in-scope accuracy and OOS recall, as in the HINT3 paper."""
    if len(labels) != len(predicted):
        raise ValueError("labels and predictions differ in length")
    pairs = list(zip(labels, predicted))
    inscope = [(gold, pred) for gold, pred in pairs if gold != OOS_LABEL]
    oos = [(gold, pred) for gold, pred in pairs if gold == OOS_LABEL]

    def rate(items: list[tuple[str, str]]) -> float | None:
        return sum(is_correct(g, p) for g, p in items) / len(items) if items else None

    return {
        "rows": len(pairs),
        "oos_rows": len(oos),
        "accuracy": rate(pairs),
        "inscope_accuracy": rate(inscope),
        "oos_recall": rate(oos),
    }


def sweep(labels: Sequence[str], predictions: Sequence[Prediction], ambiguity: float) -> dict:
    """Accuracy at each threshold in SWEEP, recomputed from the rankings (diagnostic only)."""
    return {
        f"{threshold:.1f}": score(
            labels, [apply_fallback(p.ranking, threshold, ambiguity) for p in predictions]
        )
        for threshold in SWEEP
    }


def published_results(results_dir: Path, dataset: str) -> dict:
    """Each platform's best-accuracy row (full train set) from the paper's tables."""
    best = {}
    for platform in PLATFORMS:
        path = results_dir / f"{platform}_{dataset}.csv"
        if not path.exists():
            continue
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        top = max(rows, key=lambda row: float(row["Accuracy"]))
        best[platform] = {
            "threshold": float(top["Threshold"]),
            "accuracy": float(top["Accuracy"]),
            "inscope_accuracy": float(top["Inscope Accuracy"]),
            "oos_recall": float(top["OOS Recall"]),
        }
    return best


# ---------------------------------------------------------------------------------- rasa model


def train_model(examples: Sequence[Example], config: dict, workdir: Path, name: str) -> Path:
    """Train an NLU-only Rasa model on `examples` inside `workdir`; returns the model archive."""
    from rasa.model_training import train_nlu

    workdir.mkdir(parents=True, exist_ok=True)
    data_path = workdir / f"{name}_nlu.yml"
    config_path = workdir / f"{name}_config.yml"
    data_path.write_text(to_nlu_yaml(examples), encoding="utf-8")
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the table / JSON
        model = train_nlu(
            config=str(config_path),
            nlu_data=str(data_path),
            output=str(workdir / "models"),
            fixed_model_name=name,
        )
    if not model:
        raise RuntimeError(f"training {name} produced no model")
    return Path(model)


def predict(model_path: Path, texts: Sequence[str]) -> list[Prediction]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))

    async def parse_all() -> list[Prediction]:
        out = []
        for text in texts:
            parsed = await agent.parse_message(text)
            ranking = tuple(
                (item["name"], float(item["confidence"]))
                for item in parsed.get("intent_ranking", [])
                if item.get("name") != FALLBACK_INTENT
            )
            out.append(Prediction(parsed["intent"]["name"], ranking))
        return out

    return asyncio.run(parse_all())


# -------------------------------------------------------------------------------------- runs


def run_benchmark(datasets_dir: Path, versions: Sequence[str], config: dict, workdir: Path) -> dict:
    threshold, ambiguity = fallback_settings(config)
    results_dir = datasets_dir / HINT3_FOLDER / "published_results_v1"
    report = {"threshold": threshold, "ambiguity_threshold": ambiguity, "results": []}
    trained: dict[tuple, Path] = {}
    for version in versions:
        for dataset in DATASETS:
            train_path, test_path = dataset_files(datasets_dir, version, dataset)
            train, test = read_examples(train_path), read_examples(test_path)
            # v1 and v2 SOFMattress train sets are the same rows: train once.
            key = tuple(train)
            started = time.perf_counter()
            if key not in trained:
                trained[key] = train_model(train, config, workdir, f"{dataset}_{version}")
            train_seconds = time.perf_counter() - started
            started = time.perf_counter()
            predictions = predict(trained[key], [example.text for example in test])
            parse_seconds = time.perf_counter() - started
            labels = [example.label for example in test]
            report["results"].append(
                {
                    "dataset": dataset,
                    "version": version,
                    "train_rows": len(train),
                    "ours": score(labels, [p.intent for p in predictions]),
                    "ours_by_threshold": sweep(labels, predictions, ambiguity),
                    "published_v1": published_results(results_dir, dataset),
                    "seconds": {"train": round(train_seconds, 1), "parse": round(parse_seconds, 1)},
                }
            )
    return report


def pseudo_oos_split(
    examples: Sequence[Example], seed: int, oos_share: float = 0.25, dev_share: float = 0.2
) -> tuple[list[Example], list[Example]]:
    """Train/dev from train data only: some intents become out-of-scope dev rows."""
    rng = random.Random(seed)
    labels = sorted({example.label for example in examples})
    held_out = set(rng.sample(labels, max(1, round(len(labels) * oos_share))))
    train, dev = [], []
    for example in examples:
        if example.label in held_out:
            dev.append(Example(example.text, OOS_LABEL))
        elif rng.random() < dev_share:
            dev.append(example)
        else:
            train.append(example)
    return train, dev


def run_tuning(datasets_dir: Path, config: dict, workdir: Path, seeds: Sequence[int]) -> dict:
    """Accuracy per threshold on pseudo-OOS splits of the v1 train sets (no test file is read)."""
    _, ambiguity = fallback_settings(config)
    report = {"ambiguity_threshold": ambiguity, "splits": [], "mean_accuracy": {}}
    for dataset in DATASETS:
        train_path, _ = dataset_files(datasets_dir, "v1", dataset)
        examples = read_examples(train_path)
        for seed in seeds:
            train, dev = pseudo_oos_split(examples, seed)
            model = train_model(train, config, workdir, f"tune_{dataset}_{seed}")
            predictions = predict(model, [example.text for example in dev])
            by_threshold = sweep([example.label for example in dev], predictions, ambiguity)
            report["splits"].append(
                {"dataset": dataset, "seed": seed, "by_threshold": by_threshold}
            )
    report["mean_balanced"] = {}
    for threshold in (f"{t:.1f}" for t in SWEEP):
        scores = [split["by_threshold"][threshold] for split in report["splits"]]
        report["mean_accuracy"][threshold] = sum(s["accuracy"] for s in scores) / len(scores)
        report["mean_balanced"][threshold] = sum(balanced(s) for s in scores) / len(scores)
    # The share of pseudo-OOS rows in a split is an artefact of the split, so the threshold is
    # chosen on the mean of in-scope accuracy and OOS recall, which does not depend on it.
    report["best_threshold"] = max(report["mean_balanced"], key=report["mean_balanced"].get)
    return report


def balanced(result: dict) -> float:
    """Mean of in-scope accuracy and OOS recall: accuracy as if half the traffic were OOS."""
    return (result["inscope_accuracy"] + result["oos_recall"]) / 2


# ------------------------------------------------------------------------------------- output


def fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def format_table(report: dict) -> str:
    lines = [
        f"HINT3, our config.yml pipeline, FallbackClassifier threshold {report['threshold']}"
        f" (ambiguity {report['ambiguity_threshold']})",
        "published: best accuracy of each platform in the HINT3 paper (v1 test), at (threshold)",
        "",
    ]
    header = f"{'dataset':<12} {'test':<4} {'ours acc':>8} {'in-scope':>8} {'OOS rec':>8}"
    header += "".join(f" {platform:>12}" for platform in PLATFORMS)
    lines += [header, "-" * len(header)]
    for result in report["results"]:
        ours = result["ours"]
        row = (
            f"{result['dataset']:<12} {result['version']:<4} {fmt(ours['accuracy']):>8}"
            f" {fmt(ours['inscope_accuracy']):>8} {fmt(ours['oos_recall']):>8}"
        )
        for platform in PLATFORMS:
            published = result["published_v1"].get(platform)
            cell = "-"
            if published:
                cell = f"{published['accuracy']:.3f} ({published['threshold']:.1f})"
            row += f" {cell:>12}"
        lines.append(row)
    lines += ["", "our accuracy if the threshold were (same models, recomputed from the rankings):"]
    lines.append(f"{'dataset':<12} {'test':<4}" + "".join(f" {t:>5.1f}" for t in SWEEP))
    for result in report["results"]:
        cells = "".join(
            f" {result['ours_by_threshold'][f'{t:.1f}']['accuracy']:.3f}" for t in SWEEP
        )
        lines.append(f"{result['dataset']:<12} {result['version']:<4}{cells}")
    return "\n".join(lines)


def format_tuning(report: dict) -> str:
    lines = ["pseudo-OOS splits of the v1 train sets (no test data): accuracy by threshold", ""]
    lines.append(f"{'split':<18}" + "".join(f" {t:>5}" for t in report["mean_accuracy"]))
    for split in report["splits"]:
        name = f"{split['dataset']} seed {split['seed']}"
        lines.append(
            f"{name:<18}"
            + "".join(f" {v['accuracy']:.3f}" for v in split["by_threshold"].values())
        )
    for name in ("mean_accuracy", "mean_balanced"):
        values = report[name].values()
        lines.append(f"{name.replace('_', ' '):<18}" + "".join(f" {v:.3f}" for v in values))
    lines.append(
        "\nbest threshold on train-only splits (by mean balanced accuracy): "
        f"{report['best_threshold']}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS,
                        help="folder holding hint3_ecommerce_intents/ (default ../shared/datasets)")
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "config.yml")
    parser.add_argument("--version", choices=("v1", "v2", "both"), default="both",
                        help="HINT3 files: v1 (the paper's) or v2 (relabelled); default both")
    parser.add_argument("--threshold", type=float,
                        help="override the FallbackClassifier threshold from config.yml")
    parser.add_argument("--tune-on-train", action="store_true",
                        help="report accuracy per threshold on pseudo-OOS splits of train data")
    parser.add_argument("--seeds", default="1,2", help="splits for --tune-on-train")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # else Rasa logs every parsed message to stdout
    if not (args.datasets / HINT3_FOLDER).is_dir():
        parser.error(f"no {HINT3_FOLDER}/ under {args.datasets}")

    config = nlu_config(args.config)
    if args.threshold is not None:
        config = with_fallback(config, args.threshold, fallback_settings(config)[1])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hint3_") as tmp:
        # Rasa's training cache would otherwise land in the current folder.
        os.environ["RASA_CACHE_DIRECTORY"] = str(Path(tmp) / "cache")
        if args.tune_on_train:
            seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
            report = run_tuning(args.datasets, config, Path(tmp), seeds)
            text = format_tuning(report)
        else:
            versions = ("v1", "v2") if args.version == "both" else (args.version,)
            report = run_benchmark(args.datasets, versions, config, Path(tmp))
            text = format_table(report)
    report["seconds_total"] = round(time.perf_counter() - started, 1)
    report["pipeline"] = config["pipeline"]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(text)
        print(f"\n({report['seconds_total']} s in total)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
