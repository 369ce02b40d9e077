"""Stripe events applied exactly once: payments issue licenses, refunds and disputes act."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from licensing.adapters.models import License, Order, Renewal, StripeEvent
from licensing.adapters.payments import PaymentGateway, WebhookEvent
from licensing.domain.errors import Conflict, PaymentFailed
from licensing.domain.licenses import Channel, LicenseStatus
from licensing.domain.notices import NoticeType
from licensing.domain.orders import (
    DisputeOutcome,
    OrderKind,
    RefundReason,
    license_status,
    paid_in_full,
    refund_instead_of_issue,
)
from licensing.domain.periods import rfc3339
from licensing.extensions import db
from licensing.services import notices, quotes, renewals
from licensing.services.licenses import NewLicense, add_license, domain_is_free, record_event
from licensing.services.orders import record_order_event, refresh_status

log = logging.getLogger(__name__)

APPLIED, DUPLICATE, IGNORED = "applied", "duplicate", "ignored"
Handler = Callable[[Order, WebhookEvent, PaymentGateway, datetime], None]


def handle_event(*, event: WebhookEvent, gateway: PaymentGateway, now: datetime) -> str:
    """Apply one verified event in one transaction; the same event id is applied only once.

    The event id is inserted first: a concurrent delivery of the same event waits on that
    row's unique index and then finds it, so its effects are never applied twice.
    """
    handler = HANDLERS.get(event.type)
    if not _claim(event, now):
        return DUPLICATE
    order = _order_for(event) if handler else None
    if handler is None or order is None:
        db.session.commit()  # remembered, so a redelivery is answered as a duplicate
        return IGNORED
    handler(order, event, gateway, now)
    refresh_status(order, actor=_actor(event), at=now)
    if order.kind == OrderKind.PURCHASE.value:
        _apply_license_status(order, event, now)
    elif order.kind == OrderKind.RENEWAL.value and _renewal_taken_back(order):
        renewals.take_back_renewal(order, actor=_actor(event), now=now)
    db.session.commit()
    return APPLIED


def _claim(event: WebhookEvent, now: datetime) -> bool:
    db.session.add(StripeEvent(id=event.id, type=event.type, received_at=now))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _actor(event: WebhookEvent) -> str:
    return f"stripe:{event.id}"


def _order_for(event: WebhookEvent) -> Order | None:
    """The order an event is about, by PaymentIntent (or charge), locked for this event."""
    obj = event.object
    if event.type.startswith("payment_intent."):
        intent_id, charge_id = obj.get("id"), None
    else:  # a charge or a dispute: both name their charge and PaymentIntent
        intent_id = obj.get("payment_intent")
        charge_id = obj.get("id") if obj.get("object") == "charge" else obj.get("charge")
    conditions = [Order.payment_intent_id == intent_id] if intent_id else []
    conditions += [Order.charge_id == charge_id] if charge_id else []
    if not conditions:
        return None
    order = db.session.execute(
        select(Order).where(or_(*conditions)).with_for_update()
    ).scalar_one_or_none()
    if order is None:
        log.info("Stripe event %s (%s) is for no order of ours", event.id, event.type)
    return order


def _on_succeeded(
    order: Order, event: WebhookEvent, gateway: PaymentGateway, now: datetime
) -> None:
    if order.paid_at is None:
        order.paid_at = event.created
        order.charge_id = _charge_of(event.object)
        record_order_event(
            order, "paid", actor=_actor(event), at=now, paid_at=rfc3339(event.created)
        )
    if order.refund_reason is not None:
        return  # already given back by us: nothing more to issue or renew
    if not _paid_in_full(order, event.object):
        if order.refunded_at is None:
            _refund(order, RefundReason.AMOUNT_MISMATCH, event, gateway, now)
        return
    if order.kind == OrderKind.PURCHASE.value and order.license_id is None:
        _fulfil_purchase(order, event, gateway, now)
    elif order.kind == OrderKind.WORK.value:
        _fulfil_work(order, event, gateway, now)
    elif order.kind == OrderKind.RENEWAL.value and not _renewal_recorded(order):
        reason = renewals.apply_paid_renewal(order, actor=_actor(event), now=now)
        if reason is not None and order.refunded_at is None:
            _refund(order, reason, event, gateway, now)


def _fulfil_work(order: Order, event: WebhookEvent, gateway: PaymentGateway, now: datetime) -> None:
    """The quote is paid; a late payment (D8) or one for a superseded order goes back."""
    assert order.paid_at is not None
    late = order.expired_at is not None or order.paid_at > order.expires_at
    reason = RefundReason.ORDER_EXPIRED if late else None
    if reason is None and not quotes.mark_paid(order, actor=_actor(event), now=now):
        reason = RefundReason.QUOTE_STALE
    if reason is not None and order.refunded_at is None:
        _refund(order, reason, event, gateway, now)


def _renewal_recorded(order: Order) -> bool:
    found = db.session.execute(select(Renewal.id).where(Renewal.order_id == order.id)).first()
    return found is not None


def _paid_in_full(order: Order, intent: Mapping[str, Any]) -> bool:
    received = intent.get("amount_received", intent.get("amount"))
    return paid_in_full(
        price=order.price_amount,
        currency=order.currency,
        received=received if isinstance(received, int) else None,
        received_currency=intent.get("currency"),
    )


def _fulfil_purchase(
    order: Order, event: WebhookEvent, gateway: PaymentGateway, now: datetime
) -> None:
    """D7: issue the license in this transaction, or give the money back (D8, D4)."""
    assert order.paid_at is not None and order.domain is not None
    reason = refund_instead_of_issue(
        paid_at=order.paid_at,
        order_expires_at=order.expires_at,
        expired=order.expired_at is not None,
        domain_free=domain_is_free(order.domain),
    )
    license = _issue_license(order, event, now) if reason is None else None
    if license is not None:
        order.license_id = license.id
        order.license = license
        record_order_event(
            order, "license_issued", actor=_actor(event), at=now, license_key=license.key
        )
    elif order.refunded_at is None:
        _refund(order, reason or RefundReason.DOMAIN_TAKEN, event, gateway, now)


def _issue_license(order: Order, event: WebhookEvent, now: datetime) -> License | None:
    """The license, in a savepoint: if another license takes the domain at this very moment
    (D4, the unique index), the payment is kept on record and refunded instead."""
    assert order.paid_at is not None and order.domain is not None
    new = NewLicense(
        customer_id=order.customer_id,
        edition=order.edition_code,
        domain=order.domain,
        channel=Channel.DIRECT,
        purchased_at=order.paid_at,
    )
    try:
        with db.session.begin_nested():
            return add_license(
                new=new,
                source="purchase",
                actor=_actor(event),
                now=max(now, order.paid_at),
                order_id=order.id,
            )
    except Conflict as conflict:
        if conflict.code != "DOMAIN_TAKEN":
            raise
        return None


def _refund(
    order: Order, reason: RefundReason, event: WebhookEvent, gateway: PaymentGateway, now: datetime
) -> None:
    """Give the whole payment back through Stripe; the order records why.

    If Stripe refuses (already refunded or disputed), the refusal is recorded for finance and
    the event still succeeds: answering an error would only make Stripe retry for days.
    """
    order.refund_reason = reason.value
    try:
        refund_id = gateway.refund_payment_intent(
            order.payment_intent_id or "",
            metadata={"order_id": str(order.id), "reason": reason.value},
            idempotency_key=f"order-{order.payment_key or order.id}-refund",
        )
    except PaymentFailed as refused:
        record_order_event(
            order,
            "refund_refused",
            actor=_actor(event),
            at=now,
            reason=reason.value,
            detail=refused.detail,
        )
        return
    order.refunded_at = now
    record_order_event(
        order, "refunded", actor=_actor(event), at=now, reason=reason.value, refund_id=refund_id
    )


def _charge_of(intent: Mapping[str, Any]) -> str | None:
    latest = intent.get("latest_charge")
    if isinstance(latest, Mapping):
        return latest.get("id")
    return latest


def _on_failed(order: Order, event: WebhookEvent, gateway: PaymentGateway, now: datetime) -> None:
    error = event.object.get("last_payment_error") or {}
    message = str(error.get("message") or error.get("code") or "the payment failed")[:500]
    order.failed_at = order.failed_at or event.created
    order.failure_message = message
    record_order_event(order, "payment_failed", actor=_actor(event), at=now, message=message)


def _on_canceled(order: Order, event: WebhookEvent, gateway: PaymentGateway, now: datetime) -> None:
    if order.paid_at is None and order.expired_at is None:
        order.expired_at = event.created
        record_order_event(order, "payment_canceled", actor=_actor(event), at=now)


def _on_refunded(order: Order, event: WebhookEvent, gateway: PaymentGateway, now: datetime) -> None:
    """D9: a full refund revokes; a partial one is only recorded."""
    charge = event.object
    full = bool(charge.get("refunded")) or charge.get("amount_refunded") == charge.get("amount")
    record_order_event(
        order,
        "charge_refunded",
        actor=_actor(event),
        at=now,
        amount_refunded=charge.get("amount_refunded"),
        full=full,
    )
    if full and order.refunded_at is None:
        order.refunded_at = event.created


def _on_dispute_created(
    order: Order, event: WebhookEvent, gateway: PaymentGateway, now: datetime
) -> None:
    """D9: a dispute suspends the license until it closes."""
    if order.dispute is None:
        order.dispute = DisputeOutcome.OPEN.value
    record_order_event(
        order, "dispute_opened", actor=_actor(event), at=now, dispute_id=event.object.get("id")
    )


def _on_dispute_closed(
    order: Order, event: WebhookEvent, gateway: PaymentGateway, now: datetime
) -> None:
    """D9: won, the license is active again; lost, it is revoked."""
    lost = event.object.get("status") == "lost"
    order.dispute = (DisputeOutcome.LOST if lost else DisputeOutcome.WON).value
    record_order_event(
        order,
        "dispute_closed",
        actor=_actor(event),
        at=now,
        outcome=order.dispute,
        dispute_id=event.object.get("id"),
    )


def _renewal_taken_back(order: Order) -> bool:
    """D9: a refunded renewal, or one whose dispute was lost, gives its year back."""
    return order.refunded_at is not None or order.dispute == DisputeOutcome.LOST.value


def _apply_license_status(order: Order, event: WebhookEvent, now: datetime) -> None:
    """The license follows its order's payment facts (D9), with history when it changes."""
    if order.license_id is None:
        return
    license = db.session.get(License, order.license_id, with_for_update=True)
    assert license is not None
    status = license_status(order.facts, LicenseStatus(license.status))
    if license.status == status.value:
        return
    record_event(
        license,
        "status_changed",
        actor=_actor(event),
        at=now,
        old=license.status,
        new=status.value,
        order_id=order.id,
    )
    license.status = status.value
    if status is LicenseStatus.REVOKED:
        notices.emit(license, NoticeType.LICENSE_REVOKED, "revoked", now=now, order_id=order.id)


HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": _on_succeeded,
    "payment_intent.payment_failed": _on_failed,
    "payment_intent.canceled": _on_canceled,
    "charge.refunded": _on_refunded,
    "charge.dispute.created": _on_dispute_created,
    "charge.dispute.closed": _on_dispute_closed,
}
