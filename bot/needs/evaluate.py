"""Score extracted needs against a gold file (the format of shared/examples/needs_examples.jsonl).

Per message, each field's values from all predicted needs form a set that is compared with the
gold set after the same normalisation on both sides (``normalise.field_key``): true positives,
false positives and false negatives are summed over messages, giving per-field precision, recall
and F1 and the micro average over all scored fields. Messages whose gold is empty also give the
no-need rate: the share of them for which the extractor returns no need.

Lines of a conversation file (``conversation`` and ``turn`` keys, ``data/conversations_*.txt``)
are scored the same way, each on what it states. :func:`score_conversations` also replays each
conversation's turns, in file order, through the chat's merge (``bot.needs.service``: a detail
refines the open need, the same product restated refines its need, another product opens a
new one) and scores the open need after every turn, for the gold and for the predictions alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from bot.needs.normalise import field_key

FIELDS = ("product", "attributes", "colour", "size", "brand", "price_min", "price_max",
          "quantity", "recipient", "occasion")


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass
class Report:
    fields: dict[str, Counts] = field(default_factory=lambda: {f: Counts() for f in FIELDS})
    messages: int = 0
    no_need_messages: int = 0
    no_need_correct: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def micro(self) -> Counts:
        total = Counts()
        for counts in self.fields.values():
            total.tp += counts.tp
            total.fp += counts.fp
            total.fn += counts.fn
        return total

    @property
    def no_need_rate(self) -> float:
        return self.no_need_correct / self.no_need_messages if self.no_need_messages else 1.0

    def as_dict(self) -> dict:
        return {
            "messages": self.messages,
            "fields": {name: c.as_dict() for name, c in self.fields.items()},
            "micro": self.micro.as_dict(),
            "no_need": {"messages": self.no_need_messages, "correct": self.no_need_correct,
                        "rate": round(self.no_need_rate, 4)},
        }


def _values(raw) -> list:
    if raw is None or raw == "" or raw == []:
        return []
    return list(raw) if isinstance(raw, (list, tuple)) else [raw]


def _keys(name: str, values: Iterable) -> set:
    keys = set()
    for value in values:
        try:
            key = field_key(name, value)
        except (TypeError, ValueError):
            continue
        if key != "":
            keys.add(key)
    return keys


def score(gold_records: list[dict], predictions: list[list[dict]]) -> Report:
    """``predictions[i]`` is the list of NEED dicts predicted for ``gold_records[i]``."""
    report = Report()
    for record, needs in zip(gold_records, predictions, strict=True):
        gold = record.get("gold") or {}
        report.messages += 1
        if not any(_values(v) for v in gold.values()):
            report.no_need_messages += 1
            report.no_need_correct += not needs
        for name in FIELDS:
            want = _keys(name, _values(gold.get(name)))
            got = _keys(name, (v for need in needs for v in _values(need.get(name))))
            counts = report.fields[name]
            counts.tp += len(want & got)
            counts.fp += len(got - want)
            counts.fn += len(want - got)
            if want != got:
                report.errors.append({"id": record.get("id"), "field": name,
                                      "gold": sorted(map(str, want)),
                                      "predicted": sorted(map(str, got)),
                                      "text": record.get("text", "")[:200]})
    return report


def format_table(report: Report) -> str:
    lines = [f"{'field':<12} {'precision':>9} {'recall':>7} {'f1':>6} {'tp':>5} {'fp':>5} {'fn':>5}"]
    for name, counts in list(report.fields.items()) + [("MICRO", report.micro)]:
        lines.append(f"{name:<12} {counts.precision:>9.3f} {counts.recall:>7.3f} "
                     f"{counts.f1:>6.3f} {counts.tp:>5} {counts.fp:>5} {counts.fn:>5}")
    lines.append(f"no-need messages yielding no need: {report.no_need_correct}/"
                 f"{report.no_need_messages} = {report.no_need_rate:.3f}  "
                 f"(messages scored: {report.messages})")
    return "\n".join(lines)


def _gold_needs(gold: dict) -> list[dict]:
    """A gold line as the needs the merge replays: one need with the line's fields (its first
    product; a second product of the same line opens its own need)."""
    if not any(_values(v) for v in gold.values()):
        return []
    products = _values(gold.get("product"))
    first = {k: v for k, v in gold.items() if k != "product"}
    first["product"] = products[0] if products else None
    return [first] + [{"product": p} for p in products[1:]]


def replay(turns: Iterable[tuple[str, list[dict]]]) -> list[dict]:
    """The open need after each turn of one conversation: ``turns`` are (text, needs of the
    turn). Merged as the chat merges them (:func:`bot.needs.service.merge`), without a
    database: the conversation's earlier needs are kept in memory."""
    from bot.needs.service import adds_alternative, merge, same_product

    open_need: dict | None = None
    earlier: list[dict] = []  # most recently touched first
    states = []
    for text, needs in turns:
        primary = None
        for index, new in enumerate(needs):
            if open_need is not None and index == 0 and (
                    not new.get("product") or not open_need.get("product")
                    or same_product(open_need, new)):
                state = merge(open_need, new, alternative=adds_alternative(text))
                earlier = [n for n in earlier if n is not open_need]
            elif not new.get("product"):
                continue
            else:
                restated = next((n for n in earlier if same_product(n, new)), None)
                state = merge(restated, new) if restated is not None else dict(new)
                earlier = [n for n in earlier if n is not restated]
            earlier.insert(0, state)
            primary = state if primary is None else primary
        open_need = primary if primary is not None else open_need
        states.append(open_need or {})
    return states


def score_conversations(records: list[dict], predictions: list[list[dict]]) -> Report | None:
    """The open need after each turn of the conversation lines (gold replayed and predictions
    replayed), scored like single messages; None when no line names a conversation."""
    lines: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        if record.get("conversation") is not None:
            lines.setdefault(str(record["conversation"]), []).append(index)
    if not lines:
        return None
    gold_states, predicted_states = [], []
    for indexes in lines.values():
        gold = replay((records[i].get("text", ""), _gold_needs(records[i].get("gold") or {}))
                      for i in indexes)
        predicted = replay((records[i].get("text", ""), predictions[i]) for i in indexes)
        for i, want, got in zip(indexes, gold, predicted):
            gold_states.append({"id": records[i].get("id"), "text": records[i].get("text", ""),
                                "gold": want})
            predicted_states.append([got] if got else [])
    return score(gold_states, predicted_states)
