"""Review corrections, the review inbox and the training data export (bot.console.review)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bot import audit
from bot.console import review
from bot.console.review import ReviewError
from bot.store.models import ReviewCorrection

C = "conv-1"
# The shared examples sit beside the repository (../shared, see ../shared/DESIGN.md); absent: skipped.
GOLD_EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "examples" / "needs_examples.jsonl"


def _correct(services, tracker, staff, event_id, kind="correct", conversation=C, **extra):
    return review.correct(services, staff_id=staff.id, conversation_id=conversation,
                          event_id=event_id, kind=kind, tracker=tracker, **extra)


# --- the domain and the need format -------------------------------------------------------------

def test_domain_intents_come_from_domain_yml():
    intents = review.domain_intents()
    assert "product_search" in intents and "track_order" in intents
    assert "nlu_fallback" not in intents and list(intents) == sorted(intents)


def test_need_keys_are_the_gold_format():
    if not GOLD_EXAMPLES.exists():
        pytest.skip("shared examples not on this machine")
    for line in GOLD_EXAMPLES.read_text().splitlines():
        gold = json.loads(line)["gold"]
        assert set(gold) <= set(review.NEED_KEYS)
        for key, value in gold.items():
            assert isinstance(value, list) == (key in review.NEED_LIST_KEYS), key
        if gold:
            assert review.validate_need(gold) == gold  # already normal: unchanged


def test_need_validation():
    assert review.validate_need({"product": "wool scarf", "colour": "red, navy",
                                 "price_max": "40", "size": "", "brand": None}) == {
        "product": ["wool scarf"], "colour": ["red", "navy"], "price_max": 40}
    assert review.validate_need({"product": ["boots"], "price_min": 9.5, "quantity": "2",
                                 "currency": "gbp", "needed_by": "2026-12-20",
                                 "category": "footwear"}) == {
        "product": ["boots"], "price_min": 9.5, "quantity": 2, "currency": "GBP",
        "needed_by": "2026-12-20", "category": "footwear"}
    assert review.validate_need({"product": "gift for jo@example.com"})["product"] == [
        "gift for [email]"]
    bad = [
        ({"colour": "red", "wings": 2}, "unknown need field"),
        ({}, "at least one"),
        ({"product": "", "size": []}, "at least one"),
        ("boots", "object"),
        ({"price_max": "cheap"}, "number"),
        ({"price_max": -1}, "positive"),
        ({"price_max": "nan"}, "positive"),
        ({"price_min": 50, "price_max": 20}, "more than"),
        ({"quantity": 0}, "whole number"),
        ({"quantity": True}, "whole number"),
        ({"currency": "pounds"}, "ISO"),
        ({"needed_by": "next week"}, "date"),
        ({"product": "x" * 201}, "too long"),
        ({"product": {"a": 1}}, "list"),
    ]
    for raw, message in bad:
        with pytest.raises(ReviewError, match=message):
            review.validate_need(raw)


# --- corrections ----------------------------------------------------------------------------------

def test_a_correction_reads_the_message_from_the_tracker_and_redacts_it(
        console_services, tracker, tracker_file, people):
    event = tracker_file.user(C, "mail me at jo@example.com or 07700 900123 about boots",
                              "product_search", 0.42)
    correction_id = _correct(console_services, tracker, people["agent"], event, kind="intent",
                             corrected_intent="track_order")
    with console_services.unit_of_work() as s:
        row = s.get(ReviewCorrection, correction_id)
        assert row.text == "mail me at [email] or [phone] about boots"
        assert (row.kind, row.predicted_intent, row.confidence, row.corrected_intent) == (
            "intent", "product_search", 0.42, "track_order")
        assert (row.status, row.created_by, row.conversation_id, row.event_id) == (
            "pending", people["agent"].id, C, event)


def test_corrections_refuse_what_is_not_a_shopper_message(console_services, tracker,
                                                          tracker_file, people):
    agent = people["agent"]
    user = tracker_file.user(C, "hello", "greet", 0.5)
    bot = tracker_file.bot(C, "Hi!", utter_action="utter_greet")
    button = tracker_file.user(C, "/affirm", "affirm", 1.0)
    other = tracker_file.user("other", "hi", "greet", 0.5)
    cases = [
        (dict(event_id=bot), "not a shopper message"),
        (dict(event_id=other), "not a message of conversation"),
        (dict(event_id=999), "not a message of conversation"),
        (dict(event_id=button), "typed"),
        (dict(event_id="12x"), "whole number"),
        (dict(event_id=0), "whole number"),
        (dict(event_id=user, conversation=""), "conversation_id"),
        (dict(event_id=user, kind="nonsense"), "kind must be one of"),
        (dict(event_id=user, kind="intent", corrected_intent="nlu_fallback"), "domain"),
        (dict(event_id=user, kind="intent"), "domain"),
        (dict(event_id=user, kind="need", need={"wings": 1}), "unknown need field"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ReviewError, match=message):
            _correct(console_services, tracker, agent, **kwargs)
    with pytest.raises(ReviewError, match="analyst may not"):
        _correct(console_services, tracker, people["analyst"], user)
    with console_services.unit_of_work() as s:
        assert s.query(ReviewCorrection).count() == 0


def test_a_second_correction_replaces_the_pending_one(console_services, tracker, tracker_file,
                                                      people, clock):
    event = tracker_file.user(C, "any red scarves", "greet", 0.3)
    first = _correct(console_services, tracker, people["agent"], event, kind="intent",
                     corrected_intent="product_search")
    clock.advance(minutes=5)
    again = _correct(console_services, tracker, people["agent"], event, kind="need",
                     need={"product": "scarf", "colour": "red"})
    assert again == first
    row = review.get(console_services, first)
    assert (row.kind, row.corrected_intent, row.need) == (
        "need", None, {"colour": ["red"], "product": ["scarf"]})
    assert row.created_at == clock.now
    # somebody else's correction of the same message is their own
    lead = _correct(console_services, tracker, people["lead"], event)
    assert lead != first
    # once decided, a new correction is a new pending one
    review.decide(console_services, lead_id=people["lead"].id, correction_id=first,
                  approve=False)
    later = _correct(console_services, tracker, people["agent"], event)
    assert later not in (first, lead)
    assert [c.id for c in review.pending(console_services)] == [lead, later]


def test_a_lead_decides_with_an_audit_record(console_services, tracker, tracker_file, people,
                                             clock):
    event = tracker_file.user(C, "where is my parcel", "greet", 0.3)
    correction = _correct(console_services, tracker, people["agent"], event, kind="intent",
                          corrected_intent="track_order")
    with pytest.raises(ReviewError, match="agent may not"):
        review.decide(console_services, lead_id=people["agent"].id, correction_id=correction,
                      approve=True)
    clock.advance(minutes=3)
    view = review.decide(console_services, lead_id=people["lead"].id,
                         correction_id=correction, approve=True)
    assert (view.status, view.decided_by, view.decided_by_name, view.decided_at) == (
        "approved", people["lead"].id, "Lee Lead", clock.now)
    assert view.created_by_name == "Sam <Agent>"
    with pytest.raises(review.AlreadyDecided):
        review.decide(console_services, lead_id=people["lead"].id, correction_id=correction,
                      approve=False)
    with pytest.raises(review.CorrectionNotFound):
        review.decide(console_services, lead_id=people["lead"].id, correction_id=999,
                      approve=True)
    with console_services.unit_of_work() as s:
        records = audit.recent(s, action="review_decided")
    assert len(records) == 1
    assert records[0].actor == "staff:lead@example-shop.co.uk"
    assert records[0].subject == f"correction:{correction}"
    assert records[0].detail["decision"] == "approved"
    assert records[0].detail["corrected_intent"] == "track_order"
    assert [c.status for c in review.list_corrections(console_services)] == ["approved"]
    assert review.list_corrections(console_services, status="pending") == []
    with pytest.raises(ReviewError):
        review.list_corrections(console_services, status="weird")


# --- the inbox ------------------------------------------------------------------------------------

def test_the_inbox_lists_the_least_understood_unreviewed_messages(
        console_services, tracker, tracker_file, people, clock):
    old = tracker_file.user("a", "ancient", "greet", 0.01, at=clock.now - timedelta(days=8))
    tracker_file.now = clock.now - timedelta(days=2)
    sure = tracker_file.user("a", "hello", "greet", 0.99)
    low = tracker_file.user("a", "hmm boots maybe", "product_search", 0.31)
    fallback = tracker_file.user("b", "blorp", "nlu_fallback", 0.6,
                                 ranking=[("nlu_fallback", 0.6), ("greet", 0.22)])
    tracker_file.user("b", "/affirm", "affirm", 0.05)
    tracker_file.user("b", "   ", "greet", 0.02)
    reviewed = tracker_file.user("b", "reviewed already", "greet", 0.03)
    tie_old = tracker_file.user("c", "tie one", "deny", 0.5)
    tie_new = tracker_file.user("c", "tie two", "deny", 0.5)
    tracker_file.bot("c", "a bot message", utter_action="utter_greet")
    _correct(console_services, tracker, people["agent"], reviewed, conversation="b")

    items = review.inbox(console_services, tracker, days=7)
    assert [i.event_id for i in items] == [fallback, low, tie_new, tie_old, sure]
    first = items[0]
    assert (first.conversation_id, first.text, first.confidence) == ("b", "blorp", 0.22)
    assert first.intent.name == "nlu_fallback" and first.runner_up.name == "greet"
    assert [i.event_id for i in review.inbox(console_services, tracker, days=7, limit=2)] == [
        fallback, low]
    assert old in [i.event_id for i in review.inbox(console_services, tracker, days=9)]
    with pytest.raises(ReviewError):
        review.inbox(console_services, tracker, days=0)
    # "understood correctly" takes a message out of the inbox too
    _correct(console_services, tracker, people["lead"], low, conversation="a")
    assert low not in [i.event_id for i in review.inbox(console_services, tracker)]


def test_an_empty_tracker_store_has_an_empty_inbox(console_services, tracker, tracker_file):
    assert review.inbox(console_services, tracker) == []


# --- export -------------------------------------------------------------------------------------

TRICKY = [
    "where's my order?",
    '# not a comment: "quoted" & colon: yes',
    "café for £50 — ünïcode",
    "{json: 1} and - a dash",
    "see [this](http://example.com) link",
    "multi\nline   text\twith tabs",
    "'single quote start",
]


def _approved(services, tracker, tracker_file, people, texts, intent, kind="intent", **extra):
    ids = []
    for text in texts:
        event = tracker_file.user(C, text, "greet", 0.3)
        if kind == "intent":
            extra["corrected_intent"] = intent
        correction = _correct(services, tracker, people["agent"], event, kind=kind, **extra)
        review.decide(services, lead_id=people["lead"].id, correction_id=correction,
                      approve=True)
        ids.append(correction)
    return ids


def _nlu_dir(tmp_path) -> Path:
    nlu = tmp_path / "nlu_data"
    (nlu / "nlu").mkdir(parents=True)
    (nlu / "nlu" / "orders.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: track_order\n  examples: |\n'
        "    - where is my [SH-123456](order_number)\n    - Where's my order?\n")
    return nlu


def test_export_rasa_writes_nlu_yaml_rasa_reads_back(console_services, tracker, tracker_file,
                                                     people, tmp_path):
    _approved(console_services, tracker, tracker_file, people, TRICKY, "product_search")
    _approved(console_services, tracker, tracker_file, people,
              ["cancel it please", "cancel   it please"], "cancel_order")
    # pending and rejected corrections are not training data
    pending = tracker_file.user(C, "pending text", "greet", 0.3)
    _correct(console_services, tracker, people["agent"], pending, kind="intent",
             corrected_intent="greet")
    rejected = tracker_file.user(C, "rejected text", "greet", 0.3)
    review.decide(console_services, lead_id=people["lead"].id, approve=False,
                  correction_id=_correct(console_services, tracker, people["agent"], rejected,
                                         kind="intent", corrected_intent="greet"))
    nlu = _nlu_dir(tmp_path)
    out = nlu / "reviewed" / "review_corrections.yml"
    count = review.export(console_services, "rasa", out, nlu_dir=nlu)
    # "where's my order?" is hand-written already; "cancel it please" is there once
    assert count == len(TRICKY) - 1 + 1
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Written by") and "version: '3.1'" in text
    assert "  examples: |\n    - " in text  # literal blocks, as people write them
    data = load_data(str(out))
    examples = {(m.get("intent"), m.get("text")) for m in data.training_examples}
    assert examples == {
        ("product_search", '# not a comment: "quoted" & colon: yes'),
        ("product_search", "café for £50 — ünïcode"),
        ("product_search", "{json: 1} and - a dash"),
        ("product_search", "see (this)(http://example.com) link"),
        ("product_search", "multi line text with tabs"),
        ("product_search", "'single quote start"),
        ("cancel_order", "cancel it please"),
    }
    assert all(not m.get("entities") for m in data.training_examples)
    import yaml

    intents = [item["intent"] for item in yaml.safe_load(text)["nlu"]]
    assert intents == sorted(intents)
    assert not list(out.parent.glob("*.tmp"))


def test_export_rasa_with_nothing_approved_is_still_valid(console_services, tmp_path):
    out = tmp_path / "reviewed.yml"
    assert review.export(console_services, "rasa", out, nlu_dir=_nlu_dir(tmp_path)) == 0
    assert load_data(str(out)).training_examples == []


def test_export_never_writes_among_the_hand_written_files(console_services, tmp_path):
    nlu = _nlu_dir(tmp_path)
    with pytest.raises(ReviewError, match="hand-written"):
        review.export(console_services, "rasa", nlu / "nlu" / "orders.yml", nlu_dir=nlu)
    with pytest.raises(ReviewError, match=".yml"):
        review.export(console_services, "rasa", tmp_path / "out.json", nlu_dir=nlu)
    with pytest.raises(ReviewError, match="format"):
        review.export(console_services, "csv", tmp_path / "out.csv")
    assert "- Where's my order?" in (nlu / "nlu" / "orders.yml").read_text()


def test_the_default_export_path_is_under_nlu_data_reviewed():
    assert review.DEFAULT_RASA_OUT.parent == review.REPO_ROOT / "nlu_data" / "reviewed"
    assert review.DEFAULT_RASA_OUT.suffix == ".yml"


def test_export_needs_writes_gold_json_lines(console_services, tracker, tracker_file, people,
                                             tmp_path):
    ids = _approved(console_services, tracker, tracker_file, people,
                    ["red wool scarf for my gran, under 40, email gran@example.com"], None,
                    kind="need", need={"product": "wool scarf", "colour": "red",
                                       "attributes": ["wool"], "recipient": "grandmother",
                                       "price_max": 40})
    _approved(console_services, tracker, tracker_file, people, ["hello"], "greet")
    out = tmp_path / "deep" / "needs.jsonl"
    assert review.export(console_services, "needs", out) == 1
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == [{
        "id": f"review-{ids[0]}",
        "text": "red wool scarf for my gran, under 40, email [email]",
        "gold": {"product": ["wool scarf"], "attributes": ["wool"], "colour": ["red"],
                 "recipient": ["grandmother"], "price_max": 40},
    }]


# --- command line -------------------------------------------------------------------------------

def test_the_review_commands(console_services, tracker, tracker_file, people, tmp_path,
                             capsys, monkeypatch):
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", console_services.settings.database_url)
    tracker_file.now = datetime.utcnow() - timedelta(hours=1)  # commands use the real clock
    low = tracker_file.user(C, "boots =HYPERLINK(x)", "greet", 0.2)
    tracker_file.user(C, "hello", "greet", 0.9)
    _approved(console_services, tracker, tracker_file, people, ["where is SH-100001"],
              "track_order")
    assert main(["review", "inbox", "--days", "7", "--json", "--tracker-url",
                 tracker_file.url]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2 and lines[0]["event_id"] == low  # the approved one is reviewed
    assert main(["review", "inbox", "--tracker-url", tracker_file.url]) == 0
    assert "boots =HYPERLINK(x)" in capsys.readouterr().out
    assert main(["review", "list", "--status", "approved", "--json"]) == 0
    listed = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["status"], x["corrected_intent"]) for x in listed] == [
        ("approved", "track_order")]
    assert main(["review", "list"]) == 0
    assert "track_order" in capsys.readouterr().out
    out = tmp_path / "reviewed.yml"
    assert main(["review", "export", "--format", "rasa", "--out", str(out)]) == 0
    assert "wrote 1 example to" in capsys.readouterr().out
    assert main(["review", "export", "--format", "needs", "--out",
                 str(tmp_path / "n.jsonl")]) == 0
    assert main(["review", "inbox", "--days", "365", "--tracker-url", tracker_file.url]) == 2
    assert "at most 90" in capsys.readouterr().err
