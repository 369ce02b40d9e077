"""Faults: a webhook whose handling fails midway, and the database stopping under the
service (PostgreSQL stopped and started with its own control command)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from licensing.adapters.models import Customer, IdempotencyKey, License, Order, StripeEvent
from licensing.extensions import db
from tests.factories import Api, created, new_customer, ok, problem
from tests.fakes import FakeGateway, intent, signed, stripe_event


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_webhook_failing_midway_rolls_back_and_the_retry_applies_once(
    app: Flask,
    client: FlaskClient,
    admin: Api,
    checkout: Api,
    gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from licensing.services import orders as order_service

    customer = new_customer(admin)
    order = created(
        checkout.post(
            "/v1/orders",
            json={
                "kind": "purchase",
                "customer_id": customer["id"],
                "edition": "pro",
                "domain": "flaky.example.com",
            },
        )
    )
    body, headers = signed(
        stripe_event(
            "payment_intent.succeeded", intent(order["payment"]["payment_intent_id"], charge="ch_f")
        )
    )
    real = order_service.refresh_status

    def fail_after_the_license(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr("licensing.services.payment_events.refresh_status", fail_after_the_license)
    problem(client.post("/v1/stripe/webhook", data=body, headers=headers), 500, "INTERNAL_ERROR")
    assert (count(app, License), count(app, StripeEvent)) == (0, 0)  # nothing half-written
    assert ok(checkout.get(f"/v1/orders/{order['id']}"))["status"] == "awaiting_payment"
    monkeypatch.setattr("licensing.services.payment_events.refresh_status", real)
    assert (
        ok(client.post("/v1/stripe/webhook", data=body, headers=headers))["outcome"] == "applied"
    )  # Stripe's retry
    assert (
        ok(client.post("/v1/stripe/webhook", data=body, headers=headers))["outcome"] == "duplicate"
    )
    assert count(app, License) == 1


def test_an_order_whose_answer_cannot_be_stored_leaves_nothing_and_its_retry_runs_once(
    app: Flask,
    checkout: Api,
    admin: Api,
    gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The claim, the order and the stored answer commit together: losing the database at
    the last write leaves no order and no stuck key, so the retry with the key runs again."""
    from licensing.services import idempotency

    customer = new_customer(admin)
    body = {
        "kind": "purchase",
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "lost-answer.example.com",
    }
    headers = {"Idempotency-Key": "lost-answer"}
    real = idempotency.record

    def database_gone(**kwargs: Any) -> None:
        raise sa.exc.OperationalError("UPDATE idempotency_keys", {}, ConnectionError("gone"))

    monkeypatch.setattr(idempotency, "record", database_gone)
    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST", 0.2)  # a stuck key answers 409 sooner
    failed = checkout.post("/v1/orders", json=body, headers=headers)
    problem(failed, 503, "DATABASE_UNAVAILABLE")
    assert "Traceback" not in failed.get_data(as_text=True)
    assert (count(app, Order), count(app, IdempotencyKey)) == (0, 0)  # nothing half-written

    monkeypatch.setattr(idempotency, "record", real)
    order = created(checkout.post("/v1/orders", json=body, headers=headers))
    again = checkout.post("/v1/orders", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == order["id"]
    with app.app_context():
        intents = db.session.execute(select(Order.payment_intent_id)).scalars().all()
    assert intents == [order["payment"]["payment_intent_id"]]  # the intent of the lost attempt
    assert len(gateway.intents) == 2  # was made under its own key and never shown to anyone


CLUSTER = shutil.which("pg_ctlcluster")
FAULTS = os.environ.get("LICENSING_FAULT_TESTS") == "1"


def pg_ctl(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            version,
            "main",
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        capture_output=True,
    )


def wait_ready(url: str, timeout: float = 60) -> None:
    engine = sa.create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
                return
            except sa.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        engine.dispose()


@pytest.mark.skipif(
    not (CLUSTER and FAULTS),
    reason="stops the local PostgreSQL: .ci/run sets LICENSING_FAULT_TESTS=1",
)
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_database_stopping_gives_503_problems_no_partial_write_and_recovery_without_restart(
    app: Flask, client: FlaskClient, admin: Api, pg_admin_engine: sa.Engine
) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    ok(admin.get("/v1/editions"))  # the pool holds a live connection now
    pg_ctl("stop")
    try:
        problem(
            admin.post("/v1/customers", json={"email": "lost@example.com", "name": "Lost"}),
            503,
            "DATABASE_UNAVAILABLE",
        )
        problem(client.get("/readyz"), 503, "DATABASE_UNAVAILABLE")
        problem(admin.get("/v1/editions"), 503, "DATABASE_UNAVAILABLE")
        assert client.get("/healthz").status_code == 200  # the process is alive
    finally:
        pg_ctl("start")
        wait_ready(url)
    deadline = time.monotonic() + 30
    while client.get("/readyz").status_code != 200:  # no restart: the pool refills by itself
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert ok(admin.get("/v1/editions"))["items"]
    with app.app_context():
        lost = db.session.execute(
            select(Customer).where(Customer.email == "lost@example.com")
        ).first()
    assert lost is None
