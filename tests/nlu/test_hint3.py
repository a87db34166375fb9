"""The HINT3 benchmark's conversion and scoring helpers, on tiny CSVs in tests/nlu/data."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from bot.settings import REPO_ROOT

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def hint3():
    spec = importlib.util.spec_from_file_location("hint3", REPO_ROOT / "benchmarks" / "hint3.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["hint3"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("hint3", None)


def test_read_examples_cleans_text_and_handles_crlf(hint3):
    train = hint3.read_examples(DATA / "hint3_tiny_train.csv")
    texts = [e.text for e in train]
    assert texts[2] == "what sizes, exactly, do you make"  # quoted comma kept
    assert "Sizes (king) available?" in texts  # brackets would read as a Rasa entity
    assert "extra spaces here" in texts
    test = hint3.read_examples(DATA / "hint3_tiny_test.csv")  # CRLF file
    oos = "NO_NODES_DETECTED"
    assert [e.label for e in test] == ["CHECK_PINCODE", "SIZES", oos, oos]
    assert test[0].text == "is 560001 serviceable"


def test_read_examples_rejects_other_columns(hint3, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,intent\nhi,greet\n")
    with pytest.raises(ValueError, match="missing columns"):
        hint3.read_examples(bad)


def test_nlu_yaml_is_read_by_rasa_with_duplicates_and_conflicts_dropped(hint3, tmp_path):
    from rasa.shared.nlu.training_data.loading import load_data

    examples = hint3.read_examples(DATA / "hint3_tiny_train.csv")
    path = tmp_path / "nlu.yml"
    path.write_text(hint3.to_nlu_yaml(examples))
    data = load_data(str(path))
    got = sorted((m.get("intent"), m.get("text")) for m in data.intent_examples)
    assert got == [
        ("CHECK_PINCODE", "do you ship to my pin code"),
        ("CHECK_PINCODE", "pincode check please"),
        ("SIZES", "Sizes (king) available?"),
        ("SIZES", "extra spaces here"),
        ("SIZES", "pin code?"),
        ("SIZES", "what sizes, exactly, do you make"),
    ]
    assert data.entity_examples == []


def test_out_of_scope_rows_never_become_training_examples(hint3):
    rows = [hint3.Example("hi", "NO_NODES_DETECTED"), hint3.Example("emi?", "EMI")]
    text = hint3.to_nlu_yaml(rows)
    assert "NO_NODES_DETECTED" not in text and "emi?" in text


def test_score_counts_fallback_as_right_only_for_out_of_scope(hint3):
    labels = ["A", "A", "B", "NO_NODES_DETECTED", "NO_NODES_DETECTED"]
    predicted = ["A", "nlu_fallback", "A", "nlu_fallback", "B"]
    result = hint3.score(labels, predicted)
    assert result == {
        "rows": 5,
        "oos_rows": 2,
        "accuracy": pytest.approx(2 / 5),
        "inscope_accuracy": pytest.approx(1 / 3),
        "oos_recall": pytest.approx(1 / 2),
    }
    with pytest.raises(ValueError):
        hint3.score(["A"], [])


def test_apply_fallback_mirrors_threshold_and_ambiguity(hint3):
    ranking = (("A", 0.70), ("B", 0.25))
    assert hint3.apply_fallback(ranking, 0.6, 0.1) == "A"
    assert hint3.apply_fallback(ranking, 0.8, 0.1) == "nlu_fallback"
    assert hint3.apply_fallback((("A", 0.50), ("B", 0.45)), 0.3, 0.1) == "nlu_fallback"
    assert hint3.apply_fallback((("nlu_fallback", 0.9), ("A", 0.9)), 0.5, 0.1) == "A"
    assert hint3.apply_fallback((), 0.5, 0.1) == "nlu_fallback"


def test_sweep_recomputes_accuracy_per_threshold(hint3):
    predictions = [
        hint3.Prediction("A", (("A", 0.95), ("B", 0.01))),
        hint3.Prediction("A", (("A", 0.45), ("B", 0.05))),
    ]
    result = hint3.sweep(["A", "NO_NODES_DETECTED"], predictions, 0.1)
    assert result["0.1"]["accuracy"] == 0.5  # both predicted A
    assert result["0.5"]["accuracy"] == 1.0  # second falls back, which is right
    assert result["0.9"]["accuracy"] == 1.0


def test_published_results_take_each_platforms_best_accuracy(hint3):
    best = hint3.published_results(DATA / "published_tiny", "tiny")
    assert best == {
        "rasa": {"threshold": 0.5, "accuracy": 0.6, "inscope_accuracy": 0.64, "oos_recall": 0.39}
    }


def test_our_config_has_a_fallback_and_can_be_overridden(hint3):
    config = hint3.nlu_config(REPO_ROOT / "config.yml")
    assert "policies" not in config
    threshold, ambiguity = hint3.fallback_settings(config)
    assert 0 < threshold < 1 and 0 <= ambiguity < 1
    changed = hint3.with_fallback(config, 0.42, 0.07)
    assert hint3.fallback_settings(changed) == (0.42, 0.07)
    assert hint3.fallback_settings(config) == (threshold, ambiguity)  # original untouched
    pipeline = [c for c in config["pipeline"] if c["name"] != "FallbackClassifier"]
    no_fallback = {**config, "pipeline": pipeline}
    with pytest.raises(ValueError):
        hint3.fallback_settings(no_fallback)


def test_pseudo_oos_split_uses_only_train_rows(hint3):
    examples = [hint3.Example(f"text {i}", f"L{i % 8}") for i in range(80)]
    train, dev = hint3.pseudo_oos_split(examples, seed=3)
    assert len(train) + len(dev) == 80
    oos = [e for e in dev if e.label == "NO_NODES_DETECTED"]
    held_out = {e.text for e in oos}
    assert len(oos) == 20  # 2 of 8 labels, 10 rows each
    assert not held_out & {e.text for e in train}
    assert "NO_NODES_DETECTED" not in {e.label for e in train}
    assert hint3.pseudo_oos_split(examples, seed=3) == (train, dev)


def test_dataset_files_follow_the_v1_and_v2_layout(hint3, tmp_path):
    assert hint3.dataset_files(tmp_path, "v2", "curekart") == (
        tmp_path / "hint3_ecommerce_intents" / "curekart_train.csv",
        tmp_path / "hint3_ecommerce_intents" / "curekart_test.csv",
    )
    assert hint3.dataset_files(tmp_path, "v1", "sofmattress")[1] == (
        tmp_path / "hint3_ecommerce_intents" / "v1_paper" / "sofmattress_test.csv"
    )


def test_balanced_accuracy_ignores_the_oos_share(hint3):
    few_oos = hint3.score(["A"] * 9 + ["NO_NODES_DETECTED"], ["A"] * 9 + ["B"])
    many_oos = hint3.score(["A"] + ["NO_NODES_DETECTED"] * 9, ["A"] + ["B"] * 9)
    assert few_oos["accuracy"] == 0.9 and many_oos["accuracy"] == 0.1
    assert hint3.balanced(few_oos) == hint3.balanced(many_oos) == 0.5
