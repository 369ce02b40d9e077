"""The actions on an order once it is open (D20): staff give a paid order's money back in
full, and an order nobody will pay is cancelled, its PaymentIntent with it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update

from licensing.adapters.models import License, Order
from licensing.adapters.payments import PaymentGateway, RefundStatus
from licensing.domain.errors import Conflict, NotFound, PaymentFailed
from licensing.domain.orders import (
    OrderStatus,
    RefundReason,
    ensure_cancellable,
    ensure_refundable,
)
from licensing.extensions import db
from licensing.services.licenses import record_event
from licensing.services.order_kinds import handler_for
from licensing.services.orders import record_order_event, record_refund, refresh_status
from licensing.services.transactions import commit


def _locked_order(order_id: int) -> Order:
    """The order, locked for this request: a webhook or another request on it waits."""
    order = db.session.execute(
        select(Order).where(Order.id == order_id).with_for_update()
    ).scalar_one_or_none()
    if order is None:
        raise NotFound(f"There is no order with the id {order_id}.", code="ORDER_NOT_FOUND")
    return order


def refund_order(
    order_id: int, *, note: str, gateway: PaymentGateway, actor: str, now: datetime
) -> Order:
    """D20: give a paid order's whole payment back through Stripe, and take back what it
    bought, as its kind's handler says (D9); committed.

    Asked twice, it refunds once: the request claims the refund in the database before Stripe
    is asked (`_claim_refund`), a refund already made or on its way answers the order as it
    is, and Stripe's idempotency key is the order's, so a retry after a lost answer finds
    the same refund. The effect is applied here when Stripe answers that the refund
    succeeded, and again (a no-op) when `charge.refunded` arrives; a pending refund takes
    effect with that event. Stripe unreachable (502) or refusing (402) leaves everything as
    it was.
    """
    order = _locked_order(order_id)
    claimed = _claim_refund(order)
    db.session.refresh(order)  # as the claim left it (SQLite read it before any lock)
    if not claimed:
        return order
    ensure_refundable(OrderStatus(order.status))
    refund = gateway.refund_payment_intent(
        order.payment_intent_id or "",
        metadata={"order_id": str(order.id), "reason": RefundReason.REQUESTED.value},
        idempotency_key=f"order-{order.payment_key or order.id}-refund-requested",
        charge_id=order.charge_id,
    )
    if refund.status is RefundStatus.FAILED:
        raise PaymentFailed("The payment provider could not make the refund.")
    order.refund_reason = RefundReason.REQUESTED.value
    why = {"reason": RefundReason.REQUESTED.value, "note": note}
    record_refund(order, refund, actor=actor, now=now, **why)
    if order.license_id is not None:  # D20: the license's history says who asked and why
        license = db.session.get(License, order.license_id)
        assert license is not None
        record_event(
            license,
            "refund_requested",
            actor=actor,
            at=now,
            order_id=order.id,
            refund_id=refund.id,
            **why,
        )
    refresh_status(order, actor=actor, at=now)
    handler_for(order).follow_payment_facts(order, actor=actor, now=now)
    commit()
    return order


def _claim_refund(order: Order) -> bool:
    """Whether this request makes the refund: it marks the order `requested` unless it is
    refunded or asked for already. The write is the lock SQLite lacks (FOR UPDATE is a no-op
    there): a second request's claim waits for the first to commit, then claims nothing. A
    request that fails (502, 402, 409) rolls its claim back with the rest."""
    claim = (
        update(Order)
        .where(
            Order.id == order.id,
            Order.refunded_at.is_(None),
            or_(Order.refund_reason.is_(None), Order.refund_reason != RefundReason.REQUESTED),
        )
        .values(refund_reason=RefundReason.REQUESTED.value)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(claim).rowcount == 1


def cancel_order(order_id: int, *, gateway: PaymentGateway, actor: str, now: datetime) -> Order:
    """D20: an order awaiting payment is cancelled with its PaymentIntent, so that it can no
    longer be paid; committed. A payment that arrives anyway is refunded
    (`refund_before_fulfilment`).

    The cancellation is claimed in the database, then Stripe is asked, the order locked
    meanwhile (a payment's webhook waits): unreachable, 502 and nothing changed; an intent
    that has already taken (or is taking) its payment is not cancelled, and the order stays
    as it is for the payment's webhook to decide (409 ORDER_STATE).
    """
    order = _locked_order(order_id)
    claimed = _claim_cancellation(order, now)
    db.session.refresh(order)
    if not claimed:
        ensure_cancellable(OrderStatus(order.status))
    if order.payment_intent_id and not gateway.cancel_payment_intent(order.payment_intent_id):
        raise Conflict(
            "The payment provider has taken, or is taking, this order's payment; its webhook "
            "decides the order, which can no longer be cancelled.",
            code="ORDER_STATE",
            extra={"current_state": order.status},
        )
    record_order_event(order, "cancelled", actor=actor, at=now)
    refresh_status(order, actor=actor, at=now)
    commit()
    return order


def _claim_cancellation(order: Order, now: datetime) -> bool:
    """Whether this request cancels the order: it is marked cancelled only while it awaits
    its payment. Like `_claim_refund`, the write is SQLite's lock too: a payment's webhook,
    which writes first as well (its event id), is applied wholly before or wholly after."""
    claim = (
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.AWAITING_PAYMENT)
        .values(cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(claim).rowcount == 1
