"""Trustworthy need records: a status with its reason (``matched``, ``pending``,
``unmet:<reason>``), conversion kept apart from the status at the time of asking, demo rows
marked, the id of an imported line (idempotent imports), and when a back-in-stock notice went out.

Existing rows: ``purchased_later`` becomes the status it had when asked (``unmet:not_stocked``
unless it showed products) with ``converted_at`` set; ``unmet`` rows become ``unmet:not_stocked``
(the only reason the old code knew: nothing fitting was found), except those that were waiting
for the size the chat asked for (a product in a category sold by size, no size, nothing shown):
the old code stored those as unmet too. They become ``pending``, which the worker settles to the
status their known details give (``bot.needs.records``), as it does for new ones.

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The categories whose needs the chat asked a size for when none was given (bot/data/taxonomy.yml
# at this revision: the categories with size systems). Written out: a migration must not read
# files that later change.
SIZED_CATEGORIES = ("womens-clothing", "mens-clothing", "kids-clothing", "outerwear", "footwear",
                    "sports", "bedding", "pets")


def upgrade() -> None:
    with op.batch_alter_table("needs") as batch:
        batch.alter_column("status", existing_type=sa.String(length=20),
                           type_=sa.String(length=32), existing_nullable=False)
        batch.add_column(sa.Column("converted_order_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("converted_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("is_demo", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("source_id", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("back_in_stock_notified_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key("fk_needs_converted_order", "orders",
                                 ["converted_order_id"], ["id"])
        batch.create_unique_constraint("uq_needs_source_id", ["source_id"])
    op.create_index("ix_needs_created", "needs", ["created_at"])
    op.create_index("ix_needs_category_created", "needs", ["category", "created_at"])
    needs = sa.table("needs", sa.column("status", sa.String), sa.column("converted_at", sa.DateTime),
                     sa.column("updated_at", sa.DateTime),
                     sa.column("matched_product_ids", sa.Text))
    op.execute(needs.update().where(needs.c.status == "purchased_later")
               .values(converted_at=needs.c.updated_at,
                       status=sa.case((needs.c.matched_product_ids != "[]", "matched"),
                                      else_="unmet:not_stocked")))
    needs = sa.table("needs", sa.column("status", sa.String), sa.column("product", sa.String),
                     sa.column("category", sa.String), sa.column("size", sa.Text),
                     sa.column("matched_product_ids", sa.Text))
    op.execute(needs.update().where(needs.c.status == "unmet", needs.c.product.isnot(None),
                                    needs.c.product != "", needs.c.category.in_(SIZED_CATEGORIES),
                                    needs.c.size == "[]", needs.c.matched_product_ids == "[]")
               .values(status="pending"))
    op.execute(needs.update().where(needs.c.status == "unmet").values(status="unmet:not_stocked"))


def downgrade() -> None:
    needs = sa.table("needs", sa.column("status", sa.String),
                     sa.column("converted_at", sa.DateTime))
    op.execute(needs.update().where(needs.c.converted_at.isnot(None))
               .values(status="purchased_later"))
    op.execute(needs.update().where(needs.c.status.like("unmet:%")).values(status="unmet"))
    op.execute(needs.update().where(needs.c.status == "pending").values(status="unmet"))
    op.drop_index("ix_needs_category_created", "needs")
    op.drop_index("ix_needs_created", "needs")
    with op.batch_alter_table("needs") as batch:
        batch.drop_constraint("uq_needs_source_id", type_="unique")
        batch.drop_constraint("fk_needs_converted_order", type_="foreignkey")
        batch.drop_column("back_in_stock_notified_at")
        batch.drop_column("source_id")
        batch.drop_column("is_demo")
        batch.drop_column("converted_at")
        batch.drop_column("converted_order_id")
        batch.alter_column("status", existing_type=sa.String(length=32),
                           type_=sa.String(length=20), existing_nullable=False)
