"""D26: a partner acts only on its own customers (the ones created with its key); any other
customer id is answered exactly as an unknown one, so a partner learns no ids."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from licensing.adapters.models import License
from licensing.extensions import db
from tests.factories import Api, created, make_key, new_customer, new_partner, ok, problem

UNKNOWN_ID = 987654321


def partner_with_key(app: Flask, client: FlaskClient, admin: Api) -> tuple[int, Api]:
    partner_id = new_partner(admin)["id"]
    return partner_id, Api(client, make_key(app, f"partner:{partner_id}"))


def answer_without_id(response: TestResponse, customer_id: int) -> tuple[Any, ...]:
    """Status, content type, and the body byte for byte with the asked id (if echoed)
    replaced by a placeholder."""
    body = re.sub(rf"(?<!\d){customer_id}(?!\d)", "{id}", response.get_data(as_text=True))
    return response.status_code, response.headers["Content-Type"], body


def license_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(License))


def sale(partner: Api, partner_id: int, customer_id: int, **fields: Any) -> TestResponse:
    body = {"customer_id": customer_id, "edition": "pro", "domain": "d26.example.com", **fields}
    return partner.post(f"/v1/partners/{partner_id}/licenses", json=body)


def test_d26_a_customer_created_with_a_partner_key_belongs_to_that_partner(
    app: Flask, client: FlaskClient, admin: Api, checkout: Api
) -> None:
    partner_id, partner = partner_with_key(app, client, admin)
    body = {"email": "own@example.com", "name": "Own"}
    headers = {"Idempotency-Key": "d26-own"}
    own = created(partner.post("/v1/customers", json=body, headers=headers))
    assert own["partner_id"] == partner_id
    replay = partner.post("/v1/customers", json=body, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true" and created(replay) == own
    assert ok(partner.get(f"/v1/customers/{own['id']}")) == own
    assert ok(admin.get(f"/v1/customers/{own['id']}"))["partner_id"] == partner_id
    # Customers opened by vendor keys (checkout, admin) belong to no partner.
    assert new_customer(checkout)["partner_id"] is None
    assert new_customer(admin)["partner_id"] is None
    # Who owns a customer comes from the key, never from the body.
    forged = partner.post(
        "/v1/customers", json={"email": "forged@example.com", "name": "F", "partner_id": 1}
    )
    assert "partner_id" in problem(forged, 422, "VALIDATION_FAILED")["errors"]


def test_d26_a_partner_sells_only_to_its_own_customers_others_are_unknown(
    app: Flask, client: FlaskClient, admin: Api
) -> None:
    partner_id, partner = partner_with_key(app, client, admin)
    _, rival = partner_with_key(app, client, admin)
    direct = new_customer(admin)["id"]
    rivals = new_customer(rival)["id"]
    before = license_count(app)

    unknown = sale(partner, partner_id, UNKNOWN_ID)
    problem(unknown, 422, "CUSTOMER_NOT_FOUND")
    assert "customer_id" in unknown.get_json()["errors"]
    for customer_id in (direct, rivals):
        answer = sale(partner, partner_id, customer_id)
        assert answer_without_id(answer, customer_id) == answer_without_id(unknown, UNKNOWN_ID)
        assert answer.get_data() == unknown.get_data()  # the sale echoes no id at all
    # The customer is checked first, whatever else is wrong, as for an unknown id.
    for customer_id in (direct, rivals, UNKNOWN_ID):
        problem(sale(partner, partner_id, customer_id, edition="gold"), 422, "CUSTOMER_NOT_FOUND")
    assert license_count(app) == before
    for customer_id in (direct, rivals):
        assert ok(admin.get(f"/v1/customers/{customer_id}/licenses"))["items"] == []

    # Its own customer: sold, on the very domain the refused attempts named.
    own = new_customer(partner)["id"]
    sold = created(sale(partner, partner_id, own))
    assert sold["customer_id"] == own and sold["partner_id"] == partner_id
    assert sold["channel"] == "partner" and sold["domain"] == "d26.example.com"
    # Admin keeps acting on all: it may record a partner's sale to any customer.
    by_admin = created(sale(admin, partner_id, direct, domain="admin.example.com"))
    assert by_admin["customer_id"] == direct and by_admin["partner_id"] == partner_id


def test_d26_a_partner_reads_only_its_own_customers_others_are_unknown(
    app: Flask, client: FlaskClient, admin: Api
) -> None:
    partner_id, partner = partner_with_key(app, client, admin)
    _, rival = partner_with_key(app, client, admin)
    own = new_customer(partner)["id"]
    direct = new_customer(admin)["id"]
    rivals = new_customer(rival)["id"]
    # A license the partner sold before D26 to a vendor customer stays readable by its key
    # (GET /v1/licenses/{key}), but the customer behind it is not the partner's.
    legacy = created(sale(admin, partner_id, direct))
    assert ok(partner.get(f"/v1/licenses/{legacy['key']}"))["key"] == legacy["key"]

    for path in ("/v1/customers/{id}", "/v1/customers/{id}/licenses"):
        unknown = partner.get(path.format(id=UNKNOWN_ID))
        problem(unknown, 404, "CUSTOMER_NOT_FOUND")
        for customer_id in (direct, rivals):
            answer = partner.get(path.format(id=customer_id))
            assert answer_without_id(answer, customer_id) == answer_without_id(
                unknown, UNKNOWN_ID
            ), path
        ok(partner.get(path.format(id=own)))
        for customer_id in (own, direct, rivals):
            ok(admin.get(path.format(id=customer_id)))
    # Its own customer's licenses: those it sold, not the vendor's direct sales to them.
    sold = created(sale(partner, partner_id, own, domain="own.example.com"))
    direct_sale = created(
        admin.post(
            "/v1/licenses/import",
            json={
                "customer_id": own,
                "edition": "pro",
                "domain": "vendor.example.com",
                "purchased_at": "2026-01-15T10:00:00Z",
                "channel": "direct",
            },
        )
    )
    listed = ok(partner.get(f"/v1/customers/{own}/licenses"))["items"]
    assert [item["key"] for item in listed] == [sold["key"]]
    everything = ok(admin.get(f"/v1/customers/{own}/licenses"))["items"]
    assert [item["key"] for item in everything] == [sold["key"], direct_sale["key"]]


def test_d26_email_taken_names_the_customer_only_to_a_key_that_may_see_it(
    app: Flask, client: FlaskClient, admin: Api, checkout: Api
) -> None:
    """D24 makes an email unique across all customers, so a partner does learn that an email
    is taken; D26 keeps the id of a customer that is not its own from it."""
    _, partner = partner_with_key(app, client, admin)
    direct = new_customer(admin, email="taken@example.com")
    own = new_customer(partner, email="mine@example.com")
    refused = problem(
        partner.post("/v1/customers", json={"email": "TAKEN@example.com", "name": "T"}),
        409,
        "EMAIL_TAKEN",
    )
    assert "customer_id" not in refused
    vendor = problem(
        checkout.post("/v1/customers", json={"email": "taken@example.com", "name": "T"}),
        409,
        "EMAIL_TAKEN",
    )
    assert vendor["customer_id"] == direct["id"]
    again = problem(
        partner.post("/v1/customers", json={"email": "Mine@example.com", "name": "M"}),
        409,
        "EMAIL_TAKEN",
    )
    assert again["customer_id"] == own["id"]
    assert ok(admin.get(f"/v1/customers/{own['id']}"))["email"] == "mine@example.com"


def test_d26_a_key_for_a_partner_that_does_not_exist_opens_no_customer(
    app: Flask, client: FlaskClient, admin: Api
) -> None:
    ghost = Api(client, make_key(app, f"partner:{UNKNOWN_ID}"))
    response = ghost.post("/v1/customers", json={"email": "ghost@example.com", "name": "G"})
    assert "partner_id" in problem(response, 422, "PARTNER_NOT_FOUND")["errors"]
    # Nothing was written: the email is still free.
    new_customer(admin, email="ghost@example.com")
