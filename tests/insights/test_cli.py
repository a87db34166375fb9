"""``python -m bot insights ...``: the contract's JSON shapes, the tables, bad arguments."""
from __future__ import annotations

import json

import pytest

from bot.cli import main
from tests.insights.needlog import hand_built, log

THEME_KEYS = {"label", "recent", "before", "growth", "p_value", "examples"}


@pytest.fixture
def logged(shop, db_url):
    log(shop, hand_built())
    return db_url


def _run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["insights", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_emerging_json_contract(logged, capsys):
    code, out, _ = _run(capsys, "emerging", "--as-of", "2026-06-14", "--weeks", "4", "--json",
                        "--database-url", logged)
    assert code == 0
    data = json.loads(out)
    assert isinstance(data["themes"], list)
    for theme in data["themes"]:
        assert THEME_KEYS <= set(theme)


def test_unmet_json_contract(logged, capsys):
    code, out, _ = _run(capsys, "unmet", "--since", "2026-06-01", "--until", "2026-06-15",
                        "--by", "attribute", "--json", "--database-url", logged)
    assert code == 0
    data = json.loads(out)
    assert [(r["value"], r["unmet"]) for r in data["rows"]] == [("waterproof", 3),
                                                                ("lightweight", 2)]
    assert set(data["rows"][0]) >= {"expected_value", "reasons", "examples", "shoppers"}


def test_top_json_and_table(logged, capsys):
    code, out, _ = _run(capsys, "top", "--since", "2026-06-01", "--until", "2026-06-15",
                        "--by", "colour", "--json", "--database-url", logged)
    assert code == 0
    assert {r["value"] for r in json.loads(out)["rows"]} == {"red", "brown", "blue"}
    code, out, _ = _run(capsys, "top", "--since", "2026-06-01", "--until", "2026-06-15",
                        "--by", "product", "--database-url", logged)
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["product", "needs", "unmet"]
    assert lines[2].startswith("rain jacket")


def test_tables_of_emerging_unmet_and_volume(logged, capsys):
    for argv in (("emerging", "--as-of", "2026-06-14"), ("unmet", "--since", "2026-06-01"),
                 ("volume", "--since", "2026-06-01", "--bucket", "month")):
        code, out, err = _run(capsys, *argv, "--database-url", logged)
        assert code == 0 and out and not err


@pytest.mark.parametrize("argv, message", [
    (("top", "--since", "2026-13-01", "--by", "product"), "must be a date"),
    (("top", "--since", "2026-06-01", "--by", "shoe"), "invalid choice"),
    (("unmet", "--since", "2099-01-01"), "in the future"),
    (("unmet", "--since", "2026-06-10", "--until", "2026-06-01"), "the period is empty"),
    (("top", "--since", "2026-06-01", "--by", "product", "--category", "spaceships"),
     "unknown category"),
    (("emerging", "--as-of", "2099-01-01", "--json"), "in the future"),
    (("emerging", "--weeks", "0"), "positive whole number"),
])
def test_bad_arguments_exit_2_with_one_clear_line(logged, capsys, argv, message):
    capsys.readouterr()
    try:
        code = main(["insights", *argv, "--database-url", logged])
    except SystemExit as exit_:  # argparse refuses before the command runs
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_rebuild_command(logged, capsys):
    code, out, _ = _run(capsys, "rebuild", "--database-url", logged)
    assert code == 0 and out.startswith("rebuilt: 8 needs")
