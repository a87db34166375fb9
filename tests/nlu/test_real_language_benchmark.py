"""The real-language benchmark's reading and scoring (benchmarks/real_language.py), on tiny data."""
from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from bot.settings import REPO_ROOT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "real_language", REPO_ROOT / "benchmarks" / "real_language.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_language"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("real_language", None)


def P(bench, intent, *ranking):
    return bench.hint3.Prediction(intent, tuple(ranking))


def test_every_source_topic_maps_to_intents_of_our_domain(bench):
    import yaml

    intents = set(yaml.safe_load((REPO_ROOT / "domain.yml").read_text())["intents"])
    assert len(bench.BITEXT_MAP) == 27
    for topic, ours in bench.BITEXT_MAP.items():
        assert ours and set(ours) <= intents, topic


def test_read_dev_checks_columns_and_skips_blank_rows(bench, tmp_path):
    path = tmp_path / "dev.csv"
    path.write_text('text,bitext_intent\n"cancel  it, now",cancel_order\n,track_order\n')
    assert bench.read_dev(path) == [bench.DevRow("cancel it, now", "cancel_order")]
    (tmp_path / "bad.csv").write_text("sentence,label\nhi,greet\n")
    with pytest.raises(ValueError, match="missing columns"):
        bench.read_dev(tmp_path / "bad.csv")


def test_score_counts_fallbacks_wrong_answers_alternatives_and_unmapped(bench):
    rows = [bench.DevRow("a", "get_refund"), bench.DevRow("b", "get_refund"),
            bench.DevRow("c", "track_refund"), bench.DevRow("d", "contact_customer_service"),
            bench.DevRow("e", "no_such_topic")]
    predictions = [
        P(bench, "request_refund", ("request_refund", 0.9)),
        P(bench, "nlu_fallback", ("request_refund", 0.4), ("refund_policy", 0.3)),
        P(bench, "track_order", ("track_order", 0.8), ("track_refund", 0.1)),
        P(bench, "human_handoff", ("human_handoff", 0.7)),  # the second accepted intent
        P(bench, "greet", ("greet", 0.9)),
    ]
    result = bench.score_dev(rows, predictions)
    assert result["rows"] == 5 and result["scored"] == 4
    assert result["excluded_unmapped"] == {"no_such_topic": 1}
    assert result["accuracy"] == 0.5  # a and d
    assert result["accuracy_first_intent_only"] == 0.25  # d's human_handoff is the second
    assert result["accuracy_without_threshold"] == 0.75  # b's top intent was right
    assert result["fallback_rate"] == 0.25 and result["wrong_rate"] == 0.25
    assert result["per_topic"]["get_refund"] == {
        "ours": ["request_refund"], "n": 2, "recall": 0.5, "recall_without_threshold": 1.0,
        "fallback": 1}
    assert result["top_confusions"] == [
        {"expected": "track_refund", "predicted": "track_order", "count": 1}]
    with pytest.raises(ValueError):
        bench.score_dev(rows, predictions[:2])


def test_sweep_recomputes_the_fallback_and_picks_right_minus_wrong(bench):
    rows = [bench.DevRow("a", "get_refund"), bench.DevRow("b", "track_refund"),
            bench.DevRow("c", "track_refund")]
    predictions = [P(bench, "x", ("request_refund", 0.95)),
                   P(bench, "x", ("track_order", 0.55), ("track_refund", 0.40)),
                   P(bench, "x", ("track_refund", 0.45), ("track_order", 0.40))]
    sweep = {row["threshold"]: row for row in bench.sweep_dev(rows, predictions, 0.1,
                                                              (0.3, 0.5, 0.6))}
    # 0.3: a right, b wrong, c within the ambiguity margin -> fallback
    assert sweep[0.3] == {"threshold": 0.3, "accuracy": pytest.approx(1 / 3, abs=1e-4),
                          "fallback_rate": pytest.approx(1 / 3, abs=1e-4),
                          "wrong_rate": pytest.approx(1 / 3, abs=1e-4), "net": 0.0}
    assert sweep[0.6]["net"] == pytest.approx(1 / 3, abs=1e-4)  # b falls back: no wrong answer
    assert bench.best_threshold(list(sweep.values())) == 0.6
    tie = [{"threshold": 0.4, "net": 0.2, "wrong_rate": 0.1},
           {"threshold": 0.5, "net": 0.2, "wrong_rate": 0.05}]
    assert bench.best_threshold(tie) == 0.5  # fewer wrong answers
    assert bench.best_threshold([dict(r, wrong_rate=0.1) for r in tie]) == 0.4


