"""Renewal orders, opened, paid and taken back through the services (R18, D8, D9, D13-D16)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from licensing.adapters.models import Edition, License, Order, Renewal
from licensing.adapters.stripe_events import WebhookEvent
from licensing.domain.money import Money
from licensing.extensions import db
from licensing.services import payment_events
from licensing.services.order_kinds import show_order
from licensing.services.payment_events import APPLIED
from tests.fakes import FakeGateway, charge_refunded, dispute_closed, payment_succeeded
from tests.unit.services.given import a_license, a_renewal, z

pytestmark = pytest.mark.usefixtures("database")

PURCHASED = z("2025-03-01T00:00:00Z")  # updates until 2026-03-01, preferential until 04-01
UPDATES_UNTIL = z("2026-03-01T00:00:00Z")
IN_GRACE = z("2026-03-15T12:00:00Z")  # after updates_until, still in the preferential month


def apply(event: WebhookEvent, gateway: FakeGateway, now: datetime) -> str:
    return payment_events.handle_event(event=event, gateway=gateway, now=now)


def pay(order: Order, gateway: FakeGateway, at: datetime) -> None:
    event = payment_succeeded(order.payment_intent_id or "", at=at)
    assert apply(event, gateway, now=at) == APPLIED


def refund(order: Order, gateway: FakeGateway, at: datetime) -> None:
    event = charge_refunded(order.payment_intent_id or "", amount_refunded=order.price_amount)
    assert apply(event, gateway, now=at) == APPLIED


def renewals_of(license: License) -> list[Renewal]:
    return list(
        db.session.execute(
            select(Renewal).where(Renewal.license_id == license.id).order_by(Renewal.id)
        ).scalars()
    )


def test_d13_d8_a_renewal_order_locks_the_rate_and_price_of_the_list_price_now(
    gateway: FakeGateway,
) -> None:
    license = a_license(purchased_at=PURCHASED)
    order = a_renewal(gateway, license, now=IN_GRACE)
    pro = db.session.get(Edition, "pro")
    assert pro is not None
    pro.price_amount = 40000  # D2: a later list price changes nothing already ordered
    db.session.commit()
    assert (order.kind, order.price_amount, order.list_price_amount) == ("renewal", 6000, 30000)
    assert (order.rate, order.percent, order.quoted_updates_until) == (
        "preferential",
        20,
        UPDATES_UNTIL,
    )
    assert gateway.intents[order.payment_intent_id or ""]["amount"] == 6000
    shown = show_order(order.id, paying=True, now=IN_GRACE)
    assert (shown.rate, shown.percent, shown.list_price) == ("preferential", 20, Money(30000))
    assert (shown.license_key, shown.domain) == (license.key, None)
    assert shown.payment.client_secret is not None


def test_d15_a_renewal_paid_in_the_grace_month_extends_from_updates_until(
    gateway: FakeGateway,
) -> None:
    license = a_license(purchased_at=PURCHASED)
    order = a_renewal(gateway, license, now=IN_GRACE)
    pay(order, gateway, at=IN_GRACE + timedelta(minutes=1))
    assert (order.status, license.updates_until) == ("paid", z("2027-03-01T00:00:00Z"))
    [renewal] = renewals_of(license)
    assert (renewal.order_id, renewal.old_updates_until, renewal.rate) == (
        order.id,
        UPDATES_UNTIL,
        "preferential",
    )


def test_d15_a_renewal_paid_after_the_window_starts_a_new_term_at_the_payment(
    gateway: FakeGateway,
) -> None:
    license = a_license(purchased_at=z("2024-01-10T00:00:00Z"))  # window closed 2025-02-10
    order = a_renewal(gateway, license, now=IN_GRACE)
    assert (order.rate, order.percent, order.price_amount) == ("standard", 30, 9000)
    paid_at = IN_GRACE + timedelta(minutes=1)
    pay(order, gateway, at=paid_at)
    assert license.updates_until == paid_at.replace(year=2027)


def test_d7_a_renewal_is_applied_once_however_often_its_payment_is_reported(
    gateway: FakeGateway,
) -> None:
    license = a_license(purchased_at=PURCHASED)
    order = a_renewal(gateway, license, now=IN_GRACE)
    for _ in range(3):
        pay(order, gateway, at=IN_GRACE + timedelta(minutes=1))
    assert len(renewals_of(license)) == 1
    assert license.updates_until == z("2027-03-01T00:00:00Z")


def test_d8_a_renewal_paid_after_its_24_hours_is_refunded_not_repriced(
    gateway: FakeGateway,
) -> None:
    license = a_license(purchased_at=PURCHASED)
    order = a_renewal(gateway, license, now=IN_GRACE)
    pay(order, gateway, at=IN_GRACE + timedelta(hours=24, seconds=1))
    assert (order.status, order.refund_reason) == ("refunded", "order_expired")
    assert (license.updates_until, renewals_of(license)) == (UPDATES_UNTIL, [])
    assert [refund["reason"] for refund in gateway.refunds] == ["order_expired"]


def test_d16_two_renewals_quoted_on_one_term_the_second_goes_back_as_stale(
    gateway: FakeGateway,
) -> None:
    license = a_license(purchased_at=PURCHASED)
    first = a_renewal(gateway, license, now=IN_GRACE)
    second = a_renewal(gateway, license, now=IN_GRACE)
    pay(first, gateway, at=IN_GRACE + timedelta(minutes=1))
    pay(second, gateway, at=IN_GRACE + timedelta(minutes=2))
    assert (second.status, second.refund_reason) == ("refunded", "quote_stale")
    assert license.updates_until == z("2027-03-01T00:00:00Z")  # one year, not two


def test_d8_a_renewal_paid_for_a_license_revoked_meanwhile_goes_back(
    gateway: FakeGateway,
) -> None:
    license = a_license(purchased_at=PURCHASED)
    order = a_renewal(gateway, license, now=IN_GRACE)
    license.status = "revoked"
    db.session.commit()
    pay(order, gateway, at=IN_GRACE + timedelta(minutes=1))
    assert (order.status, order.refund_reason) == ("refunded", "license_inactive")


def test_d9_a_refunded_renewal_gives_its_year_back_even_with_a_later_one_standing(
    gateway: FakeGateway,
) -> None:
    license = a_license(purchased_at=PURCHASED)
    first = a_renewal(gateway, license, now=IN_GRACE)
    pay(first, gateway, at=IN_GRACE + timedelta(minutes=1))
    next_year = z("2027-03-10T00:00:00Z")
    second = a_renewal(gateway, license, now=next_year)
    pay(second, gateway, at=next_year + timedelta(minutes=1))
    assert license.updates_until == z("2028-03-01T00:00:00Z")
    refund(first, gateway, at=next_year + timedelta(days=1))
    assert (first.status, license.status) == ("refunded", "active")
    # Recomputed, not subtracted: without the first, the second was paid long after the
    # first term's window, so by D15 it starts a term of its own at its payment.
    assert license.updates_until == z("2028-03-10T00:01:00Z")
    assert [r.refunded_at is not None for r in renewals_of(license)] == [True, False]
    refund(second, gateway, at=next_year + timedelta(days=2))
    assert license.updates_until == UPDATES_UNTIL


def test_d9_a_renewal_lost_in_dispute_gives_its_year_back(gateway: FakeGateway) -> None:
    license = a_license(purchased_at=PURCHASED)
    order = a_renewal(gateway, license, now=IN_GRACE)
    pay(order, gateway, at=IN_GRACE + timedelta(minutes=1))
    lost = dispute_closed(order.payment_intent_id or "", won=False)
    assert apply(lost, gateway, now=IN_GRACE + timedelta(days=20)) == APPLIED
    assert (order.status, license.status, license.updates_until) == (
        "disputed",
        "active",
        UPDATES_UNTIL,
    )


def test_d9_a_renewal_refunded_before_its_success_ends_as_if_in_order(
    gateway: FakeGateway,
) -> None:
    license = a_license(purchased_at=PURCHASED)
    order = a_renewal(gateway, license, now=IN_GRACE)
    refund(order, gateway, at=IN_GRACE + timedelta(minutes=1))
    pay(order, gateway, at=IN_GRACE + timedelta(minutes=2))
    assert (order.status, license.status, license.updates_until) == (
        "refunded",
        "active",
        UPDATES_UNTIL,
    )
    [renewal] = renewals_of(license)
    assert renewal.refunded_at is not None
