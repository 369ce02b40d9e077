"""A purchase end to end through a real local Stripe (localstripe) and a real HTTP server.

localstripe's limits, and how they are covered: it never emits refund or dispute events, so
the refund test asks localstripe for a real refund through the SDK and then delivers the
`charge.refunded` event itself, signed with the endpoint secret exactly as Stripe signs it;
disputes (which localstripe lacks) are covered with signed events in test_checkout_rules.
It ignores Idempotency-Key and takes no `payment_method` on confirm, so the card is attached
with `PaymentIntent.modify` first, as the checkout page does.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe
from dateutil.relativedelta import relativedelta
from flask import Flask

from tests.e2e.conftest import http
from tests.factories import make_key
from tests.fakes import charge, signed, stripe_event

CARD_OK = "4242424242424242"
CARD_DECLINED_ON_CHARGE = "4000000000000341"


@pytest.fixture
def keys(app: Flask) -> dict[str, str]:
    return {"admin": make_key(app, "admin"), "checkout": make_key(app, "checkout")}


def buy(service: str, keys: dict[str, str], domain: str) -> dict[str, Any]:
    status, customer = http(
        "POST",
        f"{service}/v1/customers",
        key=keys["checkout"],
        body=json.dumps({"email": f"{uuid.uuid4().hex[:8]}@{domain}", "name": "Owner"}).encode(),
    )
    assert status == 201, customer
    order_body = {
        "kind": "purchase",
        "customer_id": customer["id"],
        "edition": "premium",
        "domain": domain,
    }
    status, order = http(
        "POST", f"{service}/v1/orders", key=keys["checkout"], body=json.dumps(order_body).encode()
    )
    assert status == 201, order
    return order


def pay(stripe_client: stripe.StripeClient, order: dict[str, Any], card: str) -> None:
    """What the checkout page does with the client secret: attach a card, then confirm."""
    method = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    intent_id = order["payment"]["payment_intent_id"]
    stripe_client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
    stripe_client.v1.payment_intents.confirm(intent_id)


def order_once(
    service: str, keys: dict[str, str], order_id: int, *, until: str, timeout: float = 20
) -> dict[str, Any]:
    """Poll the order until Stripe's webhook has moved it (localstripe sends it ~1 s later)."""
    deadline = time.monotonic() + timeout
    while True:
        status, order = http("GET", f"{service}/v1/orders/{order_id}", key=keys["checkout"])
        assert status == 200, order
        if order["status"] == until or time.monotonic() > deadline:
            return order
        time.sleep(0.2)


def test_d7_purchase_paid_through_stripe_issues_the_license(
    service: str, keys: dict[str, str], stripe_client: stripe.StripeClient
) -> None:
    order = buy(service, keys, "paid.example.com")
    assert order["status"] == "awaiting_payment" and order["price"] == {
        "amount": 50000,
        "currency": "USD",
    }
    intent = stripe_client.v1.payment_intents.retrieve(order["payment"]["payment_intent_id"])
    assert intent.amount == 50000 and intent.metadata["order_id"] == str(order["id"])
    pay(stripe_client, order, CARD_OK)
    paid = order_once(service, keys, order["id"], until="paid")
    assert paid["status"] == "paid" and paid["license_key"]
    status, license = http(
        "GET", f"{service}/v1/licenses/{paid['license_key']}", key=keys["checkout"]
    )
    assert status == 200
    assert (license["domain"], license["edition"], license["status"]) == (
        "paid.example.com",
        "premium",
        "active",
    )
    assert license["history"][0]["actor"].startswith("stripe:evt_")


def test_declined_card_leaves_the_order_failed_and_no_license(
    service: str, keys: dict[str, str], stripe_client: stripe.StripeClient
) -> None:
    order = buy(service, keys, "declined.example.com")
    with pytest.raises(stripe.CardError):
        pay(stripe_client, order, CARD_DECLINED_ON_CHARGE)
    failed = order_once(service, keys, order["id"], until="failed")
    assert failed["status"] == "failed" and "license_key" not in failed
    assert failed["failure_message"]


def test_d9_refund_through_stripe_revokes_the_license_and_frees_the_domain(
    service: str, keys: dict[str, str], stripe_client: stripe.StripeClient
) -> None:
    order = buy(service, keys, "refund.example.com")
    pay(stripe_client, order, CARD_OK)
    paid = order_once(service, keys, order["id"], until="paid")
    intent_id = order["payment"]["payment_intent_id"]
    refund = stripe_client.v1.refunds.create(params={"payment_intent": intent_id})
    assert (refund.status, refund.amount) == ("succeeded", 50000)
    charge_id = refund.charge
    event = stripe_event(
        "charge.refunded", charge(intent_id, charge_id=str(charge_id), amount=50000, refunded=50000)
    )
    body, headers = signed(event)
    status, answer = http("POST", f"{service}/v1/stripe/webhook", body=body, headers=headers)
    assert (status, answer["outcome"]) == (200, "applied")
    refunded = order_once(service, keys, order["id"], until="refunded")
    assert refunded["status"] == "refunded"
    status, license = http(
        "GET", f"{service}/v1/licenses/{paid['license_key']}", key=keys["checkout"]
    )
    assert license["status"] == "revoked"
    again = buy(service, keys, "refund.example.com")  # D4: the domain is free again
    assert again["status"] == "awaiting_payment"


