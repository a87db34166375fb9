"""Privacy: erasure requests (``erasure_requests``), the mail outbox (``mail_outbox``), the
newsletter's double opt-in (``confirmation_sent_at``, ``confirmed_at``) and erased customers
(``customers.erased_at``).

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("newsletter_subscriptions") as batch:
        batch.add_column(sa.Column("confirmation_sent_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(), nullable=True))
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("conversation_ids", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_erasure_requests_customer_id", "erasure_requests", ["customer_id"])
    op.create_index("ix_erasure_requests_status", "erasure_requests", ["status"])
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("to_addr", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=True),
    )
    op.create_index("ix_mail_outbox_to_addr", "mail_outbox", ["to_addr"])
    op.create_index("ix_mail_outbox_next_attempt_at", "mail_outbox", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_next_attempt_at", table_name="mail_outbox")
    op.drop_index("ix_mail_outbox_to_addr", table_name="mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_index("ix_erasure_requests_status", table_name="erasure_requests")
    op.drop_index("ix_erasure_requests_customer_id", table_name="erasure_requests")
    op.drop_table("erasure_requests")
    with op.batch_alter_table("newsletter_subscriptions") as batch:
        batch.drop_column("confirmed_at")
        batch.drop_column("confirmation_sent_at")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("erased_at")
