"""The needs log: one row per product need stated in a conversation.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("need_seq", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("last_message_key", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=80), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("colour", sa.Text(), nullable=False),
        sa.Column("size", sa.Text(), nullable=False),
        sa.Column("brand", sa.String(length=80), nullable=True),
        sa.Column("price_min", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("price_max", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=80), nullable=True),
        sa.Column("occasion", sa.String(length=80), nullable=True),
        sa.Column("needed_by", sa.Date(), nullable=True),
        sa.Column("confidence", sa.Numeric(precision=4, scale=2), nullable=False),
        sa.Column("matched_product_ids", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("extractor_version", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "need_seq", name="uq_needs_conversation_seq"),
    )
    op.create_index("ix_needs_conversation_id", "needs", ["conversation_id"])
    op.create_index("ix_needs_customer_id", "needs", ["customer_id"])
    op.create_index("ix_needs_category", "needs", ["category"])
    op.create_index("ix_needs_status_created", "needs", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_needs_status_created", table_name="needs")
    op.drop_index("ix_needs_category", table_name="needs")
    op.drop_index("ix_needs_customer_id", table_name="needs")
    op.drop_index("ix_needs_conversation_id", table_name="needs")
    op.drop_table("needs")
