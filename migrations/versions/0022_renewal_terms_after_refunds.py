"""Data: the terms that standing renewals extend, for licenses that had a renewal taken back
(D9). Until now a refund recomputed the license's `updates_until` but left the renewals paid
after the refunded one with the terms they were paid on, and the renewal report (D18)
counted those: a term renewed that the license never had, the real one missing. From now
on `take_back_renewal` moves them; this revision does the same for the refunds already
made, then rebuilds the reports' rollup if anything moved. No column changes.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29
"""

import itertools

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    # The rule itself (D15), and the rollup's reference aggregation, as 0019 uses it.
    from licensing.adapters.models import License, Renewal
    from licensing.domain.renewals import renewed_terms
    from licensing.services.report_rollup import rebuild

    conn = op.get_bind()
    renewals, licenses = Renewal.__table__, License.__table__
    taken_back = sa.select(renewals.c.license_id).where(renewals.c.refunded_at.is_not(None))
    standing = conn.execute(
        sa.select(
            licenses.c.initial_updates_until,
            renewals.c.id,
            renewals.c.license_id,
            renewals.c.paid_at,
            renewals.c.old_updates_until,
            renewals.c.new_updates_until,
        )
        .join(licenses, licenses.c.id == renewals.c.license_id)
        .where(renewals.c.license_id.in_(taken_back), renewals.c.refunded_at.is_(None))
        .order_by(renewals.c.license_id, renewals.c.paid_at, renewals.c.id)
    ).all()
    moved = []
    for _, rows in itertools.groupby(standing, key=lambda row: row.license_id):
        kept = list(rows)
        terms = renewed_terms(kept[0].initial_updates_until, [row.paid_at for row in kept])
        for row, (old, new) in zip(kept, terms, strict=True):
            if (row.old_updates_until, row.new_updates_until) != (old, new):
                moved.append({"renewal_id": row.id, "old": old, "new": new})
    if moved:
        conn.execute(
            renewals.update()
            .where(renewals.c.id == sa.bindparam("renewal_id"))
            .values(old_updates_until=sa.bindparam("old"), new_updates_until=sa.bindparam("new")),
            moved,
        )
        rebuild(conn)


def downgrade():
    pass  # the terms moved were wrong: nothing to put back
