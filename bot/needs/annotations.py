"""Our annotated messages: inline markup -> text, character spans and gold NEED fields.

``data/messages.txt`` is written by hand in a compact markup, ``[span](label)`` or
``[span](label=value)`` (spans nest one level, e.g. ``[[wool](attr) scarf](product)``). This
module turns it into the gold JSONL format of ``shared/examples/needs_examples.jsonl`` plus the
character spans the NER is trained on. The split is fixed: every 5th message is held out.

Conversations (``data/conversations_*.txt``) use the same markup, one shopper turn a line, a line
``==`` before each conversation. Each turn becomes one gold record with ``conversation`` and
``turn`` beside the usual keys; its gold is what that turn itself states (a follow-up "in blue"
gives the colour only). ``conversations_train.txt`` is training data; ``conversations_test.txt``
is the held-out conversational test set, written before the conversational rules and frozen.
"""
from __future__ import annotations

from types import MappingProxyType

import json
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
MESSAGES_PATH = DATA_DIR / "messages.txt"
TRAIN_PATH = DATA_DIR / "train.jsonl"
TEST_PATH = DATA_DIR / "test.jsonl"
TEST_EVERY = 5
CONVERSATIONS_TRAIN_SOURCE = DATA_DIR / "conversations_train.txt"
CONVERSATIONS_TEST_SOURCE = DATA_DIR / "conversations_test.txt"
CONVERSATIONS_TRAIN_PATH = DATA_DIR / "conversational_train.jsonl"
CONVERSATIONS_TEST_PATH = DATA_DIR / "conversational_test.jsonl"
# (source, gold file, id prefix) of each conversation file
CONVERSATION_FILES = (
    (CONVERSATIONS_TRAIN_SOURCE, CONVERSATIONS_TRAIN_PATH, "cv"),
    (CONVERSATIONS_TEST_SOURCE, CONVERSATIONS_TEST_PATH, "ct"),
)
CONVERSATION_START = "=="

# markup label -> NER label (only the open-vocabulary parts are learnt; the rest are rules)
NER_LABELS = MappingProxyType({
    "product": "PRODUCT", "attr": "ATTRIBUTE", "recip": "RECIPIENT", "occ": "OCCASION",
    "brand": "BRAND",
})
_LIST_FIELDS = MappingProxyType({
    "product": "product", "attr": "attributes", "colour": "colour", "size": "size",
    "brand": "brand", "recip": "recipient", "occ": "occasion",
})
_NUMBER_FIELDS = MappingProxyType({"pmin": "price_min", "pmax": "price_max", "qty": "quantity"})
LABELS = frozenset(_LIST_FIELDS) | frozenset(_NUMBER_FIELDS) | {"price", "date"}


class MarkupError(ValueError):
    pass


@dataclass
class Span:
    start: int
    end: int
    label: str
    value: str | None
    depth: int


@dataclass
class Annotated:
    id: str
    text: str
    spans: list[Span] = field(default_factory=list)

    def gold(self) -> dict:
        """The gold NEED fields in the shared examples format (lists; numbers as scalars)."""
        gold: dict = {}
        numbers: dict[str, list] = {}
        for span in sorted(self.spans, key=lambda s: s.start):
            said = self.text[span.start:span.end]
            value = span.value if span.value is not None else said
            if span.label in _LIST_FIELDS:
                values = gold.setdefault(_LIST_FIELDS[span.label], [])
                if value not in values:
                    values.append(value)
            elif span.label in _NUMBER_FIELDS:
                numbers.setdefault(_NUMBER_FIELDS[span.label], []).append(_number(value))
            elif span.label == "price":
                low, high = value.split("-")
                numbers.setdefault("price_min", []).append(_number(low))
                numbers.setdefault("price_max", []).append(_number(high))
        for key, values in numbers.items():
            unique = list(dict.fromkeys(values))
            gold[key] = unique[0] if len(unique) == 1 else unique
        return gold

    def ner_spans(self) -> list[tuple[int, int, str]]:
        """Non-overlapping NER spans: the outermost learnt span wins."""
        chosen: list[tuple[int, int, str]] = []
        for span in sorted(self.spans, key=lambda s: (s.depth, s.start)):
            if span.label not in NER_LABELS:
                continue
            if any(span.start < e and s < span.end for s, e, _ in chosen):
                continue
            chosen.append((span.start, span.end, NER_LABELS[span.label]))
        return sorted(chosen)

    def record(self) -> dict:
        return {
            "id": self.id, "text": self.text, "gold": self.gold(),
            "spans": [{"start": s, "end": e, "label": lab} for s, e, lab in self.ner_spans()],
        }


