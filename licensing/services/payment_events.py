"""Payment events applied exactly once, whatever the order's kind (D7-D9).

Each event records a fact on its order (paid, failed, cancelled, refunded, disputed); the
order's status follows from the facts, and its kind's handler (`order_kinds.KINDS`) says
what a payment buys and what a refund or a dispute takes back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from licensing.adapters.models import Order, StripeEvent
from licensing.adapters.payments import PaymentGateway
from licensing.adapters.stripe_events import (
    ChargeRefunded,
    DisputeClosed,
    DisputeOpened,
    PaymentAttemptFailed,
    PaymentCancelled,
    PaymentEvent,
    PaymentSucceeded,
    WebhookEvent,
)
from licensing.domain.orders import DisputeOutcome, paid_in_full, refund_before_fulfilment
from licensing.domain.periods import rfc3339
from licensing.extensions import db
from licensing.services.order_kinds import handler_for
from licensing.services.orders import record_order_event, refresh_status, refund_payment
from licensing.services.transactions import commit, rollback

log = logging.getLogger(__name__)

APPLIED, DUPLICATE, IGNORED = "applied", "duplicate", "ignored"
FAILURE_MESSAGE_LENGTH = 500  # the column's
# The database keeps each event's id, not what became of it: the outcome is counted here
# (summed over gunicorn's workers); an event refused (bad signature) is a 400 of the route.
WEBHOOK_EVENTS = Counter(
    "licensing_stripe_webhook_events",
    "Verified Stripe webhook events by outcome: applied, duplicate or ignored.",
    ("outcome",),
)


@dataclass(frozen=True)
class Delivery:
    """One event being applied: the history names it, at `now`, through `gateway`."""

    actor: str
    gateway: PaymentGateway
    now: datetime


@dataclass(frozen=True)
class Receipt:
    """What Stripe is answered once an event's effects are committed."""

    outcome: str  # APPLIED, DUPLICATE or IGNORED
    received: bool = True


def receive_event(*, event: WebhookEvent, gateway: PaymentGateway, now: datetime) -> Receipt:
    """`handle_event`, answered as a receipt and counted by its outcome."""
    outcome = handle_event(event=event, gateway=gateway, now=now)
    WEBHOOK_EVENTS.labels(outcome).inc()
    return Receipt(outcome)


def handle_event(*, event: WebhookEvent, gateway: PaymentGateway, now: datetime) -> str:
    """Apply one verified event in one transaction; the same event id is applied only once.

    The event id is inserted first: a concurrent delivery of the same event waits on that
    row's unique index and then finds it, so its effects are never applied twice.
    """
    record_fact = ON_EVENT.get(type(event.payment))  # None: no payment event of ours
    if not _claim(event, now):
        return DUPLICATE
    order = _order_for(event) if record_fact is not None else None
    if record_fact is None or order is None:
        commit()  # remembered, so a redelivery is answered as a duplicate
        return IGNORED
    delivery = Delivery(actor=f"stripe:{event.id}", gateway=gateway, now=now)
    record_fact(order, event.payment, delivery)
    refresh_status(order, actor=delivery.actor, at=now)
    handler_for(order).follow_payment_facts(order, actor=delivery.actor, now=now)
    commit()
    return APPLIED


def _claim(event: WebhookEvent, now: datetime) -> bool:
    db.session.add(StripeEvent(id=event.id, type=event.type, received_at=now))
    try:
        db.session.flush()
    except IntegrityError:
        rollback()
        return False
    return True


def _order_for(event: WebhookEvent) -> Order | None:
    """The order an event is about, by PaymentIntent (or charge), locked for this event."""
    payment = event.payment
    assert payment is not None
    conditions = [Order.payment_intent_id == payment.intent_id] if payment.intent_id else []
    conditions += [Order.charge_id == payment.charge_id] if payment.charge_id else []
    if not conditions:
        return None
    order = db.session.execute(
        select(Order).where(or_(*conditions)).with_for_update()
    ).scalar_one_or_none()
    if order is None:
        log.info("Stripe event %s (%s) is for no order of ours", event.id, event.type)
    return order


