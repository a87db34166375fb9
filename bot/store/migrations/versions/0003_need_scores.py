"""Propensity score of the shopper stored with each captured need (nullable: anonymous or
unscored), and when the shopper asked for a back-in-stock notice.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("needs") as batch:
        batch.add_column(sa.Column("propensity_probability", sa.Float(), nullable=True))
        batch.add_column(sa.Column("propensity_band", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("propensity_model_version", sa.String(length=40),
                                   nullable=True))
        batch.add_column(sa.Column("back_in_stock_requested_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("needs") as batch:
        batch.drop_column("back_in_stock_requested_at")
        batch.drop_column("propensity_model_version")
        batch.drop_column("propensity_band")
        batch.drop_column("propensity_probability")
