"""The hot paths (validate, certificate, entitlements): few statements, each an index lookup,
no lazy loads; and the probes (healthz, readyz)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import make_url, text

from licensing import create_app
from licensing.domain.entitlements import Department
from licensing.extensions import db
from licensing.services import certificates, entitlements, validation
from tests.conftest import dispose, settings_for
from tests.factories import Api, created, import_license, new_customer, problem
from tests.statements import statements_sent


@pytest.fixture
def shop(admin: Api) -> dict[str, Any]:
    customer = new_customer(admin)
    created(
        admin.post("/v1/releases", json={"version": "5.0", "released_at": "2026-01-01T00:00:00Z"})
    )
    return import_license(
        admin,
        customer_id=customer["id"],
        domain="hot.example.com",
        purchased_at="2026-11-20T00:00:00Z",
    )


def hot_calls(shop: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    at = datetime(2026, 11, 26, 12, tzinfo=UTC)
    return {
        "validate": lambda: validation.validate(
            key=shop["key"], domain="hot.example.com", version="5.0"
        ),
        "certificate": lambda: certificates.issue_certificate(
            license_key=shop["key"], domain="hot.example.com", now=at
        ),
        "entitlements": lambda: entitlements.entitlement(
            customer_id=shop["customer_id"],
            department=Department.TECHNICAL_SUPPORT,
            domain="hot.example.com",
            version="5.0",
            at=at,
        ),
    }


@pytest.mark.parametrize("path", ["validate", "certificate", "entitlements"])
def test_each_hot_path_is_at_most_two_statements(
    app: Flask, shop: dict[str, Any], path: str
) -> None:
    with app.app_context(), statements_sent(app) as seen:
        answer = hot_calls(shop)[path]()
    assert answer is not None
    assert 1 <= len(seen) <= 2, [s for s, _ in seen]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("path", ["validate", "certificate", "entitlements"])
def test_each_hot_path_statement_can_use_an_index(
    app: Flask, shop: dict[str, Any], path: str
) -> None:
    """EXPLAIN with sequential scans priced out: every table is reached through an index (a
    tiny table would otherwise be scanned, which says nothing about a million rows)."""
    each_statement_uses_an_index(app, hot_calls(shop)[path])


def each_statement_uses_an_index(app: Flask, call: Callable[[], Any]) -> None:
    with app.app_context():
        with statements_sent(app) as seen:
            call()
        assert seen, "the call ran no statement: nothing would be checked"
        conn = db.session.connection()
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        for statement, parameters in seen:
            cursor = conn.connection.driver_connection.cursor()
            cursor.execute(f"EXPLAIN {statement}", parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan" not in plan, plan
            assert "Index" in plan, plan
        db.session.rollback()


def owners_asking(shop: dict[str, Any], admin: Api) -> dict[str, Callable[[], Any]]:
    """The shop's license sold to a new customer on 2026-11-27: the seller asking as of the
    day before, the buyer as of the day after (D21)."""
    buyer = new_customer(admin)["id"]
    with time_machine.travel(datetime(2026, 11, 27, tzinfo=UTC), tick=False):
        transfer = {"customer_id": buyer, "note": "The shop was sold"}
        assert admin.post(f"/v1/licenses/{shop['key']}/transfer", json=transfer).status_code == 200

    def asking(customer_id: int, at: datetime) -> Callable[[], Any]:
        return lambda: entitlements.entitlement(
            customer_id=customer_id,
            department=Department.TECHNICAL_SUPPORT,
            domain="hot.example.com",
            version="5.0",
            at=at,
        )

    return {
        "seller": asking(shop["customer_id"], datetime(2026, 11, 26, 12, tzinfo=UTC)),
        "buyer": asking(buyer, datetime(2026, 11, 28, 12, tzinfo=UTC)),
    }


@pytest.mark.parametrize("owner", ["seller", "buyer"])
def test_d21_entitlements_of_a_transferred_license_stay_one_statement(
    app: Flask, shop: dict[str, Any], admin: Api, owner: str
) -> None:
    call = owners_asking(shop, admin)[owner]
    with app.app_context(), statements_sent(app) as seen:
        answer = call()
    assert answer.decision.code == "ALLOWED"
    assert len(seen) == 1, [s for s, _ in seen]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("owner", ["seller", "buyer"])
def test_d21_entitlements_of_a_transferred_license_use_indexes(
    app: Flask, shop: dict[str, Any], admin: Api, owner: str
) -> None:
    each_statement_uses_an_index(app, owners_asking(shop, admin)[owner])


def test_healthz_needs_no_database_and_readyz_reports_it(client, app: Flask) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready", "degraded": []}


def test_readyz_is_503_problem_when_the_database_is_unreachable() -> None:
    broken = create_app(
        settings_for("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1")
    )
    try:
        client = broken.test_client()
        assert client.get("/healthz").status_code == 200
        problem(client.get("/readyz"), 503, "DATABASE_UNAVAILABLE")
    finally:
        dispose(broken)


def test_the_hot_paths_are_503_problems_when_the_database_is_unreachable() -> None:
    """Their `PreparedRead`s fail as the session would: 503 DATABASE_UNAVAILABLE."""
    broken = create_app(
        settings_for("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1")
    )
    body = {"key": "Z8W9B-B157H-93QAA-K9W3Y-77GQC", "domain": "shop.example.com"}
    try:
        client = broken.test_client()
        for path in ("/v1/licenses/validate", "/v1/licenses/certificate"):
            problem(client.post(path, json=body), 503, "DATABASE_UNAVAILABLE")
    finally:
        dispose(broken)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_hot_reads_reconnect_after_the_database_dropped_their_connections(
    app: Flask, pg_admin_engine: Any
) -> None:
    """A restart (here: the hot pool's backends terminated) fails one request with 503; the
    next ones reconnect, as the session's pool does."""
    name = f"hot-test-{uuid.uuid4().hex[:8]}"
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).update_query_dict(
        {"application_name": name}
    )
    hot = create_app(settings_for(url.render_as_string(hide_password=False)))
    body = {"key": "Z8W9B-B157H-93QAA-K9W3Y-77GQC", "domain": "shop.example.com"}
    try:
        client = hot.test_client()
        assert client.post("/v1/licenses/validate", json=body).status_code == 200
        with pg_admin_engine.connect() as conn:
            ended = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar_one()
        assert ended >= 1
        problem(client.post("/v1/licenses/validate", json=body), 503, "DATABASE_UNAVAILABLE")
        for _ in range(3):
            assert client.post("/v1/licenses/validate", json=body).status_code == 200
    finally:
        dispose(hot)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_entitlements_reach_the_domains_license_through_its_index(
    app: Flask, shop: dict[str, Any]
) -> None:
    with app.app_context():
        with statements_sent(app) as seen:
            hot_calls(shop)["entitlements"]()
        [(statement, parameters)] = seen
        conn = db.session.connection()
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute(f"EXPLAIN {statement}", parameters)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        db.session.rollback()
    assert "ix_licenses_domain" in plan, plan
