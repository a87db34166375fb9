"""`python -m bot web` registration (bot.cli loads bot.web.cli's register)."""
from __future__ import annotations

import argparse

from bot.web import cli


def test_register_adds_the_web_subcommand_with_a_handler():
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["web", "--port", "8123", "--rasa-url", "http://chat.example/"])
    assert args.handler is cli.run
    assert (args.host, args.port, args.rasa_url) == ("127.0.0.1", 8123, "http://chat.example/")


def test_missing_npm_bundle_is_a_one_line_error(monkeypatch, caplog):
    from bot.web import app as web_app
    from bot.web.bundle import BundleMissing

    def missing():
        raise BundleMissing("node_modules/socket.io-client/dist/socket.io.min.js is missing: "
                            "run `npm ci` in the repository root")

    monkeypatch.setattr(web_app, "build_widget_js", missing)
    monkeypatch.setenv("SHOP_IDENTITY_SECRET", "x")
    args = argparse.Namespace(host="127.0.0.1", port=0, rasa_url=None)
    assert cli.run(args) == 2
    assert "npm ci" in caplog.text
