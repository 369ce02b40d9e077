"""DATABASE_REPLICA_URL: the reports (JSON, CSV, page) read from the replica, everything else
from the primary, and without the setting everything from the primary.

The "replica" here is a second database (a second SQLite file, or a second PostgreSQL schema)
holding other data than the primary, so an answer shows which one it came from. On
PostgreSQL, `pg_stat_activity` shows the replica engine's connection by its
`application_name`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from licensing import create_app, demo_data
from licensing.adapters.models import License
from licensing.adapters.replica import REPORT_APPLICATION, engine_options
from licensing.extensions import db
from tests.conftest import Backend, dispose, migrate, settings_for
from tests.factories import Api, import_license, make_key, new_customer, ok

MONTHS = "from=2020-01&to=2026-12"
REPORTS = (  # the JSON and CSV of both reports (the page is built from the same services)
    (f"/v1/reports/renewals?{MONTHS}&at=2026-11-01T00:00:00Z", "application/json"),
    (f"/v1/reports/renewals?{MONTHS}&at=2026-11-01T00:00:00Z", "text/csv"),
    (f"/v1/reports/revenue?{MONTHS}", "application/json"),
    (f"/v1/reports/revenue?{MONTHS}", "text/csv"),
)
NAME = f"licensing-report-{uuid.uuid4().hex[:8]}"


def answers(app: Flask, key: str) -> list[str]:
    client = app.test_client()
    found = []
    for path, accept in REPORTS:
        answer = client.get(path, headers={"Authorization": f"Bearer {key}", "Accept": accept})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        found.append(answer.get_data(as_text=True))
    return found


def net_revenue(app: Flask, key: str) -> int:
    answer = app.test_client().get(
        f"/v1/reports/revenue?{MONTHS}", headers={"Authorization": f"Bearer {key}"}
    )
    return ok(answer)["totals"]["net"]["amount"]


@pytest.fixture
def replica(backend: Backend, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple]:
    """A second migrated database with years of demo renewals and orders, its URL, and what
    its reports answer when it is the only database."""
    if backend.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'replica.db'}"
    else:
        url = request.getfixturevalue("new_pg_schema")()
    alone = migrate(url)
    with alone.app_context():
        demo_data.generate(licenses=40, seed=7, now=datetime(2026, 11, 1, tzinfo=UTC))
    expected = answers(alone, make_key(alone, "finance"))
    assert net_revenue(alone, make_key(alone, "finance")) > 0
    dispose(alone)
    yield url, expected


@pytest.fixture
def with_replica(app: Flask, replica: tuple) -> Iterator[Flask]:
    """The service on the test's primary, with the reports on the replica."""
    primary = app.config["SQLALCHEMY_DATABASE_URI"]
    both = create_app(settings_for(primary, database_replica_url=_named(replica[0])))
    yield both
    dispose(both)


def _named(url: str) -> str:
    """On PostgreSQL, a name of this test's own for the replica's connections."""
    if not url.startswith("postgresql"):
        return url
    return sa.make_url(url).update_query_dict({"application_name": NAME}).render_as_string(False)


def test_reports_read_the_replica_and_everything_else_the_primary(
    app: Flask,
    with_replica: Flask,
    replica: tuple,
    backend: Backend,
    request: pytest.FixtureRequest,
) -> None:
    finance = make_key(app, "finance")  # a key of the primary: authentication reads it there
    assert answers(with_replica, finance) == replica[1]  # the replica's reports, every format
    assert net_revenue(app, finance) == 0  # the primary has no orders at all
    link = ok(Api(with_replica.test_client(), finance).post(f"/v1/reports/renewals/link?{MONTHS}"))
    page = with_replica.test_client().get("/" + link["url"].split("://", 1)[1].split("/", 1)[1])
    assert page.status_code == 200

    # A write, and the reads outside the reports, go to the primary.
    admin = Api(with_replica.test_client(), make_key(app, "admin"))
    written = import_license(admin, customer_id=new_customer(admin)["id"])
    assert ok(admin.get(f"/v1/licenses/{written['key']}"))["key"] == written["key"]
    with app.app_context():
        assert db.session.execute(sa.select(License.key)).scalars().all() == [written["key"]]

    if backend.name == "postgresql":
        with request.getfixturevalue("pg_admin_engine").connect() as conn:
            queries = (
                conn.execute(
                    sa.text("SELECT query FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": NAME},
                )
                .scalars()
                .all()
            )
        # The replica engine's connection, named so (its last statement: the end of the
        # request's transaction); the answers above say what it read.
        assert queries, f"no connection named {NAME}"
        print(f"\npg_stat_activity: {len(queries)} connection(s) named {NAME}")


def test_without_the_setting_reports_read_the_primary(app: Flask, replica: tuple) -> None:
    finance = make_key(app, "finance")
    assert net_revenue(app, finance) == 0
    assert answers(app, finance) != replica[1]


def test_connections_name_their_engine_on_postgresql_only() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1/test"
    assert engine_options(url, REPORT_APPLICATION)["connect_args"] == {
        "application_name": "licensing-report"
    }
    assert "connect_args" not in engine_options(f"{url}?application_name=mine", "x")
    assert "connect_args" not in engine_options("sqlite:///x.db", "x")
