"""The email outbox (D25): one row per message, written in the transaction of the change it
tells of, sent by `licensing emails deliver` with retries, then sent or dead-lettered.

`cause_key` is unique (`notice:<id>` for a notice), and so is `notice_id` (several NULLs are
allowed: emails of other causes), so each notice mails at most once, and "has this notice
an email yet?" is an index lookup.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "emails",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("cause_key", sa.String(length=120), nullable=False),
        sa.Column("notice_id", BIG_ID, nullable=True),
        sa.Column("customer_id", BIG_ID, nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("next_attempt_at", INSTANT, nullable=False),
        sa.Column("first_attempt_at", INSTANT, nullable=True),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.Column("dead_at", INSTANT, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'dead')", name=op.f("ck_emails_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_emails_notice_id_notices")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_emails_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emails")),
        sa.UniqueConstraint("cause_key", name=op.f("uq_emails_cause_key")),
        sa.UniqueConstraint("notice_id", name=op.f("uq_emails_notice_id")),
    )
    op.create_index("ix_emails_due", "emails", ["status", "next_attempt_at"])
    op.create_index("ix_emails_customer_id", "emails", ["customer_id"])


def downgrade():
    op.drop_index("ix_emails_customer_id", "emails")
    op.drop_index("ix_emails_due", "emails")
    op.drop_table("emails")
