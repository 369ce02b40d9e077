"""Indexes on the `transferred` lines of license history, to tell who owned a license at an
instant (D21) on the helpdesk's hot path.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TRANSFERRED_ONLY = sa.text("type = 'transferred'")


def upgrade():
    op.create_index(
        "ix_license_events_transfers_license_id_at",
        "license_events",
        ["license_id", "at"],
        sqlite_where=TRANSFERRED_ONLY,
        postgresql_where=TRANSFERRED_ONLY,
    )
    op.create_index(
        "ix_license_events_transfers_at",
        "license_events",
        ["at"],
        sqlite_where=TRANSFERRED_ONLY,
        postgresql_where=TRANSFERRED_ONLY,
    )


def downgrade():
    op.drop_index("ix_license_events_transfers_at", "license_events")
    op.drop_index("ix_license_events_transfers_license_id_at", "license_events")
