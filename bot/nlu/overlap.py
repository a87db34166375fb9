"""Keeping measuring data out of training data: one normal form for sentences, and digests of it.

The dev split we measure on (``../shared/datasets/bitext_support_dev``) must never be trained on.
``normal_form`` makes two sentences equal when they differ only in case, spacing, punctuation,
entity annotation (``[SH-104233](order_number)``) or the digits of a number; the test compares
the normal forms of every training example with SHA-256 digests of the dev sentences' normal
forms (``tests/nlu/data/dev_split.sha256``), so the check runs without the dataset and the repo
holds no dev sentence.
"""
from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path
from typing import Iterable

# [text](entity) or [text]{"entity": ...}: the text is what the shopper typed
ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<entity>[^)]+)\)|\{(?P<json>[^}]+)\})")
_NUMBER = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[\W_]+")


def plain(example: str) -> str:
    """The example as typed: entity annotations replaced by their text."""
    return ANNOTATION.sub(lambda m: m.group("text"), example)


def normal_form(sentence: str) -> str:
    """Lower case, numbers as ``0``, anything but letters and digits as one space."""
    text = _NUMBER.sub("0", plain(sentence).lower())
    return " ".join(_NOT_WORD.sub(" ", text).split())


def digest(sentence: str) -> str:
    return hashlib.sha256(normal_form(sentence).encode("utf-8")).hexdigest()


def read_dev_sentences(path: Path) -> list[str]:
    """The ``text`` column of a dev split CSV."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [row["text"] for row in csv.DictReader(handle) if (row.get("text") or "").strip()]


def digests(sentences: Iterable[str]) -> list[str]:
    """Sorted, unique digests (the file's content: one per line)."""
    return sorted({digest(s) for s in sentences})


def read_digests(path: Path) -> frozenset[str]:
    return frozenset(line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))
