"""Upgrade orders as use cases, with the fake gateway and typed events (D19, D2, D8, D9)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from licensing.adapters.models import Edition, License, LicenseEvent, Order
from licensing.domain.errors import Conflict
from licensing.domain.licenses import Channel
from licensing.domain.orders import OrderKind
from licensing.extensions import db
from licensing.services import licenses, order_kinds, payment_events
from licensing.services.payment_events import APPLIED
from tests.fakes import (
    FakeGateway,
    charge_refunded,
    dispute_closed,
    dispute_opened,
    payment_succeeded,
)
from tests.unit.services.given import a_customer, a_license, z

pytestmark = pytest.mark.usefixtures("database")

NOW = z("2026-03-02T10:00:00Z")
PAID_AT = NOW + timedelta(minutes=3)
LATER = NOW + timedelta(minutes=5)


def an_upgrade(gateway: FakeGateway, license: License, edition: str = "premium") -> Order:
    return order_kinds.create_order(
        OrderKind.UPGRADE,
        license_key=license.key,
        edition=edition,
        gateway=gateway,
        actor="key:test",
        now=NOW,
    )


def paid(order: Order, gateway: FakeGateway) -> Order:
    event = payment_succeeded(order.payment_intent_id or "", at=PAID_AT)
    assert payment_events.handle_event(event=event, gateway=gateway, now=LATER) == APPLIED
    return order


def edition_changes(license: License) -> list[dict[str, object]]:
    rows = db.session.execute(
        select(LicenseEvent.data)
        .where(LicenseEvent.license_id == license.id, LicenseEvent.type == "edition_changed")
        .order_by(LicenseEvent.id)
    ).scalars()
    return list(rows)


def test_d19_upgrade_price_is_the_list_price_difference_locked_at_creation(
    gateway: FakeGateway,
) -> None:
    license = a_license(purchased_at=NOW - timedelta(days=40))
    order = an_upgrade(gateway, license)
    assert (order.kind, order.status, order.edition_code) == (
        "upgrade",
        "awaiting_payment",
        "premium",
    )
    assert (order.price_amount, order.list_price_amount, order.license_id) == (
        20000,
        50000,
        license.id,
    )
    premium = db.session.get(Edition, "premium")
    assert premium is not None
    premium.price_amount = 80000  # D2: the order keeps its price
    db.session.commit()
    paid(order, gateway)
    assert (order.status, order.price_amount, license.edition_code) == ("paid", 20000, "premium")


def test_d19_payment_upgrades_once_and_moves_no_date(gateway: FakeGateway) -> None:
    license = a_license(purchased_at=NOW - timedelta(days=40))
    dates = (license.purchased_at, license.support_until, license.updates_until)
    order = an_upgrade(gateway, license)
    paid(order, gateway)
    paid(order, gateway)  # the same payment under another event id: applied once
    assert license.edition_code == "premium"
    assert (license.purchased_at, license.support_until, license.updates_until) == dates
    assert edition_changes(license) == [{"order_id": order.id, "old": "pro", "new": "premium"}]


def test_d19_d9_refund_after_lost_dispute_takes_the_upgrade_back_once(gateway: FakeGateway) -> None:
    license = a_license(purchased_at=NOW - timedelta(days=40))
    order = paid(an_upgrade(gateway, license), gateway)
    intent = order.payment_intent_id or ""
    for event in (
        dispute_opened(intent),
        dispute_closed(intent, won=False),
        charge_refunded(intent, amount_refunded=20000),
    ):
        payment_events.handle_event(event=event, gateway=gateway, now=LATER)
    assert (license.edition_code, license.status) == ("pro", "active")
    assert [change["new"] for change in edition_changes(license)] == ["premium", "pro"]


def test_d19_a_refund_that_arrives_before_the_payment_leaves_the_license_pro(
    gateway: FakeGateway,
) -> None:
    license = a_license(purchased_at=NOW - timedelta(days=40))
    order = an_upgrade(gateway, license)
    refund = charge_refunded(order.payment_intent_id or "", amount_refunded=20000)
    payment_events.handle_event(event=refund, gateway=gateway, now=LATER)
    paid(order, gateway)
    assert (order.status, license.edition_code, license.status) == ("refunded", "pro", "active")


def test_d19_refusals_are_checked_in_order(gateway: FakeGateway) -> None:
    direct = a_license(purchased_at=NOW - timedelta(days=40))
    partner_license = licenses.issue_license(
        new=licenses.NewLicense(
            customer_id=a_customer(now=NOW),
            edition="premium",
            domain="partner.example.com",
            channel=Channel.PARTNER,
            partner_id=_a_partner(),
            purchased_at=NOW - timedelta(days=1),
        ),
        source="import",
        actor="test",
        now=NOW,
    )
    partner_license.status = "revoked"
    db.session.commit()
    with pytest.raises(Conflict) as partner:
        an_upgrade(gateway, partner_license)
    assert partner.value.code == "PARTNER_LICENSE"  # before LICENSE_INACTIVE, EDITION_NOT_HIGHER
    with pytest.raises(Conflict) as same:
        an_upgrade(gateway, direct, edition="pro")
    assert same.value.code == "EDITION_NOT_HIGHER"
    assert gateway.intents == {}


def _a_partner() -> int:
    from licensing.services import accounts

    return accounts.create_partner(
        name="P", support_email="p@partner.example", support_url=None, now=NOW
    ).id
