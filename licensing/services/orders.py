"""Orders of every kind: opening one with its PaymentIntent (D7, D2), its history and
status, giving its payment back, showing it, and expiring it (D8)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from licensing.adapters.models import Customer, License, Order, OrderEvent
from licensing.adapters.payments import PaymentGateway, RefundRef, RefundStatus
from licensing.domain.errors import NotFound, PaymentFailed
from licensing.domain.money import Money
from licensing.domain.orders import (
    OrderKind,
    OrderStatus,
    RefundReason,
    expires_at,
    order_status,
)
from licensing.domain.periods import rfc3339
from licensing.extensions import db
from licensing.services.history import HistoryLine, history_lines
from licensing.services.transactions import commit, flush


def record_order_event(
    order: Order, event_type: str, /, *, actor: str, at: datetime, **data: Any
) -> OrderEvent:
    """Append to the order's history (never updated or deleted)."""
    event = OrderEvent(order_id=order.id, type=event_type, actor=actor, at=at, data=data)
    db.session.add(event)
    return event


def refresh_status(order: Order, *, actor: str, at: datetime) -> None:
    """Store the status the payment facts imply (D7 to D9), with history when it changes."""
    status = order_status(order.facts).value
    if status != order.status:
        record_order_event(
            order, "status_changed", actor=actor, at=at, old=order.status, new=status
        )
        order.status = status


def open_order(
    *,
    kind: OrderKind,
    customer: Customer,
    price: int,
    list_price: int,
    currency: str,
    gateway: PaymentGateway,
    actor: str,
    now: datetime,
    **fields: Any,
) -> Order:
    """An order awaiting payment for 24 hours (D8) at a price locked now (D2), with its
    PaymentIntent and the first line of its history; committed by the caller's use case.

    The PaymentIntent is created before the commit with an idempotency key of the order's
    own, so a Stripe failure leaves no order (502) and a retried call no second intent.
    """
    order = Order(
        kind=kind.value,
        status=OrderStatus.AWAITING_PAYMENT.value,
        customer_id=customer.id,
        price_amount=price,
        list_price_amount=list_price,
        currency=currency,
        created_at=now,
        expires_at=expires_at(now),
        created_by=actor,
        **fields,
    )
    db.session.add(order)
    flush()
    attach_payment_intent(order, customer, gateway)
    shown = {k: rfc3339(v) if isinstance(v, datetime) else v for k, v in fields.items()}
    if "license_id" in shown:  # D6: history names a license by its key, never by its id
        license_id = shown.pop("license_id")
        license = db.session.get(License, license_id) if license_id is not None else None
        shown["license_key"] = license.key if license is not None else None
    record_order_event(
        order,
        "created",
        actor=actor,
        at=now,
        kind=kind.value,
        price=price,
        list_price=list_price,
        currency=currency,
        payment_intent_id=order.payment_intent_id,
        **shown,
    )
    return order


def attach_payment_intent(order: Order, customer: Customer, gateway: PaymentGateway) -> None:
    if customer.stripe_customer_id is None:
        fingerprint = hashlib.sha256(f"{customer.id}:{customer.email}".encode()).hexdigest()
        customer.stripe_customer_id = gateway.create_customer(
            email=customer.email, name=customer.name, idempotency_key=f"customer-{fingerprint}"
        )
    order.payment_key = order.payment_key or uuid.uuid4().hex
    intent = gateway.create_payment_intent(
        amount=order.price_amount,
        currency=order.currency,
        customer=customer.stripe_customer_id,
        metadata={"order_id": str(order.id), "kind": order.kind},
        idempotency_key=f"order-{order.payment_key}-payment-intent",
    )
    order.payment_intent_id = intent.id
    order.client_secret = intent.client_secret


def refund_payment(
    order: Order, reason: RefundReason, *, gateway: PaymentGateway, actor: str, now: datetime
) -> None:
    """Give the whole payment back through Stripe; the order records why.

    If Stripe refuses (already refunded or disputed), the refusal is recorded for finance and
    the caller goes on: a webhook answering an error would only make Stripe retry for days.
    """
    order.refund_reason = reason.value
    try:
        refund = gateway.refund_payment_intent(
            order.payment_intent_id or "",
            metadata={"order_id": str(order.id), "reason": reason.value},
            idempotency_key=f"order-{order.payment_key or order.id}-refund",
            charge_id=order.charge_id,
        )
    except PaymentFailed as refused:
        record_order_event(
            order, "refund_refused", actor=actor, at=now, reason=reason.value, detail=refused.detail
        )
        return
    record_refund(order, refund, actor=actor, now=now, reason=reason.value)


