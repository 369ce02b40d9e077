"""Order and license status from payment facts (D7, D8, D9), without any Stripe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing.domain.licenses import LicenseStatus
from licensing.domain.orders import (
    DisputeOutcome,
    OrderStatus,
    PaymentFacts,
    RefundReason,
    expires_at,
    license_status,
    order_status,
    paid_too_late,
    payment_taken_back,
    refund_instead_of_issue,
)

T = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_d8_an_order_is_payable_for_24_hours() -> None:
    assert expires_at(T) == T + timedelta(hours=24)


@pytest.mark.parametrize(
    ("facts", "order", "license"),
    [
        (PaymentFacts(), OrderStatus.AWAITING_PAYMENT, LicenseStatus.ACTIVE),
        (PaymentFacts(failed_at=T), OrderStatus.FAILED, LicenseStatus.ACTIVE),
        (PaymentFacts(failed_at=T, paid_at=T), OrderStatus.PAID, LicenseStatus.ACTIVE),
        (PaymentFacts(expired_at=T), OrderStatus.EXPIRED, LicenseStatus.ACTIVE),
        (PaymentFacts(paid_at=T, refunded_at=T), OrderStatus.REFUNDED, LicenseStatus.REVOKED),
        (
            PaymentFacts(paid_at=T, dispute=DisputeOutcome.OPEN),
            OrderStatus.DISPUTED,
            LicenseStatus.SUSPENDED,
        ),
        (
            PaymentFacts(paid_at=T, dispute=DisputeOutcome.WON),
            OrderStatus.PAID,
            LicenseStatus.ACTIVE,
        ),
        (
            PaymentFacts(paid_at=T, dispute=DisputeOutcome.LOST),
            OrderStatus.DISPUTED,
            LicenseStatus.REVOKED,
        ),
    ],
)
def test_d9_status_follows_from_the_facts(
    facts: PaymentFacts, order: OrderStatus, license: LicenseStatus
) -> None:
    assert order_status(facts) is order
    assert license_status(facts) is license


instants = st.one_of(st.none(), st.just(T))


@given(
    paid=instants,
    failed=instants,
    expired=instants,
    refunded=instants,
    dispute=st.sampled_from([None, *DisputeOutcome]),
)
def test_d9_a_refund_always_wins_and_always_revokes(
    paid, failed, expired, refunded, dispute
) -> None:
    facts = PaymentFacts(
        paid_at=paid, failed_at=failed, expired_at=expired, refunded_at=refunded, dispute=dispute
    )
    if refunded is not None:
        assert order_status(facts) is OrderStatus.REFUNDED
        assert license_status(facts) is LicenseStatus.REVOKED
    if paid is not None and refunded is None and dispute in (None, DisputeOutcome.WON):
        assert order_status(facts) is OrderStatus.PAID  # a success outranks an earlier failure


@pytest.mark.parametrize(
    ("paid_at", "expired", "domain_free", "reason"),
    [
        (T + timedelta(hours=24), False, True, None),  # on the last instant: still payable
        (T + timedelta(hours=24, seconds=1), False, True, RefundReason.ORDER_EXPIRED),
        (T, True, True, RefundReason.ORDER_EXPIRED),
        (T, False, False, RefundReason.DOMAIN_TAKEN),
        (T, False, True, None),
    ],
)
def test_d8_d4_what_a_payment_cannot_buy_is_refunded(paid_at, expired, domain_free, reason) -> None:
    got = refund_instead_of_issue(
        paid_at=paid_at, order_expires_at=expires_at(T), expired=expired, domain_free=domain_free
    )
    assert got is reason


@pytest.mark.parametrize(
    ("facts", "taken_back"),
    [
        (PaymentFacts(paid_at=T), False),
        (PaymentFacts(paid_at=T, refunded_at=T), True),
        (PaymentFacts(paid_at=T, dispute=DisputeOutcome.OPEN), False),
        (PaymentFacts(paid_at=T, dispute=DisputeOutcome.WON), False),
        (PaymentFacts(paid_at=T, dispute=DisputeOutcome.LOST), True),
    ],
)
def test_d9_the_money_is_taken_back_by_a_full_refund_or_a_lost_dispute(
    facts: PaymentFacts, taken_back: bool
) -> None:
    assert payment_taken_back(facts) is taken_back


@pytest.mark.parametrize(
    ("paid_at", "expired", "late"),
    [
        (T, False, False),
        (T + timedelta(hours=24), False, False),
        (T, True, True),
        (T + timedelta(hours=24, seconds=1), False, True),
    ],
)
def test_d8_a_payment_after_the_orders_24_hours_is_too_late(
    paid_at: datetime, expired: bool, late: bool
) -> None:
    order_expires_at = T + timedelta(hours=24)
    assert (
        paid_too_late(paid_at=paid_at, order_expires_at=order_expires_at, expired=expired) is late
    )
