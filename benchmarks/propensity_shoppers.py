"""Tabular mode on the UCI Online Shoppers sessions: stratified 80/20, label Revenue.

    .venv/bin/python benchmarks/propensity_shoppers.py [--datasets ../shared/datasets] [--seeds 7]

`--validate` never touches the held-out 20%: for each seed it keeps only that seed's training 80%
(the same stratified split the benchmark makes) and runs the benchmark on that file, i.e. an inner
80/20 split. Changes to tabular mode are chosen on these figures.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def training_part(source: Path, seed: int, folder: Path) -> Path:
    """The rows the benchmark with ``seed`` trains on (its stratified 80%), as a CSV."""
    sys.path.insert(0, str(ROOT))
    from propensity.tabular import held_out_split, read_table

    df, y = read_table(source, "Revenue")
    idx_tr, _ = held_out_split(y, seed)
    path = folder / f"train-{seed}.csv"
    df.assign(Revenue=y.astype(bool)).iloc[idx_tr].to_csv(path, index=False)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--seeds", default="7")
    ap.add_argument("--validate", action="store_true",
                    help="benchmark inside each seed's training 80%% only (the held-out 20%% unused)")
    args = ap.parse_args(argv)
    source = args.datasets / "online_shoppers_intention" / "online_shoppers_intention.csv"
    runs = []
    with tempfile.TemporaryDirectory(prefix="shoppers-") as tmp:
        for seed in args.seeds.split(","):
            table = training_part(source, int(seed), Path(tmp)) if args.validate else source
            out = subprocess.run([sys.executable, "-m", "propensity", "benchmark", "--table",
                                  str(table), "--label", "Revenue", "--seed", seed, "--json"],
                                 check=True, cwd=ROOT, capture_output=True, text=True).stdout
            res = json.loads(out.strip().splitlines()[-1])
            print(json.dumps(res))
            runs.append(res)
    mlp = statistics.mean(r["models"]["mlp"]["roc_auc"] for r in runs)
    gbm = statistics.mean(r["models"]["gbm"]["roc_auc"] for r in runs)
    what = "inner split(s) of the training 80%" if args.validate else "split(s)"
    print(f"\nmean over {len(runs)} {what}: ROC-AUC mlp {mlp:.4f}  gbm {gbm:.4f}")
    print(f"  target mlp >= 0.93: {'MET' if mlp >= 0.93 else 'MISSED'} ({mlp - 0.93:+.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
