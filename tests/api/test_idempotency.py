"""`Idempotency-Key` on creating POSTs: replay, reuse with another body, one effect."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from licensing.adapters.models import Customer, IdempotencyKey, Order
from licensing.clock import utcnow
from licensing.extensions import db
from tests.factories import Api, created, make_key, new_customer, ok, problem
from tests.fakes import FakeGateway, intent, signed, stripe_event


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


def test_accepting_a_quote_again_with_the_key_opens_no_second_order(
    app: Flask, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    """Accepting opens a work order and its PaymentIntent: a retry replays the answer."""
    helpdesk = Api(client, make_key(app, "helpdesk"))
    line = {"category": "design", "description": "Logo", "hours": 1}
    customer = new_customer(admin)
    quote = created(
        helpdesk.post("/v1/quotes", json={"customer_id": customer["id"], "lines": [line]})
    )
    ok(helpdesk.post(f"/v1/quotes/{quote['id']}/send"))
    accept = f"/v1/quotes/{quote['id']}/accept"
    bad = checkout.post(accept, headers={"Idempotency-Key": "has space"})
    assert "Idempotency-Key" in problem(bad, 422, "VALIDATION_FAILED")["errors"]
    first = checkout.post(accept, headers={"Idempotency-Key": "accept-1"})
    again = checkout.post(accept, headers={"Idempotency-Key": "accept-1"})
    assert ok(first)["status"] == "accepted"
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(app, Order) == 1 and len(gateway.intents) == 1


def pay(client: FlaskClient, order: dict) -> None:
    event = stripe_event(
        "payment_intent.succeeded", intent(order["payment"]["payment_intent_id"], charge="ch_1")
    )
    payload, headers = signed(event)
    assert client.post("/v1/stripe/webhook", data=payload, headers=headers).status_code == 200


def stored_bodies(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(IdempotencyKey.response_body)).scalars())


@pytest.mark.parametrize("ended_by", ["payment", "its 24 hours"])
def test_a_replay_shows_the_client_secret_only_while_the_order_can_be_paid(
    app: Flask, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway, ended_by: str
) -> None:
    customer = new_customer(admin)
    body = {
        "kind": "purchase",
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "secret.example.com",
    }
    headers = {"Idempotency-Key": "order-secret"}
    first = checkout.post("/v1/orders", json=body, headers=headers)
    order = created(first)
    secret = order["payment"]["client_secret"]
    assert secret and all(secret not in stored for stored in stored_bodies(app))
    while_payable = checkout.post("/v1/orders", json=body, headers=headers)
    assert while_payable.get_data() == first.get_data()  # still payable: byte for byte

    if ended_by == "payment":
        pay(client, order)
    later = datetime.fromisoformat(order["expires_at"]) + timedelta(seconds=1)
    with time_machine.travel(later, tick=False) if ended_by == "its 24 hours" else nullcontext():
        replay = checkout.post("/v1/orders", json=body, headers=headers)
        shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == {**order, "payment": {**order["payment"], "client_secret": None}}
    assert shown["payment"]["client_secret"] is None  # the order's own page agrees
    assert all(secret not in stored for stored in stored_bodies(app))
    assert count(app, Order) == 1


def test_a_use_case_committing_by_itself_inside_the_unit_is_refused(app: Flask) -> None:
    """One place owns the transaction: a stray commit would split the claim from the effect."""
    from licensing.services.transactions import unit_of_work

    with app.app_context(), pytest.raises(RuntimeError, match="unit of work"), unit_of_work():
        db.session.add(Customer(email="stray@example.com", name="Stray", created_at=utcnow()))
        db.session.commit()
    assert count(app, Customer) == 0


def test_malformed_key_is_422_naming_the_header(admin: Api) -> None:
    response = admin.post(
        "/v1/customers",
        json={"email": "a@example.com", "name": "A"},
        headers={"Idempotency-Key": "has space"},
    )
    assert "Idempotency-Key" in problem(response, 422, "VALIDATION_FAILED")["errors"]
