"""Orders: a random payment key for Stripe idempotency keys, and when expiry was attempted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("payment_key", sa.String(32), nullable=True))
        batch_op.add_column(
            sa.Column("expiry_attempted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint("uq_orders_payment_key", ["payment_key"])


def downgrade():
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_constraint("uq_orders_payment_key", type_="unique")
        batch_op.drop_column("expiry_attempted_at")
        batch_op.drop_column("payment_key")
