"""Every license ever bound to a domain, through an index: the helpdesk's question about a
domain (`GET /v1/entitlements`) finds the live license on it, or a revoked one the customer
held, in one index lookup (issue 20), instead of gathering the customer's licenses first.

`uq_licenses_live_domain` (D4) covers the live licenses only; this one covers them all.
On a large table in production, create it first with `CREATE INDEX CONCURRENTLY
ix_licenses_domain ON licenses (domain)`: this revision then finds it there and adds nothing.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_licenses_domain", "licenses", ["domain"], if_not_exists=True)


def downgrade():
    op.drop_index("ix_licenses_domain", table_name="licenses")
