"""Where the needs follower (``python -m bot needs follow``) got to in the Rasa tracker store:
the id of the last conversation event it processed, one row per followed store.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "need_follow_checkpoints",
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )


def downgrade() -> None:
    op.drop_table("need_follow_checkpoints")
