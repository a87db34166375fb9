"""`python -m bot staff ...`: add, list, disable, password, ensure-demo."""
from __future__ import annotations

import io
import json

import pytest

from bot import cli
from bot.staff import accounts
from tests.staff.conftest import PASSWORD


@pytest.fixture
def run(db_url, monkeypatch, capsys):
    def run(*argv, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli.main(["staff", "--database-url", db_url, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _add(run, email="Sam@Example-Shop.co.uk", role="agent", password=PASSWORD):
    return run("add", "--email", email, "--name", "Sam Agent", "--role", role,
               "--password-stdin", stdin=password + "\n")


def test_add_and_list(run):
    code, out, err = _add(run)
    assert code == 0 and "sam@example-shop.co.uk" in out
    assert PASSWORD not in out + err
    assert _add(run, email="ana@example-shop.co.uk", role="analyst")[0] == 0
    code, out, _ = run("list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("EMAIL")
    assert "ana@example-shop.co.uk" in lines[1] and "analyst" in lines[1]
    assert "sam@example-shop.co.uk" in lines[2] and "active" in lines[2]
    code, out, _ = run("list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["email"], r["role"], r["active"]) for r in rows] == [
        ("ana@example-shop.co.uk", "analyst", True), ("sam@example-shop.co.uk", "agent", True)]
    assert all("password" not in key for r in rows for key in r)


def test_short_password_duplicate_email_and_bad_role_are_refused(run):
    code, out, err = _add(run, password="too short")
    assert code == 2 and "at least 12" in err
    assert _add(run)[0] == 0
    code, _, err = _add(run, email="SAM@example-shop.co.uk")
    assert code == 2 and "already exists" in err
    with pytest.raises(SystemExit) as exit_:
        _add(run, role="admin")
    assert exit_.value.code == 2


def test_prompted_password_must_be_typed_twice_the_same(run, monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "?"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = run("add", "--email", "x@example.com", "--name", "X", "--role", "lead")
    assert code == 2 and "differ" in err
    answers = iter([PASSWORD, PASSWORD])
    code, _, _ = run("add", "--email", "x@example.com", "--name", "X", "--role", "lead")
    assert code == 0


def test_disable_and_password(run, staff_services):
    _add(run)
    code, out, _ = run("password", "--email", "sam@example-shop.co.uk", "--password-stdin",
                       stdin="another good password\n")
    assert code == 0 and "another good password" not in out
    assert accounts.authenticate(staff_services, "sam@example-shop.co.uk", "another good password")
    assert run("disable", "--email", "sam@example-shop.co.uk")[0] == 0
    with pytest.raises(accounts.LoginFailed):
        accounts.authenticate(staff_services, "sam@example-shop.co.uk", "another good password")
    assert "disabled" in run("list")[1]
    code, _, err = run("disable", "--email", "nobody@example.com")
    assert code == 2 and "no staff account" in err


def test_ensure_demo_adds_only_when_there_is_no_account_of_that_role(run):
    args = ("ensure-demo", "--email", "agent@example-shop.co.uk", "--name", "Sam Agent",
            "--role", "agent", "--password-stdin")
    code, out, _ = run(*args, stdin=PASSWORD + "\n")
    assert code == 0 and out.startswith("created")
    code, out, _ = run(*args, stdin="yet another password\n")
    assert code == 0 and out.strip() == "exists"
    other_agent = ("ensure-demo", "--email", "second@example-shop.co.uk", "--name", "Al Agent",
                   "--role", "agent", "--password-stdin")
    code, out, _ = run(*other_agent, stdin=PASSWORD + "\n")
    assert code == 0 and out.strip() == "exists"
    lead = ("ensure-demo", "--email", "lead@example-shop.co.uk", "--name", "Lee Lead",
            "--role", "lead", "--password-stdin")
    code, out, _ = run(*lead, stdin=PASSWORD + "\n")
    assert code == 0 and out.startswith("created lead")
