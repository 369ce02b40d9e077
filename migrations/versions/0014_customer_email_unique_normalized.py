"""D24: a customer's email is unique compared case-insensitively after trimming.

A unique index on the expression lower(trim(email)) rather than a second, normalized column:
both SQLite (3.9+) and PostgreSQL enforce it, nothing has to keep a copy in step, and a row
written by any path (the service, an import, a console) is held to it. It replaces the
plain unique constraint on `email`, which compared the text as typed.

Rows from before this revision may already clash under the new comparison (two customers
"Ann@x.com" and "ann@x.com "). Merging them would move licenses and history between people
without anyone deciding it, so the upgrade stops instead and lists every clash (ids and the
normalized email) for an operator to settle; nothing has changed when it stops.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEX = "uq_customers_email_normalized"
DUPLICATES = sa.text(
    "SELECT lower(trim(email)) AS normalized, id FROM customers "
    "WHERE lower(trim(email)) IN ("
    "  SELECT lower(trim(email)) FROM customers GROUP BY lower(trim(email)) HAVING count(*) > 1"
    ") ORDER BY normalized, id"
)


class DuplicateEmails(RuntimeError):
    """Customers share an email under D24's comparison; an operator must settle them first."""


def duplicates_report(rows):
    """One line per clashing email: the normalized address and the ids of its customers."""
    clashes = {}
    for normalized, customer_id in rows:
        clashes.setdefault(normalized, []).append(customer_id)
    lines = [
        f"  {email!r}: customer ids {', '.join(str(i) for i in ids)}"
        for email, ids in clashes.items()
    ]
    return (
        f"Migration 0014 stopped: {len(clashes)} email(s) belong to more than one customer "
        "when compared case-insensitively after trimming (D24). Settle each (merge or change "
        "the email) and run the upgrade again; nothing was changed.\n" + "\n".join(lines)
    )


def upgrade():
    rows = op.get_bind().execute(DUPLICATES).all()
    if rows:
        raise DuplicateEmails(duplicates_report(rows))
    with op.batch_alter_table("customers") as batch_op:
        batch_op.drop_constraint("uq_customers_email", type_="unique")
    op.create_index(INDEX, "customers", [sa.text("lower(trim(email))")], unique=True)


def downgrade():
    op.drop_index(INDEX, "customers")
    with op.batch_alter_table("customers") as batch_op:
        batch_op.create_unique_constraint("uq_customers_email", ["email"])
