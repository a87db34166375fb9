"""Migration 0008: the staff table at head."""
from __future__ import annotations

from sqlalchemy import inspect

from bot.store.schema import current_revision, head_revision


def test_head_is_0008_with_the_staff_table(db_url, engine):
    assert head_revision() == "0008"
    assert current_revision(db_url) == "0008"
    columns = {c["name"] for c in inspect(engine).get_columns("staff")}
    assert columns == {"id", "email", "name", "password_hash", "role", "active", "created_at",
                       "last_login_at", "failed_logins", "locked_until"}
    uniques = inspect(engine).get_unique_constraints("staff")
    assert [u["column_names"] for u in uniques] == [["email"]]
