import pytest

from bot import cli


def test_demo_data_and_db_commands(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SHOP_IMAGES_DIR", str(tmp_path / "env-images"))
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert cli.main(["db", "--database-url", url, "current"]) == 0
    assert "not migrated" in capsys.readouterr().out
    assert cli.main(["db", "--database-url", url, "upgrade"]) == 0
    assert cli.main(["db", "--database-url", url, "current"]) == 0
    assert "up to date" in capsys.readouterr().out

    # The year of logged needs (the need extractor over 5,000 messages) is tested in
    # tests/demo/test_needs.py; here it is left out to keep this test fast.
    args = ["demo-data", "--database-url", url, "--customers", "12", "--seed", "3",
            "--anchor-date", "2026-06-15", "--need-messages", "0"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "12 customers" in out[0]
    assert len(list((tmp_path / "env-images" / "products").glob("*.svg"))) >= 300
    assert cli.main(args + ["--if-missing"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert cli.main(args + ["--if-missing", "--images-dir", str(tmp_path / "other")]) == 0
    assert "missing product images" in capsys.readouterr().out  # none in that folder yet
    assert len(list((tmp_path / "other" / "products").glob("*.svg"))) >= 300

    # Building again without --if-missing is an error: one line, exit 2, no traceback.
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [
    [],
    ["no-such-command"],
    ["demo-data", "--anchor-date", "15/06/2026"],
    ["demo-data", "--customers", "lots"],
    ["demo-data", "--customers", "1"],
    ["demo-data", "--need-messages", "-1"],
])
def test_bad_arguments_exit_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err


def test_unusable_database_url_is_one_line(capsys):
    assert cli.main(["db", "--database-url", "nosuchdb://x/y", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_missing_command_modules_are_skipped(monkeypatch):
    monkeypatch.setattr(cli, "COMMAND_MODULES", cli.COMMAND_MODULES + ("bot.nope.cli",))
    parser = cli.build_parser()
    assert "demo-data" in parser.format_help()


def test_broken_command_module_warns_and_is_skipped(monkeypatch, tmp_path, capsys):
    pkg = tmp_path / "brokencmds"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "cli.py").write_text("import not_a_real_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("brokencmds.cli", "bot.store.cli"))
    parser = cli.build_parser()
    assert "db" in parser.format_help()
    assert "brokencmds.cli unavailable" in capsys.readouterr().err
