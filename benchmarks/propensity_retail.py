"""Purchase propensity on the UCI Online Retail log: MLP vs RFM logistic regression vs gradient
boosting, through the contract command `python -m propensity benchmark ... --json`.

Converts the shared dataset to the transaction contract (into a temp dir), runs the benchmark
once per seed as a subprocess (wall time included), prints each JSON line and the target checks.

    .venv/bin/python benchmarks/propensity_retail.py [--datasets ../shared/datasets] [--seeds 7,8,9]

`--validate` runs the two validation setups instead, whose windows all end before the test
cutoff (train 2011-04-01..07-01 / score 2011-09-01, train 2011-05-01..08-01 / score 2011-10-01):
changes are chosen on these, never on the test cutoff.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEST_CUTOFF = "2011-11-01"
TRAIN_CUTOFFS = "2011-06-01,2011-07-01,2011-08-01,2011-09-01"
VALIDATION = (("2011-09-01", "2011-04-01,2011-05-01,2011-06-01,2011-07-01"),
              ("2011-10-01", "2011-05-01,2011-06-01,2011-07-01,2011-08-01"))
TIME_LIMIT = 60.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--seeds", default="7")
    ap.add_argument("--validate", action="store_true",
                    help="run the validation setups (before the test window) instead")
    args = ap.parse_args(argv)
    src = args.datasets / "uci_online_retail" / "online_retail.csv.gz"
    setups = VALIDATION if args.validate else ((TEST_CUTOFF, TRAIN_CUTOFFS),)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "online_retail.csv"
        subprocess.run([sys.executable, "-m", "propensity", "convert-retail", "--input", str(src),
                        "--output", str(csv)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        for test, train in setups:
            for seed in args.seeds.split(","):
                t0 = time.perf_counter()
                out = subprocess.run(
                    [sys.executable, "-m", "propensity", "benchmark", "--transactions", str(csv),
                     "--test-cutoff", test, "--train-cutoffs", train,
                     "--horizon-days", "30", "--seed", seed, "--json"],
                    check=True, cwd=ROOT, capture_output=True, text=True).stdout
                wall = time.perf_counter() - t0
                res = json.loads(out.strip().splitlines()[-1])
                res["seconds"]["wall"] = round(wall, 2)
                res["test_cutoff"], res["seed"] = test, int(seed)
                print(json.dumps(res))
                runs.append(res)

    def mean(model, metric="roc_auc"):
        return statistics.mean(r["models"][model][metric] for r in runs)

    mlp, lr, gbm = mean("mlp"), mean("logreg"), mean("gbm")
    fit = [r["seconds"]["features"] + r["seconds"]["train"] for r in runs]
    what = "validation setups" if args.validate else "seed(s)"
    print(f"\nmean over {len(runs)} run(s) ({what}): ROC-AUC mlp {mlp:.4f}  logreg {lr:.4f}  "
          f"gbm {gbm:.4f}")
    print(f"  target mlp >= logreg + 0.02 ({lr + 0.02:.4f}): {'MET' if mlp >= lr + 0.02 else 'MISSED'}"
          f" (margin {mlp - lr:+.4f})")
    print(f"  target mlp >= gbm ({gbm:.4f}): {'MET' if mlp >= gbm else 'MISSED'} ({mlp - gbm:+.4f})")
    print(f"  target features + training < {TIME_LIMIT:.0f} s on every run: "
          f"{'MET' if max(fit) < TIME_LIMIT else 'MISSED'} "
          f"(per run {', '.join(f'{s:.1f}' for s in fit)} s; max {max(fit):.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
