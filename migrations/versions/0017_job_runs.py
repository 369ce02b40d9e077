"""The last run of each periodic job (the worker writes it, `/metrics` reports its age).

Revision ID: 0017
Revises: 0013
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(60), nullable=False),
        sa.Column("started_at", INSTANT, nullable=False),
        sa.Column("finished_at", INSTANT, nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("summary", sa.String(200), nullable=False),
        sa.Column("worker", sa.String(120), nullable=False),
        sa.Column("last_ok_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_job_runs")),
    )


def downgrade():
    op.drop_table("job_runs")
