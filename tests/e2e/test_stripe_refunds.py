"""Staff refunds and cancellations end to end through localstripe and a real HTTP server (D20).

localstripe sends no refund events, so `charge.refunded` is delivered here, signed with the
endpoint secret exactly as Stripe signs it. It also ignores Idempotency-Key and lets a charge
be refunded twice: that it shows one refund after two requests is the service's doing.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import stripe
from flask import Flask

from tests.e2e.conftest import http
from tests.e2e.test_stripe_checkout import CARD_OK, buy, order_once, pay
from tests.factories import make_key
from tests.fakes import charge, intent, signed, stripe_event


@pytest.fixture
def keys(app: Flask) -> dict[str, str]:
    return {
        "admin": make_key(app, "admin"),
        "checkout": make_key(app, "checkout"),
        "finance": make_key(app, "finance"),
    }


def refund(service: str, keys: dict[str, str], order_id: int, note: str) -> tuple[int, Any]:
    body = json.dumps({"reason": note}).encode()
    return http("POST", f"{service}/v1/orders/{order_id}/refund", key=keys["finance"], body=body)


def test_d20_purchase_refunded_by_staff_twice_is_refunded_once_at_stripe(
    service: str, keys: dict[str, str], stripe_client: stripe.StripeClient
) -> None:
    order = buy(service, keys, "staff-refund.example.com")
    pay(stripe_client, order, CARD_OK)
    paid = order_once(service, keys, order["id"], until="paid")
    assert paid["license_key"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda n: refund(service, keys, order["id"], f"ask {n}"), (1, 2)))
    assert [status for status, _ in answers] == [200, 200]
    assert {(body["status"], body["refund_reason"]) for _, body in answers} == {
        ("refunded", "requested")
    }
    intent_id = order["payment"]["payment_intent_id"]
    refunds = stripe_client.v1.refunds.list(params={"payment_intent": intent_id}).data
    assert [(r.amount, r.status, r.metadata["reason"]) for r in refunds] == [
        (50000, "succeeded", "requested")
    ]
    status, license = http(
        "GET", f"{service}/v1/licenses/{paid['license_key']}", key=keys["checkout"]
    )
    assert license["status"] == "revoked"
    # Stripe's `charge.refunded` follows; it changes nothing more.
    refunded = charge(intent_id, charge_id=str(refunds[0].charge), amount=50000, refunded=50000)
    body, headers = signed(stripe_event("charge.refunded", refunded))
    status, answer = http("POST", f"{service}/v1/stripe/webhook", body=body, headers=headers)
    assert (status, answer["outcome"]) == (200, "applied")
    final = order_once(service, keys, order["id"], until="refunded")
    assert [line["type"] for line in final["history"]].count("refunded") == 1
    again = refund(service, keys, order["id"], "a third time")
    assert again == (200, final)
    assert len(stripe_client.v1.refunds.list(params={"payment_intent": intent_id}).data) == 1


def test_d20_a_cancelled_order_cannot_be_paid_and_a_payment_reported_anyway_goes_back(
    service: str, keys: dict[str, str], stripe_client: stripe.StripeClient
) -> None:
    """localstripe, like Stripe, refuses to confirm a cancelled PaymentIntent, so the payment
    that arrives anyway is Stripe's signed `payment_intent.succeeded`, delivered here as
    Stripe would. The money it reports must exist for the refund to be real: it is a charge
    of $500.00 taken at localstripe on another intent, which the event names as the intent's
    charge; the service refunds the charge Stripe reported paid."""
    order = buy(service, keys, "cancelled.example.com")
    status, cancelled = http(
        "POST", f"{service}/v1/orders/{order['id']}/cancel", key=keys["checkout"]
    )
    assert (status, cancelled["status"]) == (200, "cancelled")
    assert cancelled["payment"]["client_secret"] is None
    intent_id = order["payment"]["payment_intent_id"]
    assert stripe_client.v1.payment_intents.retrieve(intent_id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        pay(stripe_client, order, CARD_OK)
    taken = stripe_client.v1.payment_intents.create(params={"amount": 50000, "currency": "usd"})
    pay(stripe_client, {"payment": {"payment_intent_id": taken.id}}, CARD_OK)
    latest = stripe_client.v1.payment_intents.retrieve(taken.id).latest_charge
    charge_id = latest if isinstance(latest, str) else latest.id  # localstripe expands it
    succeeded = {**intent(intent_id, charge=charge_id), "amount_received": 50000}
    body, headers = signed(stripe_event("payment_intent.succeeded", succeeded))
    status, answer = http("POST", f"{service}/v1/stripe/webhook", body=body, headers=headers)
    assert (status, answer["outcome"]) == (200, "applied")
    final = order_once(service, keys, order["id"], until="refunded")
    assert (final["status"], final["refund_reason"]) == ("refunded", "order_cancelled")
    assert "license_key" not in final
    refunds = stripe_client.v1.refunds.list(params={"charge": charge_id}).data
    assert [(r.amount, r.metadata["reason"]) for r in refunds] == [(50000, "order_cancelled")]
