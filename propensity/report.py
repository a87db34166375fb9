"""A Markdown evaluation report with PNG plots (ROC, reliability, top-decile lift)."""
from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import numpy as np

from propensity.evaluate import reliability

_LABELS = MappingProxyType({"mlp": "MLP (ours)", "gbm": "Gradient boosting",
                           "logreg": "RFM logistic regression", "recency": "Recency only"})


def _plots(folder: Path, y: np.ndarray, scores: dict) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    files = []
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, p in scores.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=_LABELS.get(name, name))
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC on the test cutoff")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "roc.png", dpi=90)
    plt.close(fig)
    files.append("roc.png")

    fig, ax = plt.subplots(figsize=(5, 5))
    for name, p in scores.items():
        r = reliability(y, p)
        ax.plot(r["predicted"], r["observed"], marker="o", label=_LABELS.get(name, name))
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="predicted probability", ylabel="observed purchase rate",
           title="Reliability (calibration)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "reliability.png", dpi=90)
    plt.close(fig)
    files.append("reliability.png")
    return files


def write_report(folder: str | Path, *, title: str, metrics: dict, y: np.ndarray, scores: dict,
                 context: dict) -> Path:
    """Write ``report.md`` and its plots into ``folder``; returns the report path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = _plots(folder, np.asarray(y), scores)
    lines = [f"# {title}", ""]
    for k, v in context.items():
        lines.append(f"- **{k}**: {v}")
    lines += ["", "| model | ROC-AUC | PR-AUC | log loss | Brier | top-decile lift | top-decile capture |",
              "|---|---|---|---|---|---|---|"]
    for name, m in metrics.items():
        lines.append(
            f"| {_LABELS.get(name, name)} | {m['roc_auc']:.4f} | {m['pr_auc']:.4f} | "
            f"{m['log_loss']:.4f} | {m['brier']:.4f} | {m['lift_top_decile']:.2f} | "
            f"{m['capture_top_decile']:.1%} |")
    lines.append("")
    for f in files:
        lines += [f"![{f[:-4]}]({f})", ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path
