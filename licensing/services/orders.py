"""Orders: creating a purchase with its PaymentIntent (D7, D2), reading one, expiring (D8)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from licensing.adapters.models import Customer, Edition, License, Order, OrderEvent
from licensing.adapters.payments import PaymentGateway
from licensing.domain.domains import normalize_domain
from licensing.domain.errors import Invalid, NotFound
from licensing.domain.orders import OrderKind, OrderStatus, expires_at, order_status
from licensing.domain.periods import rfc3339
from licensing.extensions import db
from licensing.services.licenses import ensure_domain_free
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


def create_purchase_order(
    *,
    customer_id: int,
    edition: str,
    domain: str,
    gateway: PaymentGateway,
    actor: str,
    now: datetime,
) -> Order:
    """D7: an order for a new license at the edition's list price now (D2, D8)."""
    domain = normalize_domain(domain)
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise Invalid.field("customer_id", "There is no such customer.", code="CUSTOMER_NOT_FOUND")
    catalog = db.session.get(Edition, edition)
    if catalog is None:
        raise Invalid.field("edition", "There is no such edition.", code="EDITION_NOT_FOUND")
    ensure_domain_free(domain)
    order = open_order(
        kind=OrderKind.PURCHASE,
        customer=customer,
        price=catalog.price_amount,
        list_price=catalog.price_amount,
        currency=catalog.currency,
        gateway=gateway,
        actor=actor,
        now=now,
        edition_code=catalog.code,
        domain=domain,
    )
    commit()
    return order


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
