"""Product insights: ``need_facets`` (one row per need, field and normalised value: the JSON
lists of ``needs`` made queryable) and ``need_daily`` (the daily rollup of the facets), both
filled from the existing needs by ``python -m bot insights rebuild`` (bot.insights.facets).

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "need_facets",
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("unmet", sa.Boolean(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=True),
        sa.Column("propensity_micros", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["need_id"], ["needs.id"], name="fk_need_facets_need",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("field", "value", "day", "need_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_need_facets_need", "need_facets", ["need_id"])
    op.create_index("ix_need_facets_signed", "need_facets",
                    ["field", "unmet", "day", "value", "customer_id", "category", "price_cents",
                     "propensity_micros"],
                    sqlite_where=sa.text("customer_id IS NOT NULL"),
                    postgresql_where=sa.text("customer_id IS NOT NULL"))
    counts = [sa.Column(name, sa.Integer(), nullable=False) for name in (
        "needs", "matched", "pending", "unmet", "unmet_not_stocked", "unmet_out_of_stock",
        "unmet_over_budget", "unmet_size_or_colour", "unmet_other", "anon_unmet_priced")]
    op.create_table(
        "need_daily",
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        *counts,
        sa.Column("anon_unmet_cents", sa.BigInteger(), nullable=False),
        sa.Column("anon_unmet_unpriced", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("scored_micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("field", "day", "category", "value"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_need_daily_value", "need_daily", ["field", "value", "day"])


def downgrade() -> None:
    op.drop_index("ix_need_daily_value", "need_daily")
    op.drop_table("need_daily")
    op.drop_index("ix_need_facets_signed", "need_facets")
    op.drop_index("ix_need_facets_need", "need_facets")
    op.drop_table("need_facets")
