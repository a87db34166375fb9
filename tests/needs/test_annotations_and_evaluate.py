import json

import pytest

from bot.needs import annotations
from bot.needs.cli import register
from bot.needs.evaluate import score


def test_markup_parses_nested_spans_and_gold():
    parsed = annotations.parse_line(
        "a [red](colour) [[wool](attr) scarf](product) for my [grandma](recip=grandmother), "
        "[between £5 and £9](price=5-9)", "x")
    assert parsed.text == "a red wool scarf for my grandma, between £5 and £9"
    assert parsed.gold() == {"colour": ["red"], "product": ["wool scarf"], "attributes": ["wool"],
                             "recipient": ["grandmother"], "price_min": 5, "price_max": 9}
    assert [lab for _, _, lab in parsed.ner_spans()] == ["PRODUCT", "RECIPIENT"]


def test_committed_gold_files_match_the_markup(tmp_path):
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    n_train, n_test = annotations.build_gold_files(train_path=train, test_path=test)
    assert n_train + n_test >= 400 and n_test >= 80
    assert train.read_text() == annotations.TRAIN_PATH.read_text()
    assert test.read_text() == annotations.TEST_PATH.read_text()
    texts = [r["text"] for r in annotations.read_jsonl(test)]
    assert not set(texts) & {r["text"] for r in annotations.read_jsonl(train)}


def test_score_counts_per_field_and_no_need():
    gold = [{"id": 1, "text": "", "gold": {"product": ["football boots"], "price_max": 40}},
            {"id": 2, "text": "", "gold": {}}]
    predictions = [[{"product": "football boot", "price_max": 50}], [{"product": "mug"}]]
    report = score(gold, predictions)
    assert report.fields["product"].tp == 1 and report.fields["product"].fp == 1
    assert report.fields["price_max"].fp == 1 and report.fields["price_max"].fn == 1
    assert report.no_need_messages == 1 and report.no_need_rate == 0.0


def test_evaluate_command_on_a_small_gold_file(tmp_path, capsys, extractor):
    import argparse

    from bot.services import Services
    from bot.settings import Settings

    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "text": "looking for a red wool scarf under £40",
         "gold": {"product": ["wool scarf"], "attributes": ["wool"], "colour": ["red"],
                  "price_max": 40}},
        {"id": "b", "text": "where is my parcel?", "gold": {}},
    ]))
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["needs", "evaluate", "--gold", str(gold), "--json"])
    args.services = Services(Settings.from_env({}), extractor=extractor)
    assert args.handler(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["messages"] == 2
    assert report["no_need"] == {"messages": 1, "correct": 1, "rate": 1.0}
    assert report["fields"]["colour"]["f1"] == 1.0
    assert report["fields"]["price_max"]["tp"] == 1


def test_conversation_markup_numbers_conversations_and_turns(tmp_path):
    source = tmp_path / "conversations.txt"
    source.write_text("# a comment\n==\nlooking for a [kettle](product)\n[white](colour) please\n"
                      "==\nwhere's my parcel?\n")
    records = annotations.load_conversations(source, "zz")
    assert [(r["id"], r["conversation"], r["turn"]) for r in records] == [
        ("zz-001-1", "zz-001", 1), ("zz-001-2", "zz-001", 2), ("zz-002-1", "zz-002", 1)]
    assert records[1]["gold"] == {"colour": ["white"]} and records[2]["gold"] == {}
    source.write_text("a turn before any conversation\n")
    with pytest.raises(annotations.MarkupError):
        annotations.load_conversations(source, "zz")


def test_committed_conversation_files_match_their_markup():
    for source, path, prefix in annotations.CONVERSATION_FILES:
        assert source.exists(), source
        records = annotations.load_conversations(source, prefix)
        assert records == annotations.read_jsonl(path), f"{path.name}: run needs build-data"
    test_texts = {r["text"] for r in annotations.read_jsonl(annotations.CONVERSATIONS_TEST_PATH)}
    assert len(test_texts) >= 100
    trained = {r["text"] for path in (annotations.TRAIN_PATH,
                                      annotations.CONVERSATIONS_TRAIN_PATH)
               for r in annotations.read_jsonl(path)}
    # chatter ("thanks", "ok") and two-word fragments ("size 5", "under 40") recur naturally;
    # a longer line that states a need must not
    stated = {r["text"] for r in annotations.read_jsonl(annotations.CONVERSATIONS_TEST_PATH)
              if r["gold"] and len(r["text"].split()) > 2}
    assert not stated & trained
