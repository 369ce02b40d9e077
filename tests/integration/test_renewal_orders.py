"""Renewal quotes and renewal orders through the API, paid by signed events (R18, D8, D9,
D13-D17), with a fake gateway."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from flask.testing import FlaskClient

from tests.factories import Api, created, import_license, new_customer, ok, problem
from tests.fakes import FakeGateway, charge, intent, signed, stripe_event

PURCHASED = "2024-02-29T10:00:00Z"  # updates_until 2025-02-28T10:00:00Z, window to 2025-03-28


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def a_license(admin: Api, **fields) -> dict:
    customer = new_customer(admin)
    return import_license(admin, customer_id=customer["id"], purchased_at=PURCHASED, **fields)


def pay(client: FlaskClient, order: dict, at: str) -> None:
    pi = order["payment"]["payment_intent_id"]
    event = stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}"), created=z(at))
    body, headers = signed(event)
    assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200


def refund(client: FlaskClient, order: dict) -> None:
    pi, amount = order["payment"]["payment_intent_id"], order["price"]["amount"]
    event = stripe_event(
        "charge.refunded", charge(pi, charge_id=f"ch_{pi}", amount=amount, refunded=amount)
    )
    body, headers = signed(event)
    assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200


def renew(checkout: Api, key: str, at: str) -> dict:
    with time_machine.travel(z(at), tick=False):
        return created(checkout.post("/v1/orders", json={"kind": "renewal", "license_key": key}))


def test_r18_d13_quote_in_the_window_is_20_percent_of_the_current_list_price(
    checkout: Api, admin: Api
) -> None:
    license = a_license(admin, edition="premium")
    admin.put("/v1/editions/premium", json={"price": {"amount": 60000, "currency": "USD"}})
    answer = ok(
        checkout.get(f"/v1/licenses/{license['key']}/renewal-quote?at=2025-03-28T10:00:00Z")
    )
    assert answer == {
        "rate": "preferential",
        "percent": 20,
        "price": {"amount": 12000, "currency": "USD"},
        "list_price": {"amount": 60000, "currency": "USD"},  # D13: today's price, whatever `at`
        "preferential_until": "2025-03-28T10:00:00Z",
        "updates_until": "2025-02-28T10:00:00Z",
        "new_updates_until": "2026-02-28T10:00:00Z",
    }


def test_r18_d15_quote_one_second_after_the_window_is_standard_from_that_instant(
    checkout: Api, admin: Api
) -> None:
    license = a_license(admin)
    answer = ok(
        checkout.get(f"/v1/licenses/{license['key']}/renewal-quote?at=2025-03-28T10:00:01Z")
    )
    assert (answer["rate"], answer["percent"], answer["price"]["amount"]) == ("standard", 30, 9000)
    assert answer["new_updates_until"] == "2026-03-28T10:00:01Z"


def test_d16_quote_too_early_is_409_with_the_earliest_instant(checkout: Api, admin: Api) -> None:
    license = a_license(admin, updates_until="2026-02-28T10:00:00Z")
    response = checkout.get(f"/v1/licenses/{license['key']}/renewal-quote?at=2024-06-01T00:00:00Z")
    body = problem(response, 409, "RENEWAL_TOO_EARLY")
    assert body["earliest_renewal_at"] == "2025-02-28T10:00:00Z"


@pytest.mark.parametrize("status", ["revoked", "suspended"])
def test_quote_of_an_inactive_license_is_409_and_bad_at_is_422(
    app, checkout: Api, admin: Api, status: str
) -> None:
    """Only an active license is renewed: a suspended one is under dispute (D9), as for an
    upgrade."""
    from sqlalchemy import update

    from licensing.adapters.models import License
    from licensing.extensions import db

    license = a_license(admin)
    problem(
        checkout.get(f"/v1/licenses/{license['key']}/renewal-quote?at=yesterday"),
        422,
        "VALIDATION_FAILED",
    )
    with app.app_context():
        db.session.execute(update(License).values(status=status))
        db.session.commit()
    problem(checkout.get(f"/v1/licenses/{license['key']}/renewal-quote"), 409, "LICENSE_INACTIVE")
    problem(
        checkout.post("/v1/orders", json={"kind": "renewal", "license_key": license["key"]}),
        409,
        "LICENSE_INACTIVE",
    )


def test_d8_d15_renewal_order_locks_the_price_and_payment_moves_the_dates(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    license = a_license(admin)
    order = renew(checkout, license["key"], "2025-03-01T00:00:00Z")
    assert (order["kind"], order["rate"], order["percent"]) == ("renewal", "preferential", 20)
    assert order["price"] == {"amount": 6000, "currency": "USD"}
    assert order["license_key"] == license["key"]
    admin.put("/v1/editions/pro", json={"price": {"amount": 90000, "currency": "USD"}})
    pay(client, order, "2025-03-01T12:00:00Z")
    paid = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert (paid["status"], paid["price"]["amount"]) == ("paid", 6000)  # D2/D8: locked
    renewed = ok(checkout.get(f"/v1/licenses/{license['key']}"))
    assert renewed["updates_until"] == "2026-02-28T10:00:00Z"  # D15: from the old end
    assert renewed["support_until"] == license["support_until"]  # R4: support does not renew
    event = renewed["history"][-1]
    assert event["type"] == "renewed" and event["data"]["rate"] == "preferential"


def test_d9_refunded_renewal_takes_its_year_back_even_with_a_later_renewal(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    license = a_license(admin)
    first = renew(checkout, license["key"], "2025-02-01T00:00:00Z")
    pay(client, first, "2025-02-01T01:00:00Z")
    second = renew(checkout, license["key"], "2026-01-01T00:00:00Z")
    pay(client, second, "2026-01-01T01:00:00Z")
    assert (
        ok(checkout.get(f"/v1/licenses/{license['key']}"))["updates_until"]
        == "2027-02-28T10:00:00Z"
    )
    refund(client, first)
    # Without the first renewal, the second was paid long after the first term's window:
    # by D15 it starts a new term at its payment instant.
    after = ok(checkout.get(f"/v1/licenses/{license['key']}"))
    assert after["updates_until"] == "2027-01-01T01:00:00Z"
    assert after["status"] == "active"  # a renewal refund does not revoke the license
    assert after["history"][-1]["type"] == "renewal_taken_back"
    refund(client, second)
    assert (
        ok(checkout.get(f"/v1/licenses/{license['key']}"))["updates_until"]
        == "2025-02-28T10:00:00Z"
    )


def test_d8_renewal_paid_after_its_24_hours_is_refunded_not_repriced(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    license = a_license(admin)
    order = renew(checkout, license["key"], "2025-03-28T09:00:00Z")  # in the window, 20%
    pay(client, order, "2025-03-29T09:00:01Z")  # 24 h later: the window has closed
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert (shown["status"], shown["refund_reason"]) == ("refunded", "order_expired")
    assert (
        ok(checkout.get(f"/v1/licenses/{license['key']}"))["updates_until"]
        == "2025-02-28T10:00:00Z"
    )
    assert len(gateway.refunds) == 1


def test_d9_a_renewal_paid_once_its_license_is_suspended_is_refunded_not_applied(
    app, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    from sqlalchemy import update

    from licensing.adapters.models import License
    from licensing.extensions import db

    license = a_license(admin)
    order = renew(checkout, license["key"], "2025-03-01T00:00:00Z")
    with app.app_context():  # a dispute on the purchase opened meanwhile (D9)
        db.session.execute(update(License).values(status="suspended"))
        db.session.commit()
    pay(client, order, "2025-03-01T01:00:00Z")
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert (shown["status"], shown["refund_reason"]) == ("refunded", "license_inactive")
    after = ok(checkout.get(f"/v1/licenses/{license['key']}"))
    assert (after["status"], after["updates_until"]) == ("suspended", "2025-02-28T10:00:00Z")
    assert len(gateway.refunds) == 1


def test_d16_two_renewals_quoted_on_one_term_the_second_is_refunded_as_stale(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    license = a_license(admin)
    first = renew(checkout, license["key"], "2025-02-01T00:00:00Z")
    second = renew(checkout, license["key"], "2025-02-01T00:05:00Z")
    pay(client, first, "2025-02-01T01:00:00Z")
    pay(client, second, "2025-02-01T01:00:05Z")
    shown = ok(checkout.get(f"/v1/orders/{second['id']}"))
    assert (shown["status"], shown["refund_reason"]) == ("refunded", "quote_stale")
    assert (
        ok(checkout.get(f"/v1/licenses/{license['key']}"))["updates_until"]
        == "2026-02-28T10:00:00Z"
    )


def test_d9_refund_before_success_ends_as_if_in_order(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    license = a_license(admin)
    order = renew(checkout, license["key"], "2025-02-01T00:00:00Z")
    refund(client, order)
    pay(client, order, "2025-02-01T01:00:00Z")
    assert ok(checkout.get(f"/v1/orders/{order['id']}"))["status"] == "refunded"
    assert (
        ok(checkout.get(f"/v1/licenses/{license['key']}"))["updates_until"]
        == "2025-02-28T10:00:00Z"
    )


def test_d17_license_shows_the_newest_release_it_may_install(checkout: Api, admin: Api) -> None:
    license = a_license(admin)
    assert ok(checkout.get(f"/v1/licenses/{license['key']}"))["newest_allowed_release"] is None
    for version, at in (
        ("5.0", "2025-01-10T00:00:00Z"),
        ("5.1", "2025-02-28T10:00:00Z"),
        ("6.0", "2025-02-28T10:00:01Z"),
    ):
        created(admin.post("/v1/releases", json={"version": version, "released_at": at}))
    shown = ok(checkout.get(f"/v1/licenses/{license['key']}"))
    assert shown["newest_allowed_release"] == {
        "version": "5.1",
        "released_at": "2025-02-28T10:00:00Z",
    }
    assert datetime(2025, 2, 28, 10, tzinfo=UTC) == z(shown["updates_until"])


def test_d13_a_quote_at_a_past_instant_uses_todays_list_price_and_the_order_locks_it(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    """D13: `at` moves the clock, not the catalog: the same past `at` quoted before and after
    a list price change gives the price of the moment it is asked, at either rate; the
    renewal order snapshots that price (D2), whatever the catalog does next."""
    license = a_license(admin)  # Pro, listed at 300.00 by default

    def quote(at: str) -> tuple[str, int, int]:
        answer = ok(checkout.get(f"/v1/licenses/{license['key']}/renewal-quote?at={at}"))
        return answer["rate"], answer["price"]["amount"], answer["list_price"]["amount"]

    assert quote("2025-03-01T00:00:00Z") == ("preferential", 6000, 30000)
    admin.put("/v1/editions/pro", json={"price": {"amount": 45000, "currency": "USD"}})
    assert quote("2025-03-01T00:00:00Z") == ("preferential", 9000, 45000)
    assert quote("2025-04-01T00:00:00Z") == ("standard", 13500, 45000)
    order = renew(checkout, license["key"], "2025-03-01T00:00:00Z")
    assert (order["price"]["amount"], order["list_price"]["amount"]) == (9000, 45000)
    admin.put("/v1/editions/pro", json={"price": {"amount": 50000, "currency": "USD"}})
    pay(client, order, "2025-03-01T12:00:00Z")
    paid = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert (paid["status"], paid["price"]["amount"], paid["list_price"]["amount"]) == (
        "paid",
        9000,
        45000,
    )
    assert quote("2026-03-01T00:00:00Z") == ("preferential", 10000, 50000)
