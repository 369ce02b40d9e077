"""The email outbox (D25) renders a notice's message when the worker sends it, not when the
notice is written: `subject` and `text_body` may be NULL until the first attempt renders them.

The scheduling pass wrote and rendered an email per notice in the notice's transaction; now it
writes only the row and its cause (`notice:<id>`), and `emails deliver` renders it as of the
notice's day and keeps what it rendered. Rows written before this revision are already
rendered and are sent as they are.

A downgrade makes the two columns NOT NULL again. Code from before this revision cannot render
a row, so the downgrade stops if any row has no subject or body yet, and says how many
(deliver the outbox first, or settle them); nothing has changed when it stops.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

UNRENDERED = sa.text("SELECT count(*) FROM emails WHERE subject IS NULL OR text_body IS NULL")


class UnrenderedEmails(RuntimeError):
    """Emails not rendered yet: the code before 0020 could neither send nor render them."""


def _nullable(nullable):
    # On SQLite the batch copy reflects `emails` and, through its foreign key, `customers`,
    # whose D24 expression index (0014) SQLite's reflection skips with a warning: it is not
    # part of the copied table, so the warning says nothing here.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Skipped unsupported reflection of expression-based index"
        )
        _alter(nullable)


def _alter(nullable):
    with op.batch_alter_table("emails") as batch_op:
        batch_op.alter_column("subject", existing_type=sa.String(length=300), nullable=nullable)
        batch_op.alter_column("text_body", existing_type=sa.Text(), nullable=nullable)


def upgrade():
    _nullable(True)


def downgrade():
    unrendered = op.get_bind().execute(UNRENDERED).scalar_one()
    if unrendered:
        raise UnrenderedEmails(
            f"Migration 0020 cannot be undone: {unrendered} email(s) have no subject or body "
            "yet (they are rendered when sent). Send them (`licensing emails deliver`) or "
            "settle them, and run the downgrade again; nothing was changed."
        )
    _nullable(False)
