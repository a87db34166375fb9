"""Versioned model folders, a ``current`` pointer, guarded promotion and rollback.

Layout under the registry root (default ``models/propensity`` in the repo)::

    <version>/model.json, weights.npz   the scorer (numpy export + spec)
    <version>/meta.json                 training window, data fingerprint, features, metrics
    <version>/report.md, *.png          the evaluation report
    current                             the version serving now (one line)
    history.json                        versions that were current before, oldest first

Promotion rule: a candidate replaces the current model only if, on the same test cutoff and the
same data, its ROC-AUC is at most ``AUC_TOLERANCE`` below and its Brier score at most
``BRIER_TOLERANCE`` above the current model's.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Callable

from bot.settings import REPO_ROOT

DEFAULT_ROOT = REPO_ROOT / "models" / "propensity"
CURRENT_FILE = "current"
HISTORY_FILE = "history.json"
META_FILE = "meta.json"
# Differences this small are noise between two trainings on the same data (seed-to-seed spread
# of the MLP's test AUC on the Online Retail benchmark is a few thousandths).
AUC_TOLERANCE = 0.005
BRIER_TOLERANCE = 0.005


class RegistryError(RuntimeError):
    pass


class PromotionRefused(RegistryError):
    pass


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def eval_key(test_cutoff: str, fingerprint: str) -> str:
    return f"{test_cutoff}|{fingerprint}"


class Registry:
    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else DEFAULT_ROOT

    # --- reading
    def versions(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / META_FILE).exists())

    def path(self, version: str) -> Path:
        p = self.root / version
        if not (p / META_FILE).exists():
            raise RegistryError(f"no model version {version!r} in {self.root}")
        return p

    def meta(self, version: str) -> dict:
        return json.loads((self.path(version) / META_FILE).read_text())

    def current(self) -> str | None:
        f = self.root / CURRENT_FILE
        if not f.exists():
            return None
        v = f.read_text().strip()
        return v or None

    def history(self) -> list[str]:
        f = self.root / HISTORY_FILE
        return json.loads(f.read_text()) if f.exists() else []

    # --- writing
    def new_version_dir(self, fingerprint: str) -> tuple[str, Path]:
        stamp = dt.datetime.utcnow().strftime("%Y%m%dT%H%M%S")
        short = fingerprint.split(":")[1][:6] if ":" in fingerprint else "data"
        version, n = f"{stamp}-{short}", 1
        while (self.root / version).exists():
            n += 1
            version = f"{stamp}-{short}-{n}"
        path = self.root / version
        path.mkdir(parents=True)
        return version, path

    def write_meta(self, version: str, meta: dict) -> None:
        _write_atomic(self.root / version / META_FILE, json.dumps(meta, indent=2, default=str))

    def _set_current(self, version: str | None, history: list[str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.root / HISTORY_FILE, json.dumps(history))
        _write_atomic(self.root / CURRENT_FILE, (version or "") + "\n")

    def promote(self, version: str, *, evaluate_current: Callable[[str, dict], dict] | None = None,
                auc_tolerance: float = AUC_TOLERANCE,
                brier_tolerance: float = BRIER_TOLERANCE) -> dict:
        """Make ``version`` current if it is not worse than the current one (see module doc).

        The comparison needs the current model's metrics on the candidate's test cutoff and data
        fingerprint: they are read from its meta, or computed by ``evaluate_current(current,
        candidate_meta)`` and stored. Returns a summary; raises ``PromotionRefused``.
        """
        cand = self.meta(version)
        cur = self.current()
        summary = {"candidate": version, "previous": cur, "promoted": False}
        if cur == version:
            raise PromotionRefused(f"{version} is already current")
        if cur is not None:
            key = eval_key(cand["test_cutoff"], cand["data_fingerprint"])
            cur_meta = self.meta(cur)
            theirs = cur_meta.get("evaluations", {}).get(key)
            if theirs is None:
                if evaluate_current is None:
                    raise PromotionRefused(
                        f"cannot compare {version} with current {cur}: the current model has no "
                        f"metrics on test cutoff {cand['test_cutoff']} of this data; give the data "
                        f"so it can be evaluated")
                theirs = evaluate_current(cur, cand)
                cur_meta.setdefault("evaluations", {})[key] = theirs
                self.write_meta(cur, cur_meta)
            ours = cand["evaluations"][key]
            summary["candidate_metrics"] = ours
            summary["current_metrics"] = theirs
            if ours["roc_auc"] < theirs["roc_auc"] - auc_tolerance:
                raise PromotionRefused(
                    f"{version} ROC-AUC {ours['roc_auc']:.4f} is worse than current {cur} "
                    f"{theirs['roc_auc']:.4f} by more than {auc_tolerance}")
            if ours["brier"] > theirs["brier"] + brier_tolerance:
                raise PromotionRefused(
                    f"{version} Brier {ours['brier']:.4f} is worse than current {cur} "
                    f"{theirs['brier']:.4f} by more than {brier_tolerance}")
        history = self.history() + ([cur] if cur else [])
        self._set_current(version, history)
        summary["promoted"] = True
        return summary

    def rollback(self) -> str:
        """Restore the version that was current before; returns it."""
        history = self.history()
        if not history:
            raise RegistryError("nothing to roll back to: no earlier current version")
        previous = history.pop()
        self.path(previous)  # still on disk?
        self._set_current(previous, history)
        return previous
