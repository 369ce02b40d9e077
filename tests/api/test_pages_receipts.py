"""A receipt stays the buyer's after the license is given to someone else (D21, D24): the
page shows the order, not the license's current details, which are the new owner's now."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.api.test_license_transfers import transfer
from tests.api.test_pages import csrf, sign_in
from tests.api.test_refunds_and_cancellation import pay as pay_purchase
from tests.factories import Api, created, import_license, new_customer, ok
from tests.integration.test_renewal_orders import PURCHASED, pay, renew


@pytest.fixture(autouse=True)
def _receipts(app: Flask, gateway: Any, mailer: Any) -> None:
    """Payments through the fake gateway, mail through the test server, and the sign-in
    limits counted afresh for each test."""
    app.extensions["sign_in_limits"].window.storage.reset()


def test_d21_a_paid_renewals_receipt_still_shows_after_the_license_is_transferred(
    client: Any, admin: Api, checkout: Api, smtp_server: Any
) -> None:
    seller = new_customer(admin, email="seller@example.com")
    buyer = new_customer(admin, email="buyer@example.com")
    license = import_license(admin, customer_id=seller["id"], purchased_at=PURCHASED)
    order = renew(checkout, license["key"], "2025-03-01T00:00:00Z")
    pay(client, order, "2025-03-01T12:00:00Z")
    sign_in(client, smtp_server, "seller@example.com")
    before = client.get(f"/account/orders/{order['id']}")
    assert before.status_code == 200 and "data-updates-until" in before.text
    ok(transfer(admin, license["key"], buyer["id"]))
    after = client.get(f"/account/orders/{order['id']}")
    assert after.status_code == 200, after.text
    assert "data-updates-until" not in after.text  # the license's details are the buyer's now
    assert f"/account/licenses/{license['key']}" not in client.get("/account").text


def test_d21_a_purchase_receipt_shows_the_key_only_while_the_license_is_the_customers(
    client: Any, admin: Api, checkout: Api, smtp_server: Any
) -> None:
    seller = new_customer(admin, email="first@example.com")
    buyer = new_customer(admin, email="second@example.com")
    body = {"kind": "purchase", "customer_id": seller["id"], "edition": "pro"}
    order = created(checkout.post("/v1/orders", json={**body, "domain": "sold.example.com"}))
    pay_purchase(client, order)
    key = ok(checkout.get(f"/v1/orders/{order['id']}"))["license_key"]
    sign_in(client, smtp_server, "first@example.com")
    assert f'data-license-key="{key}"' in client.get(f"/account/orders/{order['id']}").text
    ok(transfer(admin, key, buyer["id"]))
    after = client.get(f"/account/orders/{order['id']}")
    assert after.status_code == 200 and "Paid on" in after.text
    assert key not in after.text  # the license is the buyer's now


def test_d21_the_page_of_an_order_bought_in_this_browser_shows_the_key_only_while_owned(
    client: Any, admin: Api
) -> None:
    """The buying browser keeps its order page (no account needed), not the license."""
    form = {
        "csrf_token": csrf(client, "/buy?edition=pro"),
        "edition": "pro",
        "email": "buyer@example.com",
        "name": "Buyer",
        "domain": "bought-here.example.com",
        "card": "card_ok",
    }
    location = client.post("/buy", data=form).headers["Location"]
    order_id = int(location.split("/buy/orders/")[1].split("?")[0])
    pay_purchase(client, ok(admin.get(f"/v1/orders/{order_id}")))
    key = ok(admin.get(f"/v1/orders/{order_id}"))["license_key"]
    assert f'data-license-key="{key}"' in client.get(location).text
    ok(transfer(admin, key, new_customer(admin, email="next@example.com")["id"]))
    after = client.get(location)
    assert after.status_code == 200 and "Paid on" in after.text
    assert key not in after.text