def _number(value: str) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else number


def parse_line(line: str, ident: str) -> Annotated:
    """Parse one marked-up message."""
    out: list[str] = []
    stack: list[int] = []
    spans: list[Span] = []
    i = 0
    while i < len(line):
        char = line[i]
        if char == "[":
            stack.append(len("".join(out)))
            i += 1
        elif char == "]" and stack and line[i + 1:i + 2] == "(":
            close = line.index(")", i)
            spec = line[i + 2:close]
            label, _, value = spec.partition("=")
            if label not in LABELS:
                raise MarkupError(f"{ident}: unknown label {label!r}")
            start = stack.pop()
            end = len("".join(out))
            spans.append(Span(start, end, label, value or None, depth=len(stack)))
            i = close + 1
        else:
            out.append(char)
            i += 1
    if stack:
        raise MarkupError(f"{ident}: unclosed '['")
    text = "".join(out)
    # spans must not start or end on whitespace (spaCy needs token-aligned spans)
    for span in spans:
        said = text[span.start:span.end]
        if not said or said != said.strip():
            raise MarkupError(f"{ident}: span {said!r} has surrounding whitespace")
    return Annotated(ident, text, spans)


def load_messages(path: Path = MESSAGES_PATH) -> list[Annotated]:
    messages: list[Annotated] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        messages.append(parse_line(line, f"our-{len(messages) + 1:04d}"))
    return messages


def load_conversations(path: Path, prefix: str) -> list[dict]:
    """The turns of a conversation file as gold records: ``id`` ``<prefix>-<nnn>-<turn>``,
    ``conversation`` ``<prefix>-<nnn>``, ``turn`` (1-based), then the keys of
    :meth:`Annotated.record`."""
    records: list[dict] = []
    number, turn = 0, 0
    for line_number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == CONVERSATION_START:
            number, turn = number + 1, 0
            continue
        if number == 0:
            raise MarkupError(f"{path.name}:{line_number}: a turn before the first "
                              f"{CONVERSATION_START!r}")
        turn += 1
        conversation = f"{prefix}-{number:03d}"
        record = parse_line(line, f"{conversation}-{turn}").record()
        records.append({"id": record["id"], "conversation": conversation, "turn": turn,
                        **{k: v for k, v in record.items() if k != "id"}})
    return records


def split(messages: list[Annotated]) -> tuple[list[Annotated], list[Annotated]]:
    test = [m for n, m in enumerate(messages, start=1) if n % TEST_EVERY == 0]
    train = [m for n, m in enumerate(messages, start=1) if n % TEST_EVERY != 0]
    return train, test


def write_jsonl(records: list[dict], path: Path) -> None:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )


def build_gold_files(source: Path = MESSAGES_PATH, train_path: Path = TRAIN_PATH,
                     test_path: Path = TEST_PATH) -> tuple[int, int]:
    """Regenerate train.jsonl / test.jsonl from the marked-up source; returns their sizes."""
    train, test = split(load_messages(source))
    write_jsonl([m.record() for m in train], train_path)
    write_jsonl([m.record() for m in test], test_path)
    return len(train), len(test)


def build_conversation_files() -> dict[str, int]:
    """Regenerate the conversational gold files from their marked-up sources; turns per file."""
    sizes = {}
    for source, path, prefix in CONVERSATION_FILES:
        if source.exists():
            records = load_conversations(source, prefix)
            write_jsonl(records, path)
            sizes[path.name] = len(records)
    return sizes


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
