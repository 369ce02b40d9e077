"""An upgrade to Premium end to end through a real local Stripe (localstripe) and a real HTTP
server: bought with a test card, then refunded by staff (D19, D20, D9)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import stripe
from flask import Flask

from tests.e2e.conftest import http
from tests.e2e.test_stripe_checkout import CARD_OK, order_once, pay
from tests.factories import make_key

DATES = ("purchased_at", "support_until", "updates_until")


@pytest.fixture
def keys(app: Flask) -> dict[str, str]:
    return {"admin": make_key(app, "admin"), "checkout": make_key(app, "checkout")}


def test_d19_upgrade_paid_through_stripe_makes_premium_and_its_refund_makes_pro_again(
    service: str, keys: dict[str, str], stripe_client: stripe.StripeClient
) -> None:
    status, customer = http(
        "POST",
        f"{service}/v1/customers",
        key=keys["checkout"],
        body=json.dumps({"email": f"{uuid.uuid4().hex[:8]}@up.example.com", "name": "U"}).encode(),
    )
    assert status == 201, customer
    imported = {
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "upgrade.example.com",
        "purchased_at": (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "channel": "direct",
    }
    status, license = http(
        "POST",
        f"{service}/v1/licenses/import",
        key=keys["admin"],
        body=json.dumps(imported).encode(),
    )
    assert status == 201, license
    body = {"kind": "upgrade", "license_key": license["key"], "edition": "premium"}
    status, order = http(
        "POST", f"{service}/v1/orders", key=keys["checkout"], body=json.dumps(body).encode()
    )
    assert status == 201, order
    assert (order["kind"], order["price"]) == ("upgrade", {"amount": 20000, "currency": "USD"})
    intent = stripe_client.v1.payment_intents.retrieve(order["payment"]["payment_intent_id"])
    assert (intent.amount, intent.metadata["kind"]) == (20000, "upgrade")

    pay(stripe_client, order, CARD_OK)
    assert order_once(service, keys, order["id"], until="paid")["status"] == "paid"
    _, upgraded = http("GET", f"{service}/v1/licenses/{license['key']}", key=keys["checkout"])
    assert (upgraded["edition"], upgraded["status"]) == ("premium", "active")
    assert {d: upgraded[d] for d in DATES} == {d: license[d] for d in DATES}
    assert upgraded["history"][-1]["actor"].startswith("stripe:evt_")

    status, refunded = http(
        "POST",
        f"{service}/v1/orders/{order['id']}/refund",
        key=keys["admin"],
        body=json.dumps({"reason": "changed their mind"}).encode(),
    )
    assert status == 200, refunded
    assert (refunded["status"], refunded["refund_reason"]) == ("refunded", "requested")
    refunds = stripe_client.v1.refunds.list(params={"payment_intent": intent.id})
    assert [r.amount for r in refunds.data] == [20000]
    _, after = http("GET", f"{service}/v1/licenses/{license['key']}", key=keys["checkout"])
    assert (after["edition"], after["status"]) == ("pro", "active")
    assert {d: after[d] for d in DATES} == {d: license[d] for d in DATES}
    change = [h for h in after["history"] if h["type"] == "edition_changed"][-1]
    assert change["data"] == {"order_id": order["id"], "old": "premium", "new": "pro"}
