"""Customers a partner created belong to it (D26): customers.partner_id, null for the vendor's.

Customers from before this revision were created with vendor keys, so they stay the
vendor's (null); nothing is backfilled.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("customers") as batch_op:
        batch_op.add_column(sa.Column("partner_id", BIG_ID, nullable=True))
        batch_op.create_foreign_key(
            "fk_customers_partner_id_partners", "partners", ["partner_id"], ["id"]
        )
        batch_op.create_index("ix_customers_partner_id", ["partner_id"])


def downgrade():
    with op.batch_alter_table("customers") as batch_op:
        batch_op.drop_index("ix_customers_partner_id")
        batch_op.drop_constraint("fk_customers_partner_id_partners", type_="foreignkey")
        batch_op.drop_column("partner_id")
