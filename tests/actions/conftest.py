import pytest

from bot.support import runtime


@pytest.fixture
def db_down(services, monkeypatch, tmp_path):
    """The shop database cannot be opened (the URL points at a directory)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}")
    runtime.reset()
