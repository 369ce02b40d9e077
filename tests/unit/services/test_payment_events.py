"""Payment events applied to orders of every kind, through the typed events (D4, D7-D9, D12)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from licensing.adapters.models import License, Order, OrderEvent, Quote
from licensing.adapters.stripe_events import WebhookEvent
from licensing.domain.errors import PaymentFailed
from licensing.domain.orders import OrderKind
from licensing.extensions import db
from licensing.services import payment_events
from licensing.services.licenses import domain_is_free
from licensing.services.order_kinds import KINDS
from licensing.services.payment_events import APPLIED, DUPLICATE, IGNORED
from tests.fakes import (
    FakeGateway,
    charge_refunded,
    dispute_closed,
    dispute_opened,
    payment_cancelled,
    payment_failed,
    payment_succeeded,
)
from tests.unit.services.given import a_license, a_purchase, a_work_order, z

pytestmark = pytest.mark.usefixtures("database")

NOW = z("2026-03-02T10:00:00Z")
PAID_AT = NOW + timedelta(minutes=3)
LATER = NOW + timedelta(minutes=5)


def apply(event: WebhookEvent, gateway: FakeGateway) -> str:
    return payment_events.handle_event(event=event, gateway=gateway, now=LATER)


def license_of(order: Order) -> License:
    license = db.session.get(License, order.license_id)
    assert license is not None
    return license


def history(order: Order) -> list[str]:
    return list(
        db.session.execute(
            select(OrderEvent.type).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
        ).scalars()
    )


def licenses_issued() -> int:
    return db.session.execute(select(func.count()).select_from(License)).scalar_one()


def paid(order: Order, gateway: FakeGateway, **kwargs: Any) -> Order:
    assert order.payment_intent_id is not None
    event = payment_succeeded(order.payment_intent_id, at=kwargs.pop("at", PAID_AT), **kwargs)
    assert apply(event, gateway) == APPLIED
    return order


def test_every_order_kind_has_its_handler() -> None:
    assert set(KINDS) == set(OrderKind)


def test_d7_a_payment_issues_the_license_once_however_often_it_is_delivered(
    gateway: FakeGateway,
) -> None:
    order = a_purchase(gateway, now=NOW, domain="once.example.com")
    event = payment_succeeded(order.payment_intent_id or "", charge_id="ch_once", at=PAID_AT)
    assert apply(event, gateway) == APPLIED
    assert apply(event, gateway) == DUPLICATE
    resent = payment_succeeded(order.payment_intent_id or "", charge_id="ch_once", at=PAID_AT)
    assert apply(resent, gateway) == APPLIED  # the same payment under a new event id
    assert (order.status, order.paid_at, order.charge_id) == ("paid", PAID_AT, "ch_once")
    assert licenses_issued() == 1
    license = license_of(order)
    assert (license.domain, license.status, license.purchased_at) == (
        "once.example.com",
        "active",
        PAID_AT,
    )
    assert history(order) == ["created", "paid", "license_issued", "status_changed"]
    assert gateway.refunds == []


def test_d7_a_payment_short_of_the_price_goes_back_and_buys_nothing(
    gateway: FakeGateway,
) -> None:
    order = paid(a_purchase(gateway, now=NOW), gateway, amount=1, currency="usd")
    assert (order.status, order.refund_reason, order.license_id) == (
        "refunded",
        "amount_mismatch",
        None,
    )
    assert [refund["payment_intent"] for refund in gateway.refunds] == [order.payment_intent_id]


def test_d7_the_whole_price_in_another_currency_goes_back_too(gateway: FakeGateway) -> None:
    order = paid(a_purchase(gateway, now=NOW), gateway, amount=30000, currency="eur")
    assert (order.status, order.refund_reason) == ("refunded", "amount_mismatch")


def test_d8_a_payment_after_the_24_hours_goes_back(gateway: FakeGateway) -> None:
    order = paid(a_purchase(gateway, now=NOW), gateway, at=NOW + timedelta(hours=24, seconds=1))
    assert (order.status, order.refund_reason, order.license_id) == (
        "refunded",
        "order_expired",
        None,
    )


def test_d4_a_payment_for_a_domain_taken_meanwhile_goes_back(gateway: FakeGateway) -> None:
    order = a_purchase(gateway, now=NOW, domain="taken.example.com")
    a_license(purchased_at=NOW, domain="taken.example.com")
    paid(order, gateway)
    assert (order.status, order.refund_reason, order.license_id) == (
        "refunded",
        "domain_taken",
        None,
    )


def test_stripe_refusing_our_refund_is_recorded_and_the_event_still_applies(
    gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> str:
        raise PaymentFailed("Charge has already been refunded.")

    monkeypatch.setattr(gateway, "refund_payment_intent", refuse)
    order = paid(a_purchase(gateway, now=NOW), gateway, amount=1)
    assert (order.status, order.refund_reason, order.refunded_at) == (
        "paid",
        "amount_mismatch",
        None,
    )
    assert "refund_refused" in history(order)


def test_d9_a_full_refund_revokes_the_license_and_frees_its_domain(gateway: FakeGateway) -> None:
    order = paid(a_purchase(gateway, now=NOW, domain="refund.example.com"), gateway)
    refund = charge_refunded(order.payment_intent_id or "", amount_refunded=30000, at=LATER)
    assert apply(refund, gateway) == APPLIED
    assert (order.status, order.refunded_at, license_of(order).status) == (
        "refunded",
        LATER,
        "revoked",
    )
    assert domain_is_free("refund.example.com")
    assert gateway.refunds == []  # Stripe's own refund: nothing for us to give back


def test_d9_a_partial_refund_is_only_recorded(gateway: FakeGateway) -> None:
    order = paid(a_purchase(gateway, now=NOW), gateway)
    partial = charge_refunded(order.payment_intent_id or "", amount_refunded=100, full=False)
    apply(partial, gateway)
    assert (order.status, license_of(order).status) == ("paid", "active")
    assert history(order)[-1] == "charge_refunded"


@pytest.mark.parametrize(
    ("won", "status", "license_status"), [(True, "paid", "active"), (False, "disputed", "revoked")]
)
def test_d9_a_dispute_suspends_the_license_until_it_is_won_or_lost(
    gateway: FakeGateway, won: bool, status: str, license_status: str
) -> None:
    order = paid(a_purchase(gateway, now=NOW), gateway)
    intent_id = order.payment_intent_id or ""
    apply(dispute_opened(intent_id, charge_id=order.charge_id), gateway)
    assert (order.status, license_of(order).status) == ("disputed", "suspended")
    apply(dispute_closed(intent_id, charge_id=order.charge_id, won=won), gateway)
    assert (order.status, license_of(order).status) == (status, license_status)


def test_d9_a_dispute_found_by_its_charge_alone_still_applies(gateway: FakeGateway) -> None:
    order = paid(a_purchase(gateway, now=NOW), gateway, charge_id="ch_only")
    apply(dispute_opened("pi_not_named", charge_id="ch_only"), gateway)
    assert license_of(order).status == "suspended"


def test_d7_a_refund_before_its_success_ends_as_if_in_order(gateway: FakeGateway) -> None:
    order = a_purchase(gateway, now=NOW, domain="early.example.com")
    intent_id = order.payment_intent_id or ""
    apply(charge_refunded(intent_id, amount_refunded=30000, at=LATER), gateway)
    paid(order, gateway)
    assert (order.status, license_of(order).status) == ("refunded", "revoked")
    assert domain_is_free("early.example.com")


def test_a_failed_attempt_may_be_followed_by_a_success(gateway: FakeGateway) -> None:
    order = a_purchase(gateway, now=NOW)
    apply(payment_failed(order.payment_intent_id or "", reason="Card declined."), gateway)
    assert (order.status, order.failure_message, order.license_id) == (
        "failed",
        "Card declined.",
        None,
    )
    paid(order, gateway)
    assert (order.status, license_of(order).status) == ("paid", "active")


def test_d8_a_cancelled_intent_expires_its_order(gateway: FakeGateway) -> None:
    order = a_purchase(gateway, now=NOW)
    apply(payment_cancelled(order.payment_intent_id or "", at=LATER), gateway)
    assert (order.status, order.expired_at) == ("expired", LATER)


def test_events_for_no_order_of_ours_or_of_no_interest_are_remembered_and_ignored(
    gateway: FakeGateway,
) -> None:
    stranger = payment_succeeded("pi_not_ours")
    assert apply(stranger, gateway) == IGNORED
    assert apply(stranger, gateway) == DUPLICATE
    other = WebhookEvent(id="evt_customer", type="customer.created", payment=None)
    assert apply(other, gateway) == IGNORED
    assert apply(other, gateway) == DUPLICATE


def test_d12_a_paid_work_order_marks_its_quote_paid(gateway: FakeGateway) -> None:
    order = paid(a_work_order(gateway, hours=2, now=NOW), gateway)
    quote = db.session.execute(select(Quote).where(Quote.order_id == order.id)).scalar_one()
    assert (order.price_amount, order.status) == (6000, "paid")
    assert (quote.status, quote.paid_at) == ("paid", PAID_AT)


def test_d8_a_work_order_paid_too_late_goes_back_and_its_quote_stays_accepted(
    gateway: FakeGateway,
) -> None:
    order = a_work_order(gateway, hours=1, now=NOW)
    paid(order, gateway, at=NOW + timedelta(days=1, seconds=1))
    quote = db.session.execute(select(Quote).where(Quote.order_id == order.id)).scalar_one()
    assert (order.status, order.refund_reason, quote.status) == (
        "refunded",
        "order_expired",
        "accepted",
    )


def test_d20_a_work_order_refunded_through_stripe_cancels_its_paid_quote(
    gateway: FakeGateway,
) -> None:
    order = paid(a_work_order(gateway, hours=1, now=NOW), gateway)
    apply(charge_refunded(order.payment_intent_id or "", amount_refunded=3000), gateway)
    quote = db.session.execute(select(Quote).where(Quote.order_id == order.id)).scalar_one()
    assert (order.status, quote.status, quote.closed_at) == ("refunded", "cancelled", LATER)
