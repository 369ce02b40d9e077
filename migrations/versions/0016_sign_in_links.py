"""Sign-in links for the pages (D24): one row per link mailed, used at most once, within 15
minutes of being asked for.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "sign_in_links",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("customer_id", BIG_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_sign_in_links_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_links"),
    )
    op.create_index("ix_sign_in_links_customer_id", "sign_in_links", ["customer_id"])


def downgrade():
    op.drop_index("ix_sign_in_links_customer_id", "sign_in_links")
    op.drop_table("sign_in_links")
