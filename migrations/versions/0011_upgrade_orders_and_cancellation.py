"""Orders: the `upgrade` kind (D19), the `cancelled` status and when staff cancelled (D20).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('purchase', 'renewal', 'work')"
KINDS_AFTER = "kind IN ('purchase', 'renewal', 'work', 'upgrade')"
STATUSES_BEFORE = (
    "status IN ('awaiting_payment', 'paid', 'expired', 'failed', 'refunded', 'disputed')"
)
STATUSES_AFTER = (
    "status IN ('awaiting_payment', 'paid', 'expired', 'failed', 'refunded', 'disputed', "
    "'cancelled')"
)


def _checks(batch_op, kinds: str, statuses: str) -> None:
    batch_op.drop_constraint(op.f("ck_orders_kind_known"), type_="check")
    batch_op.drop_constraint(op.f("ck_orders_status_known"), type_="check")
    batch_op.create_check_constraint(op.f("ck_orders_kind_known"), kinds)
    batch_op.create_check_constraint(op.f("ck_orders_status_known"), statuses)


def upgrade():
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        _checks(batch_op, KINDS_AFTER, STATUSES_AFTER)


def downgrade():
    with op.batch_alter_table("orders") as batch_op:
        _checks(batch_op, KINDS_BEFORE, STATUSES_BEFORE)
        batch_op.drop_column("cancelled_at")
