"""Notices: the outbox of events for subscribers, the subscribers, and each delivery.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)
JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table('subscribers',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.Column('disabled_at', INSTANT, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscribers'))
    )
    op.create_table('notices',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('license_id', BIG_ID, nullable=False),
    sa.Column('term_key', sa.String(length=80), nullable=False),
    sa.Column('data', JSON_DATA, nullable=False),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.CheckConstraint("type IN ('subscription.expiring', 'subscription.expired', 'preferential_window.closing', 'license.issued', 'license.renewed', 'license.revoked')", name=op.f('ck_notices_type_known')),
    sa.ForeignKeyConstraint(['license_id'], ['licenses.id'], name=op.f('fk_notices_license_id_licenses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('type', 'license_id', 'term_key', name=op.f('uq_notices_type_license_id_term_key'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_created_at'), ['created_at'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('notice_id', BIG_ID, nullable=False),
    sa.Column('subscriber_id', BIG_ID, nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', INSTANT, nullable=False),
    sa.Column('first_attempt_at', INSTANT, nullable=True),
    sa.Column('delivered_at', INSTANT, nullable=True),
    sa.Column('dead_at', INSTANT, nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_deliveries_notice_id_notices')),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_deliveries_subscriber_id_subscribers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('notice_id', 'subscriber_id', name=op.f('uq_deliveries_notice_id_subscriber_id'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_pending', ['next_attempt_at', 'delivered_at', 'dead_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_subscriber_id'), ['subscriber_id'], unique=False)



def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_subscriber_id'))
        batch_op.drop_index('ix_deliveries_pending')

    op.drop_table('deliveries')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_created_at'))

    op.drop_table('notices')
    op.drop_table('subscribers')
