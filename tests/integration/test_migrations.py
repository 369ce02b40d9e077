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


# SQLite cannot reflect D24's expression index (migration 0014); migrations/env.py leaves
# it out of the comparison and test_d24_migration_* below check it directly.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
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


CUSTOMER = sa.text(
    "INSERT INTO customers (id, email, name, created_at) "
    "VALUES (:id, :email, 'C', '2026-01-01 00:00:00')"
)


def _version() -> str:
    return db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()


def test_d24_migration_0014_stops_and_lists_the_emails_that_clash(
    empty_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    """Customers that share an email once trimmed and in lower case are reported, ids and
    address, and nothing changes; once an operator settles them, the upgrade goes through."""
    emails = {
        1: "Ann@Example.com",
        2: "ann@example.com ",
        3: "bob@example.com",
        4: " BOB@example.com",
        5: "bob@EXAMPLE.com",
        6: "carl@example.com",
    }
    with empty_app.app_context():
        upgrade(revision="0013")
        for customer_id, email in emails.items():
            db.session.execute(CUSTOMER, {"id": customer_id, "email": email})
        db.session.commit()
        with pytest.raises(SystemExit):  # what `flask db upgrade` exits with, after the report
            upgrade(revision="0014")
        db.session.rollback()
        report = capsys.readouterr().err  # `flask db upgrade` logs it to standard error
        assert "2 email(s) belong to more than one customer" in report
        assert "'ann@example.com': customer ids 1, 2" in report
        assert "'bob@example.com': customer ids 3, 4, 5" in report
        assert "carl" not in report
        assert _version() == "0013"
        kept = db.session.execute(sa.text("SELECT id, email FROM customers ORDER BY id")).all()
        assert dict(kept) == emails  # nothing merged, nothing rewritten
        db.session.execute(sa.text("DELETE FROM customers WHERE id IN (2, 4, 5)"))
        db.session.commit()
        upgrade(revision="0014")
        assert _version() == "0014"


def test_d24_migration_0014_index_holds_at_head_and_goes_on_downgrade(empty_app: Flask) -> None:
    with empty_app.app_context():
        upgrade()
        db.session.execute(CUSTOMER, {"id": 1, "email": "dora@example.com"})
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError, match="uq_customers_email_normalized"):
            db.session.execute(CUSTOMER, {"id": 2, "email": " DORA@example.com"})
        db.session.rollback()
        downgrade(revision="0013")
        db.session.execute(CUSTOMER, {"id": 2, "email": " DORA@example.com"})  # as before
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(CUSTOMER, {"id": 3, "email": "dora@example.com"})
        db.session.rollback()


AN_EMAIL = sa.text(
    "INSERT INTO emails (cause_key, customer_id, recipient, subject, text_body, status, "
    "attempts, created_at, next_attempt_at) VALUES (:cause, 1, 'a@example.com', :subject, "
    ":body, 'pending', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)


def test_d25_migration_0020_keeps_rendered_emails_and_undoes_only_when_all_are_rendered(
    empty_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    """0020 lets an email wait unrendered; an email rendered before it is kept as it is.
    The downgrade stops (nothing changed) while an email has no words yet."""
    with empty_app.app_context():
        upgrade(revision="0019")
        db.session.execute(CUSTOMER, {"id": 1, "email": "a@example.com"})
        db.session.execute(AN_EMAIL, {"cause": "old", "subject": "Hello", "body": "Words."})
        db.session.commit()
        upgrade(revision="0020")
        db.session.execute(AN_EMAIL, {"cause": "new", "subject": None, "body": None})
        db.session.commit()
        kept = db.session.execute(sa.text("SELECT cause_key, subject, text_body FROM emails"))
        assert sorted(kept) == [("new", None, None), ("old", "Hello", "Words.")]
        with pytest.raises(SystemExit):
            downgrade(revision="0019")
        db.session.rollback()
        assert "1 email(s) have no subject or body yet" in capsys.readouterr().err
        assert _version() == "0020"
        db.session.execute(sa.text("DELETE FROM emails WHERE cause_key = 'new'"))
        db.session.commit()
        downgrade(revision="0019")
        assert _version() == "0019"
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(AN_EMAIL, {"cause": "newer", "subject": None, "body": None})
        db.session.rollback()
