"""The reports' monthly rollup (D18): `report_months`, filled from the orders, renewals and
licenses already there; from now on kept in the transaction of every change to them. And an
index for the report's upcoming expiries.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_months",
        sa.Column("figure", sa.String(16), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("edition", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(16), nullable=False),
        sa.Column("n1", sa.BigInteger(), nullable=False),
        sa.Column("n2", sa.BigInteger(), nullable=False),
        sa.Column("n3", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("figure", "month", "edition", "detail", name="pk_report_months"),
    )
    # The renewal report's upcoming expiries read this index alone (no heap visits).
    op.create_index(
        "ix_licenses_status_updates_until",
        "licenses",
        ["status", "updates_until", "edition_code"],
    )
    # The backfill is the reference aggregation itself, so the two cannot disagree.
    from licensing.services.report_rollup import rebuild

    rebuild(op.get_bind())


def downgrade():
    op.drop_index("ix_licenses_status_updates_until", "licenses")
    op.drop_table("report_months")
