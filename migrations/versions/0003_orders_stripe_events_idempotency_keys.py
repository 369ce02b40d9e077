"""Checkout: orders with append-only history, Stripe events seen, idempotency keys.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)
JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# Order history is append-only like license history (0001 made the PostgreSQL function).
APPEND_ONLY = {
    "postgresql": [
        """
        CREATE TRIGGER order_events_append_only
        BEFORE UPDATE OR DELETE ON order_events
        FOR EACH ROW EXECUTE FUNCTION history_is_append_only()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER order_events_no_update BEFORE UPDATE ON order_events
        BEGIN SELECT RAISE(ABORT, 'order_events is append-only'); END
        """,
        """
        CREATE TRIGGER order_events_no_delete BEFORE DELETE ON order_events
        BEGIN SELECT RAISE(ABORT, 'order_events is append-only'); END
        """,
    ],
}
DROP_APPEND_ONLY = {
    "postgresql": ["DROP TRIGGER order_events_append_only ON order_events"],
    "sqlite": ["DROP TRIGGER order_events_no_update", "DROP TRIGGER order_events_no_delete"],
}


def upgrade():
    op.create_table('stripe_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('received_at', INSTANT, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events'))
    )
    op.create_table('idempotency_keys',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('api_key_id', BIG_ID, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_idempotency_keys_api_key_id_api_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('api_key_id', 'key', name=op.f('uq_idempotency_keys_api_key_id_key'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'], unique=False)

    op.create_table('orders',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('edition_code', sa.String(length=16), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=True),
    sa.Column('license_id', BIG_ID, nullable=True),
    sa.Column('price_amount', sa.Integer(), nullable=False),
    sa.Column('list_price_amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.Column('expires_at', INSTANT, nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('client_secret', sa.String(length=255), nullable=True),
    sa.Column('charge_id', sa.String(length=255), nullable=True),
    sa.Column('paid_at', INSTANT, nullable=True),
    sa.Column('failed_at', INSTANT, nullable=True),
    sa.Column('failure_message', sa.String(length=500), nullable=True),
    sa.Column('expired_at', INSTANT, nullable=True),
    sa.Column('refunded_at', INSTANT, nullable=True),
    sa.Column('refund_reason', sa.String(length=40), nullable=True),
    sa.Column('dispute', sa.String(length=8), nullable=True),
    sa.CheckConstraint("dispute IN ('open', 'won', 'lost') OR dispute IS NULL", name=op.f('ck_orders_dispute_known')),
    sa.CheckConstraint("kind IN ('purchase', 'renewal', 'work')", name=op.f('ck_orders_kind_known')),
    sa.CheckConstraint("status IN ('awaiting_payment', 'paid', 'expired', 'failed', 'refunded', 'disputed')", name=op.f('ck_orders_status_known')),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_orders_expires_after_creation')),
    sa.CheckConstraint('list_price_amount >= 0', name=op.f('ck_orders_list_price_not_negative')),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_orders_price_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_orders_customer_id_customers')),
    sa.ForeignKeyConstraint(['edition_code'], ['editions.code'], name=op.f('fk_orders_edition_code_editions')),
    sa.ForeignKeyConstraint(['license_id'], ['licenses.id'], name=op.f('fk_orders_license_id_licenses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('payment_intent_id', name=op.f('uq_orders_payment_intent_id'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_charge_id'), ['charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_license_id'), ['license_id'], unique=False)
        batch_op.create_index('ix_orders_status_expires_at', ['status', 'expires_at'], unique=False)

    op.create_table('order_events',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('order_id', BIG_ID, nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('at', INSTANT, nullable=False),
    sa.Column('data', JSON_DATA, nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_events_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events'))
    )
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.create_index('ix_order_events_order_id_id', ['order_id', 'id'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_customer_id', sa.String(length=255), nullable=True))

    for statement in APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    for statement in DROP_APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('stripe_customer_id')

    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_index('ix_order_events_order_id_id')

    op.drop_table('order_events')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_status_expires_at')
        batch_op.drop_index(batch_op.f('ix_orders_license_id'))
        batch_op.drop_index(batch_op.f('ix_orders_customer_id'))
        batch_op.drop_index(batch_op.f('ix_orders_charge_id'))

    op.drop_table('orders')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_created_at'))

    op.drop_table('idempotency_keys')
    op.drop_table('stripe_events')
