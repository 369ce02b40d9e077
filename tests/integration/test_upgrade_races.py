"""Upgrade races on PostgreSQL with real connections (D19, D2, D8, D15)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dateutil.relativedelta import relativedelta
from flask import Flask
from sqlalchemy import select

from licensing.adapters.models import License, Renewal
from licensing.extensions import db
from tests.factories import Api, created, import_license, new_customer, ok
from tests.fakes import FakeGateway, intent, signed, stripe_event
from tests.integration.test_races import _concurrently

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

ROUNDS = 5


def test_d19_d15_upgrade_and_renewal_paid_at_once_both_apply_and_the_renewal_keeps_its_price(
    app: Flask, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    """The two payments lock the same license: whichever comes second waits, then applies.
    The license ends Premium with one more year, and the renewal stays at the Pro price it
    locked (D2, D8), however the two interleave."""
    purchased = (datetime.now(UTC) - relativedelta(months=11)).strftime("%Y-%m-%dT%H:%M:%SZ")
    customer = new_customer(admin)
    for n in range(ROUNDS):
        license = import_license(
            admin, customer_id=customer["id"], purchased_at=purchased, domain=f"r{n}.example.com"
        )
        key = license["key"]
        renewal = created(checkout.post("/v1/orders", json={"kind": "renewal", "license_key": key}))
        upgrade = created(
            checkout.post(
                "/v1/orders", json={"kind": "upgrade", "license_key": key, "edition": "premium"}
            )
        )
        assert (renewal["price"]["amount"], upgrade["price"]["amount"]) == (6000, 20000)
        events = [
            signed(
                stripe_event(
                    "payment_intent.succeeded",
                    intent(o["payment"]["payment_intent_id"], charge=f"ch_{n}_{o['id']}"),
                )
            )
            for o in (renewal, upgrade)
        ]

        def pay(i: int, events: list = events) -> int:
            body, headers = events[i]
            response = app.test_client().post("/v1/stripe/webhook", data=body, headers=headers)
            return response.status_code

        assert _concurrently(2, pay) == [200, 200]
        shown = [
            ok(Api(app.test_client(), checkout.key).get(f"/v1/orders/{o['id']}"))
            for o in (renewal, upgrade)
        ]
        assert [(o["status"], o["price"]["amount"]) for o in shown] == [
            ("paid", 6000),
            ("paid", 20000),
        ]
        with app.app_context():
            after = db.session.execute(select(License).where(License.key == key)).scalar_one()
            assert after.edition_code == "premium"
            old_until = datetime.fromisoformat(license["updates_until"].replace("Z", "+00:00"))
            assert after.updates_until == old_until + relativedelta(years=1)
            assert after.purchased_at.isoformat().startswith(purchased[:19])
            record = db.session.execute(
                select(Renewal).where(Renewal.license_id == after.id)
            ).scalar_one()
            assert (record.edition_code, record.price_amount, record.list_price_amount) == (
                "pro",
                6000,
                30000,
            )
            db.session.rollback()
    assert gateway.refunds == []
