"""The Stripe adapter turns Stripe's objects into the service's payment events (and only it
reads Stripe's field names)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from licensing.adapters.payments import RefundStatus, refund_status
from licensing.adapters.stripe_events import (
    ChargeRefunded,
    DisputeClosed,
    DisputeOpened,
    PaymentAttemptFailed,
    PaymentCancelled,
    PaymentSucceeded,
    translate,
)
from tests.fakes import FakeGateway, charge, dispute, intent, signed, stripe_event

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_a_succeeded_intent_names_its_charge_and_what_was_received() -> None:
    obj = {**intent("pi_1", charge="ch_1"), "amount_received": 30000, "currency": "usd"}
    assert translate("payment_intent.succeeded", obj, AT) == PaymentSucceeded(
        intent_id="pi_1", charge_id="ch_1", amount=30000, currency="usd", at=AT
    )


def test_received_falls_back_to_amount_and_an_expanded_charge_gives_its_id() -> None:
    obj = {**intent("pi_1"), "latest_charge": {"id": "ch_9", "object": "charge"}, "amount": 5}
    paid = translate("payment_intent.succeeded", obj, AT)
    assert isinstance(paid, PaymentSucceeded)
    assert (paid.charge_id, paid.amount, paid.currency) == ("ch_9", 5, None)


def test_an_amount_that_is_not_a_whole_number_is_not_reported() -> None:
    obj = {**intent("pi_1"), "amount_received": "30000"}
    paid = translate("payment_intent.succeeded", obj, AT)
    assert isinstance(paid, PaymentSucceeded) and paid.amount is None


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            {"code": "card_declined", "message": "Your card was declined."},
            "Your card was declined.",
        ),
        ({"code": "card_declined"}, "card_declined"),
        (None, "the payment failed"),
        ("not an object", "the payment failed"),
    ],
)
def test_a_failed_attempt_says_why(error: object, reason: str) -> None:
    obj = {**intent("pi_1", status="requires_payment_method"), "last_payment_error": error}
    assert translate("payment_intent.payment_failed", obj, AT) == PaymentAttemptFailed(
        intent_id="pi_1", reason=reason, at=AT
    )


def test_a_cancelled_intent() -> None:
    obj = intent("pi_1", status="canceled")
    assert translate("payment_intent.canceled", obj, AT) == PaymentCancelled(
        intent_id="pi_1", at=AT
    )


@pytest.mark.parametrize(
    "event_type",
    ["payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"],
)
def test_an_intent_event_without_an_intent_id_says_nothing(event_type: str) -> None:
    assert translate(event_type, {"object": "payment_intent", "id": None}, AT) is None


@pytest.mark.parametrize(("refunded", "full"), [(30000, True), (100, False)])
def test_a_refunded_charge_says_whether_all_of_it_went_back(refunded: int, full: bool) -> None:
    obj = charge("pi_1", charge_id="ch_1", amount=30000, refunded=refunded)
    assert translate("charge.refunded", obj, AT) == ChargeRefunded(
        intent_id="pi_1", charge_id="ch_1", amount_refunded=refunded, full=full, at=AT
    )


def test_stripes_refunded_flag_makes_a_refund_full() -> None:
    obj = {**charge("pi_1", charge_id="ch_1", amount=30000, refunded=100), "refunded": True}
    refund = translate("charge.refunded", obj, AT)
    assert isinstance(refund, ChargeRefunded) and refund.full


def test_a_dispute_names_its_charge_and_intent() -> None:
    obj = dispute("pi_1", charge_id="ch_1", status="needs_response")
    assert translate("charge.dispute.created", obj, AT) == DisputeOpened(
        intent_id="pi_1", charge_id="ch_1", dispute_id=obj["id"], at=AT
    )


@pytest.mark.parametrize(
    ("status", "won"), [("won", True), ("warning_closed", True), ("lost", False)]
)
def test_a_closed_dispute_is_lost_only_when_stripe_says_lost(status: str, won: bool) -> None:
    obj = {**dispute("pi_1", charge_id="ch_1", status=status), "payment_intent": {"id": "pi_1"}}
    closed = translate("charge.dispute.closed", obj, AT)
    assert isinstance(closed, DisputeClosed)
    assert (closed.intent_id, closed.charge_id, closed.won) == ("pi_1", "ch_1", won)


def test_types_the_service_does_not_act_on_say_nothing() -> None:
    assert translate("customer.created", {"id": "cus_1", "object": "customer"}, AT) is None


def test_a_verified_event_carries_its_id_type_and_payment() -> None:
    event = stripe_event("payment_intent.canceled", intent("pi_7"), created=AT, event_id="evt_7")
    body, headers = signed(event)
    verified = FakeGateway().verify_event(body, headers["Stripe-Signature"])
    assert (verified.id, verified.type) == ("evt_7", "payment_intent.canceled")
    assert verified.payment == PaymentCancelled(intent_id="pi_7", at=AT)


def test_an_event_whose_object_is_not_an_object_is_verified_but_says_nothing() -> None:
    event = {**stripe_event("payment_intent.canceled", {}), "data": {"object": "pi_7"}}
    body, headers = signed(event)
    assert FakeGateway().verify_event(body, headers["Stripe-Signature"]).payment is None


@pytest.mark.parametrize(
    ("stripe_status", "status"),
    [
        ("succeeded", RefundStatus.SUCCEEDED),
        ("pending", RefundStatus.PENDING),
        ("requires_action", RefundStatus.PENDING),
        (None, RefundStatus.PENDING),
        ("failed", RefundStatus.FAILED),
        ("canceled", RefundStatus.FAILED),
    ],
)
def test_d20_a_refund_answer_says_whether_the_money_went_back(
    stripe_status: str | None, status: RefundStatus
) -> None:
    assert refund_status(stripe_status) is status


def test_a_signed_event_created_past_any_datetime_is_a_bad_event_not_a_500() -> None:
    import json as json_module

    import pytest as pytest_module

    from licensing.adapters.payments import StripeGateway
    from licensing.domain.errors import BadSignature
    from tests.fakes import WEBHOOK_SECRET, sign

    gateway = StripeGateway(
        secret_key="sk_test_x", webhook_secret=WEBHOOK_SECRET, api_base="http://127.0.0.1:9"
    )
    body = json_module.dumps(
        {
            "id": "evt_x",
            "type": "payment_intent.succeeded",
            "created": 10**20,
            "data": {"object": {"id": "pi_x"}},
        }
    ).encode()
    with pytest_module.raises(BadSignature):
        gateway.verify_event(body, sign(body))
