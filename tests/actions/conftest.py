import pytest

from bot.demo.fixtures import FIXTURE_NOW
from bot.support import runtime

from action_helpers import SECRET


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



@pytest.fixture
def db_down(services, monkeypatch, tmp_path):
    """The shop database cannot be opened (the URL points at a directory)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}")
    runtime.reset()
