from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.store.db import make_engine
from bot.store.models import Base
from bot.store.schema import current_revision, head_revision, upgrade


def test_head_is_a_single_revision():
    assert head_revision()
    assert "0001" <= head_revision()


def test_upgrade_creates_every_table_on_an_empty_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == head_revision()
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_upgrade_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    upgrade(url)
    upgrade(url)
    assert current_revision(url) == head_revision()


def test_migrated_schema_matches_the_models(db_url):
    """Autogenerate finds nothing to do: no model change is missing a migration."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_upgrade_creates_the_sqlite_folder(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'shop.db'}"
    upgrade(url)
    assert (tmp_path / "nested" / "dir" / "shop.db").exists()
