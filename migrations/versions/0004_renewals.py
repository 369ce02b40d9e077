"""Renewals: the renewal records, the locked rate of renewal orders, a license's first term.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "renewals",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("license_id", BIG_ID, nullable=False),
        sa.Column("order_id", BIG_ID, nullable=False),
        sa.Column("edition_code", sa.String(16), nullable=False),
        sa.Column("rate", sa.String(16), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("price_amount", sa.Integer(), nullable=False),
        sa.Column("list_price_amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("old_updates_until", INSTANT, nullable=False),
        sa.Column("new_updates_until", INSTANT, nullable=False),
        sa.Column("paid_at", INSTANT, nullable=False),
        sa.Column("refunded_at", INSTANT, nullable=True),
        sa.CheckConstraint("rate IN ('preferential', 'standard')", name="ck_renewals_rate_known"),
        sa.CheckConstraint("list_price_amount >= 0", name="ck_renewals_list_price_not_negative"),
        sa.CheckConstraint("new_updates_until > old_updates_until", name="ck_renewals_extends"),
        sa.CheckConstraint("percent IN (20, 30)", name="ck_renewals_percent_known"),
        sa.CheckConstraint("price_amount >= 0", name="ck_renewals_price_not_negative"),
        sa.ForeignKeyConstraint(
            ["edition_code"], ["editions.code"], name="fk_renewals_edition_code_editions"
        ),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name="fk_renewals_license_id_licenses"
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_renewals_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_renewals"),
        sa.UniqueConstraint("order_id", name="uq_renewals_order_id"),
    )
    op.create_index("ix_renewals_license_id_paid_at", "renewals", ["license_id", "paid_at"])
    op.create_index("ix_renewals_paid_at", "renewals", ["paid_at"])

    # Every license so far is in its first term: that term ends at its updates_until.
    op.add_column("licenses", sa.Column("initial_updates_until", INSTANT, nullable=True))
    op.execute("UPDATE licenses SET initial_updates_until = updates_until")
    with op.batch_alter_table("licenses") as batch_op:
        batch_op.alter_column("initial_updates_until", existing_type=INSTANT, nullable=False)

    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("rate", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("percent", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quoted_updates_until", INSTANT, nullable=True))
        batch_op.create_check_constraint(
            "ck_orders_rate_known", "rate IN ('preferential', 'standard') OR rate IS NULL"
        )


def downgrade():
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_constraint("ck_orders_rate_known", type_="check")
        batch_op.drop_column("quoted_updates_until")
        batch_op.drop_column("percent")
        batch_op.drop_column("rate")
    with op.batch_alter_table("licenses") as batch_op:
        batch_op.drop_column("initial_updates_until")
    op.drop_table("renewals")
