"""Helpdesk bans (R13, D11) and an append-only customer history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)
JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

APPEND_ONLY = {
    "postgresql": [
        """
        CREATE TRIGGER customer_events_append_only
        BEFORE UPDATE OR DELETE ON customer_events
        FOR EACH ROW EXECUTE FUNCTION history_is_append_only()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER customer_events_no_update BEFORE UPDATE ON customer_events
        BEGIN SELECT RAISE(ABORT, 'customer_events is append-only'); END
        """,
        """
        CREATE TRIGGER customer_events_no_delete BEFORE DELETE ON customer_events
        BEGIN SELECT RAISE(ABORT, 'customer_events is append-only'); END
        """,
    ],
}
DROP_APPEND_ONLY = {
    "postgresql": ["DROP TRIGGER customer_events_append_only ON customer_events"],
    "sqlite": ["DROP TRIGGER customer_events_no_update", "DROP TRIGGER customer_events_no_delete"],
}


def upgrade():
    op.create_table('bans',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=2000), nullable=False),
    sa.Column('set_by', sa.String(length=120), nullable=False),
    sa.Column('starts_at', INSTANT, nullable=False),
    sa.Column('ends_at', INSTANT, nullable=True),
    sa.Column('lifted_at', INSTANT, nullable=True),
    sa.Column('lifted_by', sa.String(length=120), nullable=True),
    sa.CheckConstraint("reason IN ('abuse', 'behaviour', 'false_data', 'spam')", name=op.f('ck_bans_reason_known')),
    sa.CheckConstraint('ends_at IS NULL OR ends_at > starts_at', name=op.f('ck_bans_ends_after_start')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_bans_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bans'))
    )
    with op.batch_alter_table('bans', schema=None) as batch_op:
        batch_op.create_index('ix_bans_customer_id_starts_at', ['customer_id', 'starts_at'], unique=False)

    op.create_table('customer_events',
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('at', INSTANT, nullable=False),
    sa.Column('data', JSON_DATA, nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_events_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_events'))
    )
    with op.batch_alter_table('customer_events', schema=None) as batch_op:
        batch_op.create_index('ix_customer_events_customer_id_id', ['customer_id', 'id'], unique=False)

    for statement in APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    for statement in DROP_APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table('customer_events', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_events_customer_id_id')

    op.drop_table('customer_events')
    with op.batch_alter_table('bans', schema=None) as batch_op:
        batch_op.drop_index('ix_bans_customer_id_starts_at')

    op.drop_table('bans')
