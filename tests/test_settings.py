from bot.settings import Settings, default_database_url


def test_defaults_use_sqlite_under_var():
    s = Settings.from_env({})
    assert s.database_url == default_database_url()
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("var/shop.db")
    assert s.identity_secret == ""
    assert s.return_window_days == 30


def test_environment_overrides():
    s = Settings.from_env(
        {"DATABASE_URL": "postgresql://u@h/db", "SHOP_IDENTITY_SECRET": "x",
         "SHOP_RETURN_WINDOW_DAYS": "14"}
    )
    assert (s.database_url, s.identity_secret, s.return_window_days) == (
        "postgresql://u@h/db", "x", 14)
