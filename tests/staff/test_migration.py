"""Migration 0008 (the staff table) and 0009 (presence) at head."""
from __future__ import annotations

from sqlalchemy import inspect

from bot.store.schema import current_revision, head_revision


def test_the_staff_table_at_head(db_url, engine):
    assert head_revision() >= "0009"
    assert current_revision(db_url) == head_revision()
    columns = {c["name"] for c in inspect(engine).get_columns("staff")}
    assert columns == {"id", "email", "name", "password_hash", "role", "active", "created_at",
                       "last_login_at", "failed_logins", "locked_until", "accepting",
                       "last_seen_at"}
    uniques = inspect(engine).get_unique_constraints("staff")
    assert [u["column_names"] for u in uniques] == [["email"]]
