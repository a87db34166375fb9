from bot.settings import Settings, default_database_url


def test_defaults_use_sqlite_under_var():
    s = Settings.from_env({})
    assert s.database_url == default_database_url()
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("var/shop.db")
    assert s.identity_secret == ""
    assert s.shop.return_window_days == 30
    assert s.needs_outbox.parent.name == "var" and s.needs_outbox.name == "needs_outbox.jsonl"


def test_environment_overrides():
    s = Settings.from_env(
        {"DATABASE_URL": "postgresql://u@h/db", "SHOP_IDENTITY_SECRET": "x",
         "SHOP_RETURN_WINDOW_DAYS": "14", "SHOP_NEEDS_OUTBOX": "/tmp/outbox.jsonl"}
    )
    assert (s.database_url, s.identity_secret, s.shop.return_window_days, str(s.needs_outbox)) == (
        "postgresql://u@h/db", "x", 14, "/tmp/outbox.jsonl")


def test_security_settings():
    s = Settings.from_env({})
    assert s.identity_ttl_seconds == 300  # widget tokens live minutes
    assert s.action_secret == "" and s.trusted_proxies == ()
    s = Settings.from_env({"SHOP_ACTION_SECRET": "a", "SHOP_TRUSTED_PROXIES": "10.0.0.1,10.1.0.0/16",
                           "SHOP_IDENTITY_TTL": "120"})
    assert (s.action_secret, s.trusted_proxies, s.identity_ttl_seconds) == (
        "a", ("10.0.0.1", "10.1.0.0/16"), 120)
