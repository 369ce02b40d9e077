"""Data: the two editions on sale (R1) with their default list prices.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen here on purpose: a data migration must not change when the application code does.
editions = sa.table(
    "editions",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("price_amount", sa.Integer),
    sa.column("currency", sa.String),
    sa.column("priority", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade():
    now = datetime(2026, 11, 26, tzinfo=UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # SQLite keeps naive UTC (see UTCDateTime)
    op.bulk_insert(
        editions,
        [
            # R12: Premium holders are served before Pro holders; higher priority first.
            {"code": "pro", "name": "Pro", "price_amount": 30000, "currency": "USD",
             "priority": 1, "updated_at": now},
            {"code": "premium", "name": "Premium", "price_amount": 50000, "currency": "USD",
             "priority": 2, "updated_at": now},
        ],
    )


def downgrade():
    op.execute(editions.delete().where(editions.c.code.in_(["pro", "premium"])))
