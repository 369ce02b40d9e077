"""An index on the instant each order was paid, for the revenue report (D18): it groups the
orders paid in a period by month, so that a period reads its own orders, not all of them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_orders_paid_at", "orders", ["paid_at"])


def downgrade():
    op.drop_index("ix_orders_paid_at", "orders")