def test_errors_list_only_what_the_bot_got_wrong(bench):
    rows = [bench.DevRow("fine", "get_refund"), bench.DevRow("unsure", "get_refund")]
    predictions = [P(bench, "request_refund", ("request_refund", 0.9)),
                   P(bench, "nlu_fallback", ("refund_policy", 0.41))]
    assert bench.errors(rows, predictions) == [
        {"topic": "get_refund", "expected": "request_refund", "answered": "nlu_fallback",
         "top": "refund_policy", "confidence": 0.41, "text": "unsure"}]


def test_needs_lines_of_a_conversation_get_their_history(bench, tmp_path):
    path = tmp_path / "gold.jsonl"
    lines = [
        {"id": "c1-1", "conversation": "c1", "turn": 1, "text": "a yoga mat please",
         "gold": {"product": ["yoga mat"]}},
        {"id": "x-1", "text": "where is my parcel", "gold": {}},
        {"id": "c1-2", "conversation": "c1", "turn": 2, "text": "lilac if you have it",
         "gold": {"colour": ["lilac"]}},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    records = bench.read_needs_gold(path)
    seen = []

    def fake(text, history):
        seen.append((text, history))
        return {"a yoga mat please": [{"product": "yoga mat"}],
                "lilac if you have it": [{"colour": "lilac", "product": "mat"}]}.get(text, [])

    predictions = bench.extract_in_order(records, fake)
    assert seen[2] == ("lilac if you have it", ("a yoga mat please",))
    assert seen[1] == ("where is my parcel", ())
    result = bench.score_needs(records, predictions)
    assert result["lines"] == 3 and result["conversations"] == 1
    assert result["micro"]["tp"] == 2 and result["micro"]["fp"] == 1
    assert result["no_need"] == {"messages": 1, "correct": 1, "rate": 1.0}
    (tmp_path / "bad.jsonl").write_text('{"id": 1, "text": "no gold"}\n')
    with pytest.raises(ValueError, match="'text' and 'gold'"):
        bench.read_needs_gold(tmp_path / "bad.jsonl")


def test_speed_against_interleaves_rounds_and_reports_both(bench):
    calls = []

    class Fake:
        def __init__(self, name):
            self.name = name

        async def parse_message(self, text):
            calls.append(self.name)
            return {"intent": {"name": "greet", "confidence": 1.0},
                    "intent_ranking": [{"name": "greet", "confidence": 1.0}]}

    result = bench.speed_against({"ours": Fake("a"), "other": Fake("b")}, ["hi"] * 20, rounds=2)
    assert set(result) == {"ours", "other", "load_average_1m", "messages"}
    assert result["messages"] == 20 and len(result["ours"]["rounds"]) == 2
    # warm-up a, b; round 1: a then b; round 2: b then a
    assert calls[40:60] == ["a"] * 20 and calls[60:80] == ["b"] * 20
    assert calls[80:100] == ["b"] * 20 and calls[100:] == ["a"] * 20


def test_stated_needs_are_the_product_lines_and_are_scored_as_product_search(bench, tmp_path):
    gold = tmp_path / "needs.jsonl"
    lines = [{"id": "1", "text": "any wool jumpers in M?", "gold": {"product": ["wool jumpers"]}},
             {"id": "2", "text": "under 30 please", "gold": {"price_max": 30}},
             {"id": "3", "text": "hi there", "gold": {}},
             {"id": "4", "text": "a tripod for my phone", "gold": {"product": ["tripod"]}},
             {"id": "5", "text": "need a yoga mat", "gold": {"product": ["yoga mat"]}}]
    gold.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert bench.stated_need_texts([gold]) == [
        "any wool jumpers in M?", "a tripod for my phone", "need a yoga mat"]
    result = bench.score_stated_needs([
        P(bench, "product_search", ("product_search", 0.9)),
        P(bench, "nlu_fallback", ("product_search", 0.2), ("out_of_scope", 0.1)),
        P(bench, "complaint", ("complaint", 0.5), ("product_search", 0.3)),
    ])
    assert result == {"messages": 3, "accuracy": 0.333, "top_intent_accuracy": 0.667,
                      "fallback_rate": 0.333, "elsewhere": {"complaint": 1}}
    assert "0.333 as answered" in bench.format_stated_needs(result)
