"""The weekly insights digest: an HTML part for queued mail (``mail_outbox.html``, null for
plain-text mail) and one row per week and recipient (``insights_digests``), written in the same
transaction as the queued mail, so a restart or a second worker never sends a week's digest
twice to the same person.

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mail_outbox") as batch:
        batch.add_column(sa.Column("html", sa.Text(), nullable=True))
    op.create_table(
        "insights_digests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("week", "staff_id", name="uq_insights_digests_week_staff"),
    )


def downgrade() -> None:
    op.drop_table("insights_digests")
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_column("html")
