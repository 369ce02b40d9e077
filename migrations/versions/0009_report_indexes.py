"""Indexes for the renewal report and the notice schedule (term ends by date).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_licenses_updates_until", "licenses", ["updates_until"])
    op.create_index("ix_licenses_initial_updates_until", "licenses", ["initial_updates_until"])
    op.create_index(
        "ix_renewals_license_id_old_updates_until", "renewals", ["license_id", "old_updates_until"]
    )
    op.create_index("ix_renewals_new_updates_until", "renewals", ["new_updates_until"])


def downgrade():
    op.drop_index("ix_renewals_new_updates_until", "renewals")
    op.drop_index("ix_renewals_license_id_old_updates_until", "renewals")
    op.drop_index("ix_licenses_initial_updates_until", "licenses")
    op.drop_index("ix_licenses_updates_until", "licenses")
