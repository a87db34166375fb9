"""The staff console: escalation states (claimed, resolved with an outcome and a rating), agent
messages (with their delivery), conversation notes and tags, canned replies, review corrections
and staff presence (``accepting`` chats, ``last_seen_at``).

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE escalations SET status = 'claimed' WHERE status = 'assigned'")
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("assigned_to")
        batch.add_column(sa.Column("channel", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("first_reply_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("resolved_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rated_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("paused", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("last_message", sa.Text(), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("propensity_band", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("propensity_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("propensity_reasons", sa.Text(), nullable=True))
        batch.create_foreign_key("fk_escalations_claimed_by", "staff", ["claimed_by"], ["id"])
        batch.create_foreign_key("fk_escalations_resolved_by", "staff", ["resolved_by"], ["id"])
    op.create_index("ix_escalations_status_created", "escalations", ["status", "created_at"])
    op.create_index("ix_escalations_updated_at", "escalations", ["updated_at"])
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("accepting", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(), nullable=True))
    op.create_table(
        "agent_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("escalation_id", sa.Integer(), sa.ForeignKey("escalations.id"),
                  nullable=True),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("seen_at", sa.DateTime(), nullable=True),
        sa.Column("emailed_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(length=255), nullable=True),
    )
    op.create_index("ix_agent_messages_conversation_id", "agent_messages", ["conversation_id"])
    op.create_index("ix_agent_messages_delivered_at", "agent_messages", ["delivered_at"])
    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_conversation_notes_conversation_id", "conversation_notes",
                    ["conversation_id"])
    op.create_table(
        "conversation_tags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("conversation_id", "tag", name="uq_conversation_tag"),
    )
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("title", name="uq_canned_reply_title"),
    )
    op.create_table(
        "review_corrections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("predicted_intent", sa.String(length=100), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("corrected_intent", sa.String(length=100), nullable=True),
        sa.Column("need", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_review_corrections_event_id", "review_corrections", ["event_id"])
    op.create_index("ix_review_corrections_status", "review_corrections", ["status"])


def downgrade() -> None:
    op.drop_index("ix_review_corrections_status", table_name="review_corrections")
    op.drop_index("ix_review_corrections_event_id", table_name="review_corrections")
    op.drop_table("review_corrections")
    op.drop_table("canned_replies")
    op.drop_table("conversation_tags")
    op.drop_index("ix_conversation_notes_conversation_id", table_name="conversation_notes")
    op.drop_table("conversation_notes")
    op.drop_index("ix_agent_messages_delivered_at", table_name="agent_messages")
    op.drop_index("ix_agent_messages_conversation_id", table_name="agent_messages")
    op.drop_table("agent_messages")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("last_seen_at")
        batch.drop_column("accepting")
    op.drop_index("ix_escalations_updated_at", table_name="escalations")
    op.drop_index("ix_escalations_status_created", table_name="escalations")
    with op.batch_alter_table("escalations") as batch:
        batch.drop_constraint("fk_escalations_resolved_by", type_="foreignkey")
        batch.drop_constraint("fk_escalations_claimed_by", type_="foreignkey")
        for column in ("propensity_reasons", "propensity_score", "propensity_band",
                       "last_message", "paused", "rated_at", "rating", "outcome",
                       "resolved_by", "resolved_at", "first_reply_at", "claimed_at",
                       "claimed_by", "channel"):
            batch.drop_column(column)
        batch.add_column(sa.Column("assigned_to", sa.String(length=120), nullable=True))
    op.execute("UPDATE escalations SET status = 'open' WHERE status = 'claimed'")
