"""Migrations: upgrade from empty, match the models, enforce history, and downgrade to base,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import check, downgrade, upgrade

from licensing import create_app
from licensing.extensions import db
from tests.conftest import PG_SKIP_REASON, PG_URL, dispose, settings_for


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        url = request.getfixturevalue("new_pg_schema")()
    app = create_app(settings_for(url))
    yield app
    dispose(app)


def tables(app: Flask) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names())


def test_upgrade_from_empty_matches_models_then_downgrades_to_base(empty_app: Flask) -> None:
    with empty_app.app_context():
        upgrade()
        check()  # raises when the models and the migrations disagree
        editions = db.session.execute(
            sa.text("SELECT code, price_amount FROM editions ORDER BY code")
        )
        assert [tuple(row) for row in editions] == [("premium", 50000), ("pro", 30000)]
        db.session.remove()
    assert {"licenses", "license_events", "editions", "api_keys"} <= tables(empty_app)
    with empty_app.app_context():
        downgrade(revision="base")
    assert tables(empty_app) <= {"alembic_version"}
    with empty_app.app_context():
        upgrade()  # and back up again: downgrade left nothing behind
    assert "licenses" in tables(empty_app)


ONE_CUSTOMER = sa.text(
    "INSERT INTO customers (id, email, name, created_at) "
    "VALUES (1, 'a@example.com', 'A', '2026-01-01 00:00:00')"
)
A_LICENSE = sa.text(
    "INSERT INTO licenses (key, edition_code, domain, customer_id, channel, status, "
    "purchased_at, support_until, updates_until, initial_updates_until, created_at) "
    "VALUES (:key, 'pro', 'one.example.com', 1, 'direct', :status, '2026-01-01 00:00:00', "
    "'2026-01-31 00:00:00', '2027-01-01 00:00:00', '2027-01-01 00:00:00', "
    "'2026-01-01 00:00:00')"
)
AN_EVENT = sa.text(
    "INSERT INTO license_events (license_id, type, actor, at, data) "
    "SELECT id, 'issued', 'test', '2026-01-01 00:00:00', '{}' FROM licenses"
)


def test_history_rows_cannot_be_updated_or_deleted_in_the_database(empty_app: Flask) -> None:
    """The audit history is append-only even for raw SQL, not only through the ORM."""
    with empty_app.app_context():
        upgrade()
        db.session.execute(ONE_CUSTOMER)
        db.session.execute(A_LICENSE, {"key": "K", "status": "active"})
        db.session.execute(AN_EVENT)
        db.session.commit()
        for statement in (
            "UPDATE license_events SET actor = 'forger'",
            "DELETE FROM license_events",
        ):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                db.session.execute(sa.text(statement))
            db.session.rollback()
        actor = db.session.execute(sa.text("SELECT actor FROM license_events")).scalar_one()
        assert actor == "test"


def test_d4_database_allows_one_live_license_per_domain_and_any_number_revoked(
    empty_app: Flask,
) -> None:
    with empty_app.app_context():
        upgrade()
        db.session.execute(ONE_CUSTOMER)
        for n in range(3):
            db.session.execute(A_LICENSE, {"key": f"R{n}", "status": "revoked"})
        db.session.execute(A_LICENSE, {"key": "LIVE", "status": "active"})
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(A_LICENSE, {"key": "SECOND", "status": "suspended"})
        db.session.rollback()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE editions SET price_amount = -1 WHERE code = 'pro'"))
        db.session.rollback()
