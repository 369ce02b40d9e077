"""Orders and payments (D7, D8, D9): an order's status follows from what the payment did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from licensing.domain.errors import Conflict
from licensing.domain.licenses import LicenseStatus

PAYABLE_FOR = timedelta(hours=24)  # D8


class OrderKind(StrEnum):
    PURCHASE = "purchase"
    RENEWAL = "renewal"
    WORK = "work"
    UPGRADE = "upgrade"


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    EXPIRED = "expired"
    FAILED = "failed"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    CANCELLED = "cancelled"  # by staff, before it was paid (D20)


class DisputeOutcome(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class RefundReason(StrEnum):
    """Why the service itself gave the money back (the order says so)."""

    DOMAIN_TAKEN = "domain_taken"
    ORDER_EXPIRED = "order_expired"
    AMOUNT_MISMATCH = "amount_mismatch"
    LICENSE_INACTIVE = "license_inactive"
    QUOTE_STALE = "quote_stale"
    RENEWAL_TOO_EARLY = "renewal_too_early"
    ORDER_CANCELLED = "order_cancelled"  # D20: paid after staff cancelled it
    REQUESTED = "requested"  # D20: staff asked for the refund
    EDITION_NOT_HIGHER = "edition_not_higher"


def expires_at(created_at: datetime) -> datetime:
    """D8: an order stays payable for 24 hours from its creation."""
    return created_at + PAYABLE_FOR


def can_be_paid(status: OrderStatus, order_expires_at: datetime, now: datetime) -> bool:
    """D8: an unpaid order takes a payment (a failed attempt may be retried) until it
    expires; only then is its PaymentIntent's client secret shown (Conventions)."""
    unpaid = status in (OrderStatus.AWAITING_PAYMENT, OrderStatus.FAILED)
    return unpaid and now < order_expires_at


@dataclass(frozen=True)
class PaymentFacts:
    """What Stripe told us about an order's payment, each fact kept once it is known.

    Events may come twice or out of order; recording facts rather than moving a state
    machine makes the end state the same whatever the order of arrival (D7).
    """

    paid_at: datetime | None = None
    failed_at: datetime | None = None
    expired_at: datetime | None = None
    refunded_at: datetime | None = None
    dispute: DisputeOutcome | None = None
    cancelled_at: datetime | None = None  # by staff (D20), not a fact Stripe reported


def order_status(facts: PaymentFacts) -> OrderStatus:
    """D7 to D9, D20: refunded outranks disputed, then paid; a later success beats a failure.

    Cancelled (D20) ranks below paid, like expired: a payment that arrives anyway is a fact,
    and it is given back (`refund_before_fulfilment`), so the order ends refunded."""
    if facts.refunded_at is not None:
        return OrderStatus.REFUNDED
    if facts.dispute in (DisputeOutcome.OPEN, DisputeOutcome.LOST):
        return OrderStatus.DISPUTED
    if facts.paid_at is not None:
        return OrderStatus.PAID
    if facts.cancelled_at is not None:
        return OrderStatus.CANCELLED
    if facts.expired_at is not None:
        return OrderStatus.EXPIRED
    if facts.failed_at is not None:
        return OrderStatus.FAILED
    return OrderStatus.AWAITING_PAYMENT


def ensure_cancellable(status: OrderStatus) -> None:
    """D20: only an order still awaiting its payment can be cancelled; 409 ORDER_STATE
    naming the state it is in otherwise."""
    if status is not OrderStatus.AWAITING_PAYMENT:
        raise Conflict(
            f"The order is {status.value}; only an order awaiting payment can be cancelled.",
            code="ORDER_STATE",
            extra={"current_state": status.value},
        )


def ensure_refundable(status: OrderStatus) -> None:
    """D20: staff refund a paid order in full. One not paid is 409 ORDER_NOT_PAID (it can be
    cancelled instead); one in dispute is 409 ORDER_STATE (Stripe refunds no disputed
    charge: the dispute decides, D9)."""
    if status is OrderStatus.PAID:
        return
    if status is OrderStatus.DISPUTED:
        raise Conflict(
            "The order's payment is disputed; the dispute decides whether it goes back.",
            code="ORDER_STATE",
            extra={"current_state": status.value},
        )
    raise Conflict(
        f"The order is {status.value}; only a paid order can be refunded.",
        code="ORDER_NOT_PAID",
        extra={"current_state": status.value},
    )


def refund_before_fulfilment(*, cancelled: bool, paid_in_full: bool) -> RefundReason | None:
    """D20, D7: a payment for an order staff cancelled, or not of the order's whole price,
    buys nothing, whatever the kind of the order: it goes back."""
    if cancelled:
        return RefundReason.ORDER_CANCELLED
    if not paid_in_full:
        return RefundReason.AMOUNT_MISMATCH
    return None


def payment_taken_back(facts: PaymentFacts) -> bool:
    """D9: the money went back to the customer: refunded in full, or a dispute lost."""
    return facts.refunded_at is not None or facts.dispute is DisputeOutcome.LOST


def license_status(facts: PaymentFacts, current: LicenseStatus | None = None) -> LicenseStatus:
    """D9: a full refund or a lost dispute revokes; an open dispute suspends; else active.

    Revoked is final: a dispute won after a refund does not bring the license back.
    """
    if current is LicenseStatus.REVOKED:
        return LicenseStatus.REVOKED
    if payment_taken_back(facts):
        return LicenseStatus.REVOKED
    if facts.dispute is DisputeOutcome.OPEN:
        return LicenseStatus.SUSPENDED
    return LicenseStatus.ACTIVE


def paid_too_late(*, paid_at: datetime, order_expires_at: datetime, expired: bool) -> bool:
    """D8: a payment made after the order's 24 hours, or for an order already expired,
    buys nothing: it goes back, whatever the order was for."""
    return expired or paid_at > order_expires_at


def refund_instead_of_issue(
    *, paid_at: datetime, order_expires_at: datetime, expired: bool, domain_free: bool
) -> RefundReason | None:
    """D8, D4: a payment for an expired order, or for a domain taken meanwhile, goes back."""
    if paid_too_late(paid_at=paid_at, order_expires_at=order_expires_at, expired=expired):
        return RefundReason.ORDER_EXPIRED
    if not domain_free:
        return RefundReason.DOMAIN_TAKEN
    return None


def paid_in_full(
    *, price: int, currency: str, received: int | None, received_currency: str | None
) -> bool:
    """D7: a license is issued only for its whole price, in its currency. Stripe reports
    both on the PaymentIntent; an event without them is judged by the intent we created."""
    if received is not None and received != price:
        return False
    return received_currency is None or received_currency.upper() == currency.upper()