def test_d15_d9_renewal_paid_through_stripe_moves_the_dates_and_its_refund_moves_them_back(
    service: str, keys: dict[str, str], stripe_client: stripe.StripeClient
) -> None:
    status, customer = http(
        "POST",
        f"{service}/v1/customers",
        key=keys["checkout"],
        body=json.dumps(
            {"email": f"{uuid.uuid4().hex[:8]}@renew.example.com", "name": "R"}
        ).encode(),
    )
    purchased = (datetime.now(UTC) - relativedelta(months=11)).strftime("%Y-%m-%dT%H:%M:%SZ")
    imported = {
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "renew.example.com",
        "purchased_at": purchased,
        "channel": "direct",
    }
    status, license = http(
        "POST",
        f"{service}/v1/licenses/import",
        key=keys["admin"],
        body=json.dumps(imported).encode(),
    )
    assert status == 201, license
    status, order = http(
        "POST",
        f"{service}/v1/orders",
        key=keys["checkout"],
        body=json.dumps({"kind": "renewal", "license_key": license["key"]}).encode(),
    )
    assert status == 201, order
    assert (order["rate"], order["price"]["amount"]) == ("preferential", 6000)
    pay(stripe_client, order, CARD_OK)
    assert order_once(service, keys, order["id"], until="paid")["status"] == "paid"
    _, renewed = http("GET", f"{service}/v1/licenses/{license['key']}", key=keys["checkout"])
    old_until = datetime.fromisoformat(license["updates_until"])
    assert datetime.fromisoformat(renewed["updates_until"]) == old_until + relativedelta(years=1)
    intent_id = order["payment"]["payment_intent_id"]
    refund = stripe_client.v1.refunds.create(params={"payment_intent": intent_id})
    event = stripe_event(
        "charge.refunded",
        charge(intent_id, charge_id=str(refund.charge), amount=6000, refunded=6000),
    )
    body, headers = signed(event)
    assert http("POST", f"{service}/v1/stripe/webhook", body=body, headers=headers)[0] == 200
    _, after = http("GET", f"{service}/v1/licenses/{license['key']}", key=keys["checkout"])
    assert (after["updates_until"], after["status"]) == (license["updates_until"], "active")


def test_r16_paid_work_end_to_end_accept_pay_complete_warranty(
    app: Flask, service: str, keys: dict[str, str], stripe_client: stripe.StripeClient
) -> None:
    helpdesk = make_key(app, "helpdesk")
    body = json.dumps({"email": f"{uuid.uuid4().hex[:8]}@work.example.com", "name": "W"}).encode()
    customer = http("POST", f"{service}/v1/customers", key=keys["checkout"], body=body)[1]
    lines = [
        {
            "category": "programming",
            "description": "Exchange with 1C",
            "hours": 3.5,
            "service": "data_migration",
        }
    ]
    status, quote = http(
        "POST",
        f"{service}/v1/quotes",
        key=helpdesk,
        body=json.dumps({"customer_id": customer["id"], "lines": lines}).encode(),
    )
    assert status == 201 and quote["amount"]["amount"] == 10500
    assert http("POST", f"{service}/v1/quotes/{quote['id']}/send", key=helpdesk)[0] == 200
    status, accepted = http(
        "POST", f"{service}/v1/quotes/{quote['id']}/accept", key=keys["checkout"]
    )
    assert status == 200 and accepted["status"] == "accepted"
    status, order = http("GET", f"{service}/v1/orders/{accepted['order_id']}", key=keys["checkout"])
    assert (order["kind"], order["price"]["amount"]) == ("work", 10500)
    pay(stripe_client, order, CARD_OK)
    assert order_once(service, keys, order["id"], until="paid")["status"] == "paid"
    status, paid = http("GET", f"{service}/v1/quotes/{quote['id']}", key=helpdesk)
    assert paid["status"] == "paid"
    status, done = http(
        "POST", f"{service}/v1/quotes/{quote['id']}/complete", key=helpdesk, body=b"{}"
    )
    assert status == 200 and done["status"] == "completed"
    until = datetime.fromisoformat(done["warranty_until"])
    for at, code in ((until, "ALLOWED"), (until + relativedelta(seconds=1), "WARRANTY_ENDED")):
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        query = (
            f"department=warranty&customer_id={customer['id']}&quote_id={quote['id']}&at={stamp}"
        )
        status, answer = http("GET", f"{service}/v1/entitlements?{query}", key=helpdesk)
        assert (status, answer["code"]) == (200, code)
