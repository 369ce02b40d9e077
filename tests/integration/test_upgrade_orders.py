"""Upgrade orders through the API, paid, refunded and disputed by signed Stripe events, with a
fake gateway (D19, D2, D8, D9, D13, R12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from licensing.adapters.models import License
from licensing.extensions import db
from tests.factories import (
    Api,
    created,
    import_license,
    make_key,
    new_customer,
    new_partner,
    ok,
    problem,
)
from tests.fakes import FakeGateway, charge, dispute, intent, signed, stripe_event

DATES = ("purchased_at", "support_until", "updates_until", "preferential_renewal_until")


def recently() -> str:
    """A purchase ten days ago: inside R4's support window, far from any renewal."""
    return (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")


def a_license(admin: Api, **fields: Any) -> dict[str, Any]:
    customer = new_customer(admin)
    return import_license(admin, customer_id=customer["id"], purchased_at=recently(), **fields)


def upgrade(checkout: Api, key: str, edition: str = "premium") -> Any:
    return checkout.post(
        "/v1/orders", json={"kind": "upgrade", "license_key": key, "edition": edition}
    )


def deliver(client: FlaskClient, event: dict[str, Any]) -> str:
    body, headers = signed(event)
    answer = client.post("/v1/stripe/webhook", data=body, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["outcome"]


def paid(order: dict[str, Any], *, at: datetime | None = None) -> dict[str, Any]:
    pi = order["payment"]["payment_intent_id"]
    return stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}"), created=at)


def refunded(order: dict[str, Any]) -> dict[str, Any]:
    pi, amount = order["payment"]["payment_intent_id"], order["price"]["amount"]
    return stripe_event(
        "charge.refunded", charge(pi, charge_id=f"ch_{pi}", amount=amount, refunded=amount)
    )


def disputed(order: dict[str, Any], status: str) -> dict[str, Any]:
    pi = order["payment"]["payment_intent_id"]
    kind = "charge.dispute.created" if status == "needs_response" else "charge.dispute.closed"
    return stripe_event(kind, dispute(pi, charge_id=f"ch_{pi}", status=status))


def license_of(checkout: Api, key: str) -> dict[str, Any]:
    return ok(checkout.get(f"/v1/licenses/{key}"))


def test_d19_upgrade_order_costs_the_difference_of_the_list_prices_locked_for_its_life(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    license = a_license(admin)
    order = created(upgrade(checkout, license["key"]))
    assert (order["kind"], order["status"], order["edition"]) == (
        "upgrade",
        "awaiting_payment",
        "premium",
    )
    assert order["license_key"] == license["key"]
    assert order["price"] == {"amount": 20000, "currency": "USD"}  # $500.00 - $300.00
    assert order["list_price"] == {"amount": 50000, "currency": "USD"}
    assert order["payment"]["client_secret"]
    assert gateway.intents[order["payment"]["payment_intent_id"]]["amount"] == 20000
    assert gateway.intents[order["payment"]["payment_intent_id"]]["metadata"]["kind"] == "upgrade"
    # D2, D8: a later change of either list price leaves the order's price as it was.
    admin.put("/v1/editions/premium", json={"price": {"amount": 90000, "currency": "USD"}})
    assert ok(checkout.get(f"/v1/orders/{order['id']}"))["price"]["amount"] == 20000
    assert deliver(client, paid(order)) == "applied"
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert (shown["status"], shown["price"]["amount"]) == ("paid", 20000)


def test_d19_paid_upgrade_makes_the_license_premium_at_once_and_moves_no_date(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    license = a_license(admin)
    order = created(upgrade(checkout, license["key"]))
    assert license_of(checkout, license["key"])["edition"] == "pro"  # not before it is paid
    event = paid(order)
    assert deliver(client, event) == "applied"
    assert deliver(client, event) == "duplicate"
    after = license_of(checkout, license["key"])
    assert (after["edition"], after["status"]) == ("premium", "active")
    assert {name: after[name] for name in DATES} == {name: license[name] for name in DATES}
    line = after["history"][-1]
    assert line["type"] == "edition_changed"
    assert line["data"] == {"order_id": order["id"], "old": "pro", "new": "premium"}
    assert line["actor"] == f"stripe:{event['id']}"
    history = [h["type"] for h in ok(checkout.get(f"/v1/orders/{order['id']}"))["history"]]
    assert history.count("license_upgraded") == 1
    assert gateway.refunds == []


@pytest.mark.parametrize("how", ["refund", "lost dispute"])
def test_d19_d9_refunded_or_lost_upgrade_returns_the_license_to_pro_still_active(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway, how: str
) -> None:
    license = a_license(admin)
    order = created(upgrade(checkout, license["key"]))
    deliver(client, paid(order))
    if how == "refund":
        deliver(client, refunded(order))
        status = "refunded"
    else:
        deliver(client, disputed(order, "needs_response"))
        opened = license_of(checkout, license["key"])  # an open dispute holds, like a renewal's
        assert (opened["edition"], opened["status"]) == ("premium", "active")
        deliver(client, disputed(order, "lost"))
        status = "disputed"
    assert ok(checkout.get(f"/v1/orders/{order['id']}"))["status"] == status
    after = license_of(checkout, license["key"])
    assert (after["edition"], after["status"]) == ("pro", "active")
    assert {name: after[name] for name in DATES} == {name: license[name] for name in DATES}
    assert [h["type"] for h in after["history"]][-2:] == ["edition_changed", "edition_changed"]
    assert after["history"][-1]["data"] == {"order_id": order["id"], "old": "premium", "new": "pro"}
    deliver(client, refunded(order))  # again, or a refund after the lost dispute: once
    assert [h["type"] for h in license_of(checkout, license["key"])["history"]].count(
        "edition_changed"
    ) == 2


def test_d19_won_dispute_keeps_the_upgrade(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    license = a_license(admin)
    order = created(upgrade(checkout, license["key"]))
    deliver(client, paid(order))
    deliver(client, disputed(order, "needs_response"))
    deliver(client, disputed(order, "won"))
    after = license_of(checkout, license["key"])
    assert (after["edition"], after["status"]) == ("premium", "active")


def test_d19_refusals_already_premium_partner_license_inactive_and_unknown(
    app: Flask, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    premium = a_license(admin, edition="premium")
    problem(upgrade(checkout, premium["key"]), 409, "EDITION_NOT_HIGHER")
    pro = a_license(admin)
    problem(upgrade(checkout, pro["key"], edition="pro"), 409, "EDITION_NOT_HIGHER")
    partner = new_partner(admin)
    sold = a_license(admin, channel="partner", partner_id=partner["id"])
    problem(upgrade(checkout, sold["key"]), 409, "PARTNER_LICENSE")
    for status in ("suspended", "revoked"):
        inactive = a_license(admin)
        with app.app_context():
            db.session.execute(
                update(License).where(License.key == inactive["key"]).values(status=status)
            )
            db.session.commit()
        problem(upgrade(checkout, inactive["key"]), 409, "LICENSE_INACTIVE")
    unknown = upgrade(checkout, "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    renewal = checkout.post(
        "/v1/orders", json={"kind": "renewal", "license_key": "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"}
    )
    assert problem(unknown, 404, "LICENSE_NOT_FOUND") == problem(renewal, 404, "LICENSE_NOT_FOUND")
    body = problem(upgrade(checkout, pro["key"], edition="gold"), 422, "EDITION_NOT_FOUND")
    assert "edition" in body["errors"]
    missing = checkout.post("/v1/orders", json={"kind": "upgrade", "license_key": pro["key"]})
    assert "edition" in problem(missing, 422, "VALIDATION_FAILED")["errors"]
    extra = checkout.post(
        "/v1/orders",
        json={"kind": "upgrade", "license_key": pro["key"], "edition": "premium", "domain": "a.b"},
    )
    assert "domain" in problem(extra, 422, "VALIDATION_FAILED")["errors"]
    assert gateway.intents == {}  # no refusal reached Stripe


def test_d19_a_difference_below_stripes_minimum_charge_is_refused(
    checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    license = a_license(admin)
    admin.put("/v1/editions/premium", json={"price": {"amount": 30049, "currency": "USD"}})
    problem(upgrade(checkout, license["key"]), 409, "UPGRADE_PRICE_TOO_LOW")
    admin.put("/v1/editions/premium", json={"price": {"amount": 30050, "currency": "USD"}})
    assert created(upgrade(checkout, license["key"]))["price"]["amount"] == 50
    assert len(gateway.intents) == 1


def test_d19_upgrade_orders_are_for_checkout_and_admin_keys_only(
    app: Flask, client: FlaskClient, admin: Api, gateway: FakeGateway
) -> None:
    license = a_license(admin)
    for scope in ("helpdesk", "finance"):
        problem(upgrade(Api(client, make_key(app, scope)), license["key"]), 403, "FORBIDDEN")
    assert created(upgrade(admin, license["key"]))["kind"] == "upgrade"


@pytest.mark.parametrize("what", ["already premium", "revoked", "expired"])
def test_d19_d8_a_payment_the_upgrade_no_longer_applies_to_is_refunded(
    app: Flask, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway, what: str
) -> None:
    license = a_license(admin)
    order = created(upgrade(checkout, license["key"]))
    at = None
    if what == "already premium":
        other = created(upgrade(checkout, license["key"]))
        deliver(client, paid(other))
    elif what == "revoked":
        with app.app_context():
            db.session.execute(
                update(License).where(License.key == license["key"]).values(status="revoked")
            )
            db.session.commit()
    else:
        at = datetime.now(UTC) + timedelta(hours=25)
    with time_machine.travel(at or datetime.now(UTC), tick=False):
        assert deliver(client, paid(order, at=at)) == "applied"
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    reason = {
        "already premium": "edition_not_higher",
        "revoked": "license_inactive",
        "expired": "order_expired",
    }[what]
    assert (shown["status"], shown["refund_reason"]) == ("refunded", reason)
    assert [r["payment_intent"] for r in gateway.refunds] == [order["payment"]["payment_intent_id"]]
    after = license_of(checkout, license["key"])
    assert after["edition"] == ("premium" if what == "already premium" else "pro")
    assert [h["type"] for h in after["history"]].count("edition_changed") == (
        1 if what == "already premium" else 0
    )


def test_d19_d13_after_an_upgrade_renewals_are_priced_from_premium(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    license = a_license(admin)
    at = license["updates_until"]
    before = ok(checkout.get(f"/v1/licenses/{license['key']}/renewal-quote?at={at}"))
    assert (before["price"]["amount"], before["list_price"]["amount"]) == (6000, 30000)
    deliver(client, paid(created(upgrade(checkout, license["key"]))))
    after = ok(checkout.get(f"/v1/licenses/{license['key']}/renewal-quote?at={at}"))
    assert (after["price"]["amount"], after["list_price"]["amount"]) == (10000, 50000)
    assert after["new_updates_until"] == before["new_updates_until"]


def test_d19_r12_after_an_upgrade_the_helpdesk_serves_at_premium_priority(
    app: Flask, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    helpdesk = Api(client, make_key(app, "helpdesk"))
    license = a_license(admin)
    query = (
        f"/v1/entitlements?customer_id={license['customer_id']}"
        f"&department=technical_support&domain={license['domain']}"
    )
    before = ok(helpdesk.get(query))
    assert (before["allowed"], before["code"], before["priority"]) == (True, "ALLOWED", "pro")
    order = created(upgrade(checkout, license["key"]))
    deliver(client, paid(order))
    after = ok(helpdesk.get(query))
    assert (after["allowed"], after["code"], after["priority"]) == (True, "ALLOWED", "premium")
    deliver(client, refunded(order))
    assert ok(helpdesk.get(query))["priority"] == "pro"
