"""Paid work: quotes, their lines and their append-only history; work orders have no edition.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)
JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

APPEND_ONLY = {
    "postgresql": [
        """
        CREATE TRIGGER quote_events_append_only
        BEFORE UPDATE OR DELETE ON quote_events
        FOR EACH ROW EXECUTE FUNCTION history_is_append_only()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER quote_events_no_update BEFORE UPDATE ON quote_events
        BEGIN SELECT RAISE(ABORT, 'quote_events is append-only'); END
        """,
        """
        CREATE TRIGGER quote_events_no_delete BEFORE DELETE ON quote_events
        BEGIN SELECT RAISE(ABORT, 'quote_events is append-only'); END
        """,
    ],
}
DROP_APPEND_ONLY = {
    "postgresql": ["DROP TRIGGER quote_events_append_only ON quote_events"],
    "sqlite": ["DROP TRIGGER quote_events_no_update", "DROP TRIGGER quote_events_no_delete"],
}


def upgrade():
    op.create_table('quotes',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('license_id', BIG_ID, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rate_per_hour', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_quarters', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('sent_at', INSTANT, nullable=True),
    sa.Column('valid_until', INSTANT, nullable=True),
    sa.Column('accepted_at', INSTANT, nullable=True),
    sa.Column('order_id', BIG_ID, nullable=True),
    sa.Column('paid_at', INSTANT, nullable=True),
    sa.Column('completed_at', INSTANT, nullable=True),
    sa.Column('warranty_starts_at', INSTANT, nullable=True),
    sa.Column('warranty_until', INSTANT, nullable=True),
    sa.Column('closed_at', INSTANT, nullable=True),
    sa.CheckConstraint("status IN ('draft', 'sent', 'accepted', 'paid', 'completed', 'cancelled', 'expired')", name=op.f('ck_quotes_status_known')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_quotes_amount_not_negative')),
    sa.CheckConstraint('rate_per_hour >= 0', name=op.f('ck_quotes_rate_not_negative')),
    sa.CheckConstraint('total_quarters > 0', name=op.f('ck_quotes_has_hours')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_quotes_customer_id_customers')),
    sa.ForeignKeyConstraint(['license_id'], ['licenses.id'], name=op.f('fk_quotes_license_id_licenses')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_quotes_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes')),
    sa.UniqueConstraint('order_id', name=op.f('uq_quotes_order_id'))
    )
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quotes_customer_id'), ['customer_id'], unique=False)

    op.create_table('quote_events',
    sa.Column('quote_id', BIG_ID, nullable=False),
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('at', INSTANT, nullable=False),
    sa.Column('data', JSON_DATA, nullable=False),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_events_quote_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_events'))
    )
    with op.batch_alter_table('quote_events', schema=None) as batch_op:
        batch_op.create_index('ix_quote_events_quote_id_id', ['quote_id', 'id'], unique=False)

    op.create_table('quote_lines',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('quote_id', BIG_ID, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('service', sa.String(length=40), nullable=True),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('quarters', sa.Integer(), nullable=False),
    sa.CheckConstraint("category IN ('layout', 'programming', 'design')", name=op.f('ck_quote_lines_category_known')),
    sa.CheckConstraint('quarters > 0', name=op.f('ck_quote_lines_positive')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_lines_quote_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_lines')),
    sa.UniqueConstraint('quote_id', 'position', name=op.f('uq_quote_lines_quote_id_position'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('edition_code',
               existing_type=sa.VARCHAR(length=16),
               nullable=True)

    for statement in APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    for statement in DROP_APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('edition_code',
               existing_type=sa.VARCHAR(length=16),
               nullable=False)

    op.drop_table('quote_lines')
    with op.batch_alter_table('quote_events', schema=None) as batch_op:
        batch_op.drop_index('ix_quote_events_quote_id_id')

    op.drop_table('quote_events')
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quotes_customer_id'))

    op.drop_table('quotes')
