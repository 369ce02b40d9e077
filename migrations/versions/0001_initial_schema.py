"""Initial schema: catalog, accounts, licenses with append-only history, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)
JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
LIVE = sa.text("status <> 'revoked'")

# D5 and the audit rule: history rows are never updated or deleted, by any client.
APPEND_ONLY = {
    "postgresql": [
        """
        CREATE FUNCTION history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """,
        """
        CREATE TRIGGER license_events_append_only
        BEFORE UPDATE OR DELETE ON license_events
        FOR EACH ROW EXECUTE FUNCTION history_is_append_only()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER license_events_no_update BEFORE UPDATE ON license_events
        BEGIN SELECT RAISE(ABORT, 'license_events is append-only'); END
        """,
        """
        CREATE TRIGGER license_events_no_delete BEFORE DELETE ON license_events
        BEGIN SELECT RAISE(ABORT, 'license_events is append-only'); END
        """,
    ],
}
DROP_APPEND_ONLY = {
    "postgresql": [
        "DROP TRIGGER license_events_append_only ON license_events",
        "DROP FUNCTION history_is_append_only()",
    ],
    "sqlite": [
        "DROP TRIGGER license_events_no_update",
        "DROP TRIGGER license_events_no_delete",
    ],
}


def upgrade():
    op.create_table(
        "api_keys",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("public_id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", JSON_DATA, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("revoked_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("public_id", name="uq_api_keys_public_id"),
    )
    op.create_table(
        "customers",
        sa.Column("id", BIG_ID),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("email", name="uq_customers_email"),
    )
    op.create_table(
        "editions",
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("price_amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.CheckConstraint("length(currency) = 3", name="ck_editions_currency_iso"),
        sa.CheckConstraint("price_amount >= 0", name="ck_editions_price_not_negative"),
        sa.PrimaryKeyConstraint("code", name="pk_editions"),
    )
    op.create_table(
        "partners",
        sa.Column("id", BIG_ID),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("support_email", sa.String(254), nullable=False),
        sa.Column("support_url", sa.String(2000), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_partners"),
    )
    op.create_table(
        "releases",
        sa.Column("id", BIG_ID),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("released_at", INSTANT, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_releases"),
        sa.UniqueConstraint("version", name="uq_releases_version"),
    )
    op.create_index("ix_releases_released_at", "releases", ["released_at"])
    op.create_table(
        "licenses",
        sa.Column("id", BIG_ID),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("edition_code", sa.String(16), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("customer_id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("partner_id", BIG_ID, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("purchased_at", INSTANT, nullable=False),
        sa.Column("support_until", INSTANT, nullable=False),
        sa.Column("updates_until", INSTANT, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.CheckConstraint(
            "(channel = 'partner') = (partner_id IS NOT NULL)",
            name="ck_licenses_partner_iff_partner_channel",
        ),
        sa.CheckConstraint("channel IN ('direct', 'partner')", name="ck_licenses_channel_known"),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'revoked')", name="ck_licenses_status_known"
        ),
        sa.CheckConstraint(
            "support_until >= purchased_at", name="ck_licenses_support_after_purchase"
        ),
        sa.CheckConstraint(
            "updates_until >= purchased_at", name="ck_licenses_updates_after_purchase"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_licenses_customer_id_customers"
        ),
        sa.ForeignKeyConstraint(
            ["edition_code"], ["editions.code"], name="fk_licenses_edition_code_editions"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_licenses_partner_id_partners"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_licenses"),
        sa.UniqueConstraint("key", name="uq_licenses_key"),
    )
    op.create_index("ix_licenses_customer_id", "licenses", ["customer_id"])
    op.create_index("ix_licenses_partner_id", "licenses", ["partner_id"])
    # D4: at most one live license per domain, as a partial unique index on both engines.
    op.create_index(
        "uq_licenses_live_domain",
        "licenses",
        ["domain"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_table(
        "license_events",
        sa.Column("id", BIG_ID),
        sa.Column("license_id", BIG_ID, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("data", JSON_DATA, nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name="fk_license_events_license_id_licenses"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_license_events"),
    )
    op.create_index("ix_license_events_license_id_id", "license_events", ["license_id", "id"])
    for statement in APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    for statement in DROP_APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("license_events")
    op.drop_table("licenses")
    op.drop_table("releases")
    op.drop_table("partners")
    op.drop_table("editions")
    op.drop_table("customers")
    op.drop_table("api_keys")
