import pytest

from bot.demo.fixtures import FIXTURE_NOW
from bot.support import runtime

SECRET = "unit-test-secret"


@pytest.fixture
def services(shop, db_url, monkeypatch):
    """Support services pointed at the seeded fixture shop, with the clock at FIXTURE_NOW."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SHOP_IDENTITY_SECRET", SECRET)
    runtime.reset()
    runtime.set_clock(lambda: FIXTURE_NOW)
    yield shop
    runtime.set_clock(None)
    runtime.reset()