def _on_succeeded(order: Order, paid: PaymentSucceeded, delivery: Delivery) -> None:
    """D7: the payment is recorded once; what it buys is its kind's to say, and only a
    payment of the whole price, in the order's currency, for an order staff have not
    cancelled (D20), buys anything."""
    if order.paid_at is None:
        order.paid_at = paid.at
        order.charge_id = paid.charge_id
        record_order_event(
            order, "paid", actor=delivery.actor, at=delivery.now, paid_at=rfc3339(paid.at)
        )
    if order.refund_reason is not None:
        return  # already given back by us: nothing more to issue or renew
    in_full = paid_in_full(
        price=order.price_amount,
        currency=order.currency,
        received=paid.amount,
        received_currency=paid.currency,
    )
    reason = refund_before_fulfilment(
        cancelled=order.cancelled_at is not None, paid_in_full=in_full
    ) or handler_for(order).apply_payment(order, actor=delivery.actor, now=delivery.now)
    if reason is not None and order.refunded_at is None:
        refund_payment(
            order, reason, gateway=delivery.gateway, actor=delivery.actor, now=delivery.now
        )


def _on_failed(order: Order, failed: PaymentAttemptFailed, delivery: Delivery) -> None:
    message = failed.reason[:FAILURE_MESSAGE_LENGTH]
    order.failed_at = order.failed_at or failed.at
    order.failure_message = message
    record_order_event(
        order, "payment_failed", actor=delivery.actor, at=delivery.now, message=message
    )


def _on_cancelled(order: Order, cancelled: PaymentCancelled, delivery: Delivery) -> None:
    # An intent staff cancelled (D20) is already recorded as such: it did not expire.
    if order.paid_at is None and order.expired_at is None and order.cancelled_at is None:
        order.expired_at = cancelled.at
        record_order_event(order, "payment_canceled", actor=delivery.actor, at=delivery.now)


def _on_refunded(order: Order, refunded: ChargeRefunded, delivery: Delivery) -> None:
    """D9: a full refund is a fact of the order; a partial one is only recorded."""
    record_order_event(
        order,
        "charge_refunded",
        actor=delivery.actor,
        at=delivery.now,
        amount_refunded=refunded.amount_refunded,
        full=refunded.full,
    )
    if refunded.full and order.refunded_at is None:
        order.refunded_at = refunded.at


def _on_dispute_opened(order: Order, opened: DisputeOpened, delivery: Delivery) -> None:
    """D9: a dispute holds what the order bought until it closes."""
    if order.dispute is None:
        order.dispute = DisputeOutcome.OPEN.value
    record_order_event(
        order, "dispute_opened", actor=delivery.actor, at=delivery.now, dispute_id=opened.dispute_id
    )


def _on_dispute_closed(order: Order, closed: DisputeClosed, delivery: Delivery) -> None:
    """D9: won, what the order bought stands again; lost, it is taken back."""
    order.dispute = (DisputeOutcome.WON if closed.won else DisputeOutcome.LOST).value
    record_order_event(
        order,
        "dispute_closed",
        actor=delivery.actor,
        at=delivery.now,
        outcome=order.dispute,
        dispute_id=closed.dispute_id,
    )


# The fact each payment event records on its order: by the event's type, never the order's kind.
ON_EVENT: dict[type[PaymentEvent], Callable[[Order, Any, Delivery], None]] = {
    PaymentSucceeded: _on_succeeded,
    PaymentAttemptFailed: _on_failed,
    PaymentCancelled: _on_cancelled,
    ChargeRefunded: _on_refunded,
    DisputeOpened: _on_dispute_opened,
    DisputeClosed: _on_dispute_closed,
}
