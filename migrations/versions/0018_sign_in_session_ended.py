"""Sign-out ends the session on the server (D24): the sign-in link that opened a session
records when that session ended, and a cookie copied before sign-out no longer signs in.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD/DROP COLUMN (SQLite has both): no batch copy of the table is needed.
    op.add_column(
        "sign_in_links", sa.Column("session_ended_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade():
    op.drop_column("sign_in_links", "session_ended_at")
