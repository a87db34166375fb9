"""No sentence of the dev split we measure on (benchmarks/real_language.py) is in our NLU data.

The split (`../shared/datasets/bitext_support_dev/dev.csv`) is for measuring and tuning only. The
committed digests (`tests/nlu/data/dev_split.sha256`, SHA-256 of each sentence's normal form:
case, spacing, punctuation, annotations and the digits of numbers ignored) let the exact check run
without the dataset; where the dataset is at hand, near copies are looked for too.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.nlu.overlap import digest, digests, normal_form, read_dev_sentences, read_digests
from bot.settings import REPO_ROOT

DIGESTS = Path(__file__).parent / "data" / "dev_split.sha256"
DEV = REPO_ROOT.parent / "shared" / "datasets" / "bitext_support_dev" / "dev.csv"
NEAR = 0.8  # share of words in common (Jaccard) that makes a near copy


def training_examples() -> list[tuple[str, str]]:
    """(file, example) for every intent example under nlu_data/ (hand-written and generated)."""
    found = []
    for path in sorted((REPO_ROOT / "nlu_data").rglob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" in item:
                found += [(path.name, line[2:].strip()) for line in item["examples"].splitlines()
                          if line.startswith("- ")]
    return found


EXAMPLES = training_examples()


def test_the_digests_cover_the_whole_split():
    assert len(read_digests(DIGESTS)) == 405  # 405 sentences, no two with the same normal form


def test_no_training_example_is_a_dev_sentence():
    dev = read_digests(DIGESTS)
    assert len(EXAMPLES) > 2000
    assert [example for example in EXAMPLES if digest(example[1]) in dev] == []


def test_normal_form_ignores_case_spacing_punctuation_annotations_and_digits():
    assert normal_form("Where is  my ORDER [SH-104233](order_number)??") == \
        normal_form("where is my order sh 555555")
    assert normal_form("cancel my order") != normal_form("cancel my orders")


@pytest.mark.skipif(not DEV.exists(), reason="dev split not at ../shared/datasets")
def test_the_committed_digests_are_the_dev_splits():
    assert read_digests(DIGESTS) == frozenset(digests(read_dev_sentences(DEV)))


@pytest.mark.skipif(not DEV.exists(), reason="dev split not at ../shared/datasets")
def test_no_training_example_is_a_near_copy_of_a_dev_sentence():
    dev = [set(normal_form(s).split()) for s in read_dev_sentences(DEV)]
    near = []
    for name, example in EXAMPLES:
        words = set(normal_form(example).split())
        if len(words) >= 4 and any(len(words & d) / len(words | d) >= NEAR for d in dev):
            near.append((name, example))
    assert near == []
