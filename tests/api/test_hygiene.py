"""Request ids, security headers, and logs that never carry a key, a secret or a token."""

from __future__ import annotations

import json
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from licensing.logs import JsonFormatter
from tests.factories import Api, created, import_license, make_key, new_customer, ok
from tests.fakes import FakeGateway, intent, signed, stripe_event


def test_every_answer_has_a_request_id_and_security_headers(
    client: FlaskClient, admin: Api
) -> None:
    for response in (client.get("/healthz"), admin.get("/v1/editions"), client.get("/nope")):
        assert len(response.headers["X-Request-Id"]) >= 16
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert admin.get("/v1/editions").headers["Cache-Control"] == "no-store"
    echoed = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Request-Id"] == "abc-123"
    assert (
        client.get("/healthz", headers={"X-Request-Id": "<script>"}).headers["X-Request-Id"]
        != "<script>"
    )


def test_logs_never_carry_keys_secrets_or_tokens(
    app: Flask,
    client: FlaskClient,
    admin: Api,
    checkout: Api,
    gateway: FakeGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    customer = new_customer(admin)
    license = import_license(admin, customer_id=customer["id"], domain="quiet.example.com")
    client.post(
        "/v1/licenses/validate", json={"key": license["key"], "domain": "quiet.example.com"}
    )
    order = created(
        checkout.post(
            "/v1/orders",
            json={
                "kind": "purchase",
                "customer_id": customer["id"],
                "edition": "pro",
                "domain": "secret.example.com",
            },
        )
    )
    body, headers = signed(
        stripe_event(
            "payment_intent.succeeded", intent(order["payment"]["payment_intent_id"], charge="ch_q")
        )
    )
    client.post("/v1/stripe/webhook", data=body, headers=headers)
    helpdesk = Api(client, make_key(app, "helpdesk"))
    quote = created(
        helpdesk.post(
            "/v1/quotes",
            json={
                "customer_id": customer["id"],
                "lines": [{"category": "design", "description": "x", "hours": 1}],
            },
        )
    )
    link = ok(helpdesk.post(f"/v1/quotes/{quote['id']}/link"))
    client.get(link["url"].split("localhost", 1)[1])
    client.post(
        "/v1/customers",
        data="{broken",
        headers={"Authorization": f"Bearer {admin.key}", "Content-Type": "application/json"},
    )
    logged = caplog.text + "\n".join(JsonFormatter().format(r) for r in caplog.records)
    secrets = [
        admin.key,
        checkout.key,
        helpdesk.key,
        license["key"],
        order["payment"]["client_secret"],
        headers["Stripe-Signature"],
        link["url"].split("token=")[1],
    ]
    for secret in secrets:
        assert secret not in logged, secret
    for key in (admin.key, checkout.key):
        assert key.split("_")[2] not in logged  # not even the secret part of an API key
    access = [r for r in caplog.records if r.name == "licensing.access"]
    assert access and all(json.loads(JsonFormatter().format(r))["request_id"] for r in access)
