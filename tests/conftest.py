"""Test wiring: every API test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

Each backend is migrated once per session with the real Alembic migrations; each test then
starts from that freshly migrated state (SQLite: a copy of the migrated file; PostgreSQL: its
own schema, truncated after each test and given back the migrated catalog rows).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask_migrate import upgrade

from licensing import create_app
from licensing.adapters import prepared
from licensing.adapters.replica import replica_engine
from licensing.adapters.signing import private_pem
from licensing.extensions import db
from licensing.settings import Settings

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite", "postgresql"]
PG_SKIP_REASON = "PostgreSQL not tested: TEST_DATABASE_URL is not set"


def pytest_report_header(config: pytest.Config) -> str:
    if PG_URL:
        return f"databases: sqlite and postgresql ({sa.make_url(PG_URL).render_as_string()})"
    return f"databases: sqlite only. {PG_SKIP_REASON}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    line = (
        "databases tested: sqlite, postgresql"
        if PG_URL
        else f"databases tested: sqlite. {PG_SKIP_REASON}"
    )
    terminalreporter.write_line(line, yellow=not PG_URL, green=bool(PG_URL))


# The run's certificate signing key (D23): made here, so that no test touches instance/.
TEST_SIGNING_KEY = private_pem(Ed25519PrivateKey.generate())


def settings_for(database_url: str, **changes: Any) -> Settings:
    """Development defaults on this database; the validate rate limit is off (its own test
    turns it on), so that a long suite from one address is not throttled."""
    environ = {"LICENSE_SIGNING_KEY": TEST_SIGNING_KEY}
    base = Settings.from_env(environ, instance_path=Path("/nonexistent"))
    return base.replace(**{"database_url": database_url, "validate_rate_limit": "off", **changes})


def pg_schema_url(schema: str) -> str:
    """The test database URL with its search_path set to one schema of this run."""
    url = sa.make_url(PG_URL)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def migrate(database_url: str) -> Flask:
    app = create_app(settings_for(database_url))
    with app.app_context():
        upgrade()
    return app


def dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    for engine in (replica_engine(app), app.extensions.get(prepared.EXTENSION)):
        if engine is not None:
            engine.dispose()


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[sa.Engine]:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def new_pg_schema(pg_admin_engine: sa.Engine) -> Iterator[Any]:
    """Make fresh PostgreSQL schemas for this run; all are dropped at the end."""
    made: list[str] = []

    def make() -> str:
        schema = f"lic_test_{uuid.uuid4().hex[:12]}"
        with pg_admin_engine.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        return pg_schema_url(schema)

    yield make
    with pg_admin_engine.connect() as conn:
        for schema in made:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


RESTORE_EDITIONS = sa.text(
    "INSERT INTO editions SELECT * FROM json_populate_recordset(NULL::editions, :rows)"
)


class Backend:
    """A migrated database and the app bound to it, reset to 'just migrated' per test."""

    def __init__(self, name: str, app: Flask, reset: Any) -> None:
        self.name = name
        self.app = app
        self.reset = reset


@pytest.fixture(scope="session", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("sqlite")
        template, work = folder / "migrated.db", folder / "work.db"
        dispose(migrate(f"sqlite:///{template}"))
        shutil.copy(template, work)
        app = create_app(settings_for(f"sqlite:///{work}"))

        def reset_sqlite() -> None:
            with app.app_context():
                db.engine.dispose()
            shutil.copy(template, work)

        yield Backend("sqlite", app, reset_sqlite)
        dispose(app)
        return

    make_schema = request.getfixturevalue("new_pg_schema")
    url = make_schema()
    app = migrate(url)
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        catalog = [
            dict(row._mapping) for row in db.session.execute(sa.text("SELECT * FROM editions"))
        ]
        db.session.rollback()

    def reset_pg() -> None:
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                conn.execute(RESTORE_EDITIONS, {"rows": _json(catalog)})

    yield Backend("postgresql", app, reset_pg)
    dispose(app)


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=lambda value: value.isoformat())


@pytest.fixture
def app(backend: Backend) -> Iterator[Flask]:
    yield backend.app
    backend.reset()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def admin(app: Flask, client: Any) -> Any:
    from tests.factories import Api, make_key

    return Api(client, make_key(app, "admin"))


@pytest.fixture
def gateway(app: Flask) -> Iterator[Any]:
    """The app's payment gateway replaced by an in-memory fake for one test."""
    from tests.fakes import FakeGateway

    real = app.extensions["payments"]
    fake = FakeGateway()
    app.extensions["payments"] = fake
    yield fake
    app.extensions["payments"] = real


@pytest.fixture
def checkout(app: Flask, client: Any) -> Any:
    from tests.factories import Api, make_key

    return Api(client, make_key(app, "checkout"))


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on a free loopback port: `.host`, `.port`, `.url`, and
    `.received()`, the messages it accepted (email.message.EmailMessage, parsed)."""
    from tests.smtp import smtp_server_running

    with smtp_server_running() as server:
        yield server


@pytest.fixture
def mailer(app: Flask, smtp_server: Any) -> Iterator[Any]:
    """The app's mailer pointed at `smtp_server` for one test."""
    from licensing.adapters.mail import SmtpMailer

    real = app.extensions["mailer"]
    app.extensions["mailer"] = SmtpMailer.from_settings(smtp_server.url, "Licensing <l@test>")
    yield app.extensions["mailer"]
    app.extensions["mailer"] = real
