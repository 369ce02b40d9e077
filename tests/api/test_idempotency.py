"""`Idempotency-Key` on creating POSTs: replay, reuse with another body, one effect."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from licensing.adapters.models import Customer, Order
from licensing.extensions import db
from tests.factories import Api, make_key, new_customer, problem
from tests.fakes import FakeGateway


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_same_key_and_body_replays_the_first_answer_byte_for_byte(app: Flask, admin: Api) -> None:
    body = {"email": "once@example.com", "name": "Once"}
    first = admin.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-1"})
    again = admin.post(
        "/v1/customers",
        json={"name": "Once", "email": "once@example.com"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(app, Customer) == 1


def test_same_key_with_another_body_is_409(app: Flask, admin: Api) -> None:
    admin.post(
        "/v1/customers",
        json={"email": "a@example.com", "name": "A"},
        headers={"Idempotency-Key": "k-2"},
    )
    response = admin.post(
        "/v1/customers",
        json={"email": "b@example.com", "name": "B"},
        headers={"Idempotency-Key": "k-2"},
    )
    problem(response, 409, "IDEMPOTENCY_KEY_REUSED")
    assert count(app, Customer) == 1


def test_keys_belong_to_their_api_key(app: Flask, client, admin: Api) -> None:
    other = Api(client, make_key(app, "checkout"))
    admin.post(
        "/v1/customers",
        json={"email": "a@example.com", "name": "A"},
        headers={"Idempotency-Key": "shared"},
    )
    response = other.post(
        "/v1/customers",
        json={"email": "b@example.com", "name": "B"},
        headers={"Idempotency-Key": "shared"},
    )
    assert response.status_code == 201
    assert count(app, Customer) == 2


def test_a_failed_request_is_not_remembered_so_a_retry_runs(app: Flask, admin: Api) -> None:
    new_customer(admin, email="taken@example.com")
    body = {"email": "taken@example.com", "name": "T"}
    problem(
        admin.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-3"}),
        409,
        "EMAIL_TAKEN",
    )
    problem(
        admin.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-3"}),
        409,
        "EMAIL_TAKEN",
    )


def test_without_a_key_each_request_acts(
    app: Flask, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    body = {
        "kind": "purchase",
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "twice.example.com",
    }
    assert checkout.post("/v1/orders", json=body).status_code == 201
    assert checkout.post("/v1/orders", json=body).status_code == 201
    assert count(app, Order) == 2


def test_order_retry_with_the_key_makes_no_second_payment_intent(
    app: Flask, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    body = {
        "kind": "purchase",
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "once.example.com",
    }
    first = checkout.post("/v1/orders", json=body, headers={"Idempotency-Key": "order-1"})
    again = checkout.post("/v1/orders", json=body, headers={"Idempotency-Key": "order-1"})
    assert again.get_data() == first.get_data()
    assert count(app, Order) == 1 and len(gateway.intents) == 1


def test_malformed_key_is_422_naming_the_header(admin: Api) -> None:
    response = admin.post(
        "/v1/customers",
        json={"email": "a@example.com", "name": "A"},
        headers={"Idempotency-Key": "has space"},
    )
    assert "Idempotency-Key" in problem(response, 422, "VALIDATION_FAILED")["errors"]
