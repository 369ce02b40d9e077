"""D20 as rules: what staff may refund or cancel, and what a refund does to paid work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from licensing.domain.errors import Conflict
from licensing.domain.orders import (
    OrderStatus,
    PaymentFacts,
    RefundReason,
    ensure_cancellable,
    ensure_refundable,
    order_status,
    refund_before_fulfilment,
)
from licensing.domain.quotes import CANCELLED_BY_REFUND, QuoteStatus, warranty_ended_by_refund

AT = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def test_d20_a_cancelled_order_is_cancelled_until_a_payment_arrives_and_goes_back() -> None:
    cancelled = PaymentFacts(cancelled_at=AT)
    assert order_status(cancelled) is OrderStatus.CANCELLED
    paid_anyway = PaymentFacts(cancelled_at=AT, paid_at=AT + timedelta(seconds=1))
    assert order_status(paid_anyway) is OrderStatus.PAID  # a fact, until it is refunded
    refunded = PaymentFacts(cancelled_at=AT, paid_at=AT, refunded_at=AT)
    assert order_status(refunded) is OrderStatus.REFUNDED
    assert order_status(PaymentFacts(cancelled_at=AT, expired_at=AT)) is OrderStatus.CANCELLED


def test_d20_only_an_order_awaiting_payment_can_be_cancelled() -> None:
    ensure_cancellable(OrderStatus.AWAITING_PAYMENT)
    for status in set(OrderStatus) - {OrderStatus.AWAITING_PAYMENT}:
        with pytest.raises(Conflict) as refused:
            ensure_cancellable(status)
        assert refused.value.code == "ORDER_STATE"
        assert refused.value.extra == {"current_state": status.value}


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (OrderStatus.AWAITING_PAYMENT, "ORDER_NOT_PAID"),
        (OrderStatus.FAILED, "ORDER_NOT_PAID"),
        (OrderStatus.EXPIRED, "ORDER_NOT_PAID"),
        (OrderStatus.CANCELLED, "ORDER_NOT_PAID"),
        (OrderStatus.DISPUTED, "ORDER_STATE"),
    ],
)
def test_d20_only_a_paid_order_can_be_refunded(status: OrderStatus, code: str) -> None:
    ensure_refundable(OrderStatus.PAID)
    with pytest.raises(Conflict) as refused:
        ensure_refundable(status)
    assert refused.value.code == code


def test_d20_a_payment_for_a_cancelled_order_goes_back_whatever_its_kind() -> None:
    assert refund_before_fulfilment(cancelled=True, paid_in_full=True) is (
        RefundReason.ORDER_CANCELLED
    )
    assert refund_before_fulfilment(cancelled=True, paid_in_full=False) is (
        RefundReason.ORDER_CANCELLED
    )
    assert refund_before_fulfilment(cancelled=False, paid_in_full=False) is (
        RefundReason.AMOUNT_MISMATCH
    )
    assert refund_before_fulfilment(cancelled=False, paid_in_full=True) is None


def test_d20_a_refund_cancels_paid_or_completed_work_and_ends_its_warranty_then() -> None:
    assert {QuoteStatus.PAID, QuoteStatus.COMPLETED} == CANCELLED_BY_REFUND
    starts, until = AT, AT + timedelta(days=30)
    assert warranty_ended_by_refund(starts, until, AT + timedelta(days=3)) == AT + timedelta(days=3)
    assert warranty_ended_by_refund(starts, until, AT + timedelta(days=40)) == until
    assert warranty_ended_by_refund(None, None, AT) is None