def record_refund(
    order: Order, refund: RefundRef, *, actor: str, now: datetime, **data: Any
) -> None:
    """D9: the order's history keeps Stripe's answer; a refund that has succeeded is a fact
    of the order at once, a pending one only when `charge.refunded` says the money went."""
    event_type = (
        "refunded" if refund.status is RefundStatus.SUCCEEDED else "refund_" + refund.status
    )
    record_order_event(order, event_type, actor=actor, at=now, refund_id=refund.id, **data)
    if refund.status is RefundStatus.SUCCEEDED and order.refunded_at is None:
        order.refunded_at = now


@dataclass(frozen=True)
class PaymentView:
    provider: str
    payment_intent_id: str | None
    client_secret: str | None


@dataclass(frozen=True)
class OrderView:
    """An order as it is shown: what every order has, then the fields of its kind (each
    kind's handler says which; a kind that shows none leaves them None)."""

    id: int
    kind: str
    status: str
    customer_id: int
    edition_code: str | None
    license_key: str | None
    price: Money
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    refund_reason: str | None
    failure_message: str | None
    payment: PaymentView
    history: tuple[HistoryLine, ...]
    domain: str | None = None
    rate: str | None = None
    percent: int | None = None
    list_price: Money | None = None


def order_view(order: Order, *, secret_shown: bool, **of_its_kind: Any) -> OrderView:
    """The order (loaded by `get_order`) as shown; the PaymentIntent's client secret only
    when `secret_shown` (the paying side, while the order can be paid: D8)."""
    return OrderView(
        id=order.id,
        kind=order.kind,
        status=order.status,
        customer_id=order.customer_id,
        edition_code=order.edition_code,
        license_key=order.license.key if order.license is not None else None,
        price=Money(order.price_amount, order.currency),
        created_at=order.created_at,
        expires_at=order.expires_at,
        paid_at=order.paid_at,
        refund_reason=order.refund_reason,
        failure_message=order.failure_message,
        payment=PaymentView(
            provider="stripe",
            payment_intent_id=order.payment_intent_id,
            client_secret=order.client_secret if secret_shown else None,
        ),
        history=history_lines(order.history),
        **of_its_kind,
    )


def get_order(order_id: int) -> Order:
    """An order with its history, oldest event first."""
    order = db.session.execute(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.history), selectinload(Order.license))
    ).scalar_one_or_none()
    if order is None:
        raise NotFound(f"There is no order with the id {order_id}.", code="ORDER_NOT_FOUND")
    return order


RETRY_EXPIRY = timedelta(hours=1)  # an intent Stripe would not cancel is looked at again


@dataclass(frozen=True)
class ExpiryRun:
    examined: int
    expired: list[int]


def expire_orders(*, gateway: PaymentGateway, now: datetime, limit: int = 100) -> ExpiryRun:
    """D8: cancel the PaymentIntents of unpaid orders past their 24 hours and mark them expired.

    Rows are locked with SKIP LOCKED (PostgreSQL), so several machines can run this at once
    without cancelling an order twice. An intent Stripe will not cancel (it succeeded or is
    processing) is left alone: its webhook decides, and a late payment is refunded (D8).
    """
    unpaid = (OrderStatus.AWAITING_PAYMENT.value, OrderStatus.FAILED.value)
    due = (
        db.session.execute(
            select(Order)
            .where(
                Order.status.in_(unpaid),
                Order.expires_at < now,
                or_(
                    Order.expiry_attempted_at.is_(None),
                    Order.expiry_attempted_at < now - RETRY_EXPIRY,
                ),
            )
            .order_by(Order.expiry_attempted_at.asc().nulls_first(), Order.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    expired = []
    for order in due:
        order.expiry_attempted_at = now
        if order.payment_intent_id and not gateway.cancel_payment_intent(order.payment_intent_id):
            record_order_event(order, "expiry_deferred", actor="system:orders-expire", at=now)
            continue
        order.expired_at = now
        record_order_event(order, "expired", actor="system:orders-expire", at=now)
        refresh_status(order, actor="system:orders-expire", at=now)
        expired.append(order.id)
    commit()
    return ExpiryRun(examined=len(due), expired=expired)
