"""A license bought through a real local Stripe (localstripe) and a real HTTP server, then
transferred by staff to another customer: the helpdesk answers for both owners, now and as
of an instant before the transfer (D21)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import stripe
from flask import Flask

from tests.e2e.conftest import http
from tests.e2e.test_stripe_checkout import CARD_OK, buy, order_once, pay
from tests.factories import make_key


@pytest.fixture
def keys(app: Flask) -> dict[str, str]:
    return {
        "admin": make_key(app, "admin"),
        "checkout": make_key(app, "checkout"),
        "helpdesk": make_key(app, "helpdesk"),
    }


def entitlement(
    service: str, keys: dict[str, str], customer_id: int, domain: str, at: str | None = None
) -> dict[str, Any]:
    query = f"customer_id={customer_id}&department=technical_support&domain={domain}"
    status, answer = http(
        "GET",
        f"{service}/v1/entitlements?{query}" + (f"&at={at}" if at else ""),
        key=keys["helpdesk"],
    )
    assert status == 200, answer
    return answer


def test_d21_transfer_then_the_helpdesk_answers_for_both_owners(
    service: str, keys: dict[str, str], stripe_client: stripe.StripeClient
) -> None:
    domain = "transferred.example.com"
    order = buy(service, keys, domain)
    pay(stripe_client, order, CARD_OK)
    paid = order_once(service, keys, order["id"], until="paid")
    assert paid["status"] == "paid", paid
    seller = paid["customer_id"]
    status, buyer = http(
        "POST",
        f"{service}/v1/customers",
        key=keys["admin"],
        body=json.dumps(
            {"email": f"{uuid.uuid4().hex[:8]}@buyer.example", "name": "Buyer"}
        ).encode(),
    )
    assert status == 201, buyer
    assert entitlement(service, keys, seller, domain)["code"] == "ALLOWED"

    status, license = http(
        "POST",
        f"{service}/v1/licenses/{paid['license_key']}/transfer",
        key=keys["admin"],
        body=json.dumps({"customer_id": buyer["id"], "note": "The shop was sold"}).encode(),
    )
    assert status == 200, license
    assert license["customer_id"] == buyer["id"]
    line = license["history"][-1]
    assert (line["type"], line["data"]["from_customer_id"], line["data"]["to_customer_id"]) == (
        "transferred",
        seller,
        buyer["id"],
    )

    # Now: the buyer is the owner (R8) in the window of the original purchase (R4); the
    # seller owns no license any more (R6).
    now = entitlement(service, keys, buyer["id"], domain)
    assert (now["code"], now["license"]["key"]) == ("ALLOWED", paid["license_key"])
    assert now["license"]["support_until"] == license["support_until"]
    assert entitlement(service, keys, seller, domain)["code"] == "NO_LICENSE"
    # As of the second before the transfer: the seller's, and the buyer had none.
    transferred_at = datetime.fromisoformat(line["at"].replace("Z", "+00:00"))
    before = (transferred_at - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert entitlement(service, keys, seller, domain, at=before)["code"] == "ALLOWED"
    assert entitlement(service, keys, buyer["id"], domain, at=before)["code"] == "NO_LICENSE"
    # The customers' license lists follow the new owner.
    status, sellers = http("GET", f"{service}/v1/customers/{seller}/licenses", key=keys["admin"])
    assert (status, sellers["items"]) == (200, [])
    status, buyers = http(
        "GET", f"{service}/v1/customers/{buyer['id']}/licenses", key=keys["admin"]
    )
    assert [item["key"] for item in buyers["items"]] == [paid["license_key"]]
