"""Paid extra work once the customer accepts a quote: an order of the `work` kind for its
amount, paid like a purchase (D12); the work completed and its month of warranty (R16); a
refund or a lost dispute that cancels the quote and ends its warranty (D20)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from licensing.adapters.models import Customer, Order, Quote
from licensing.adapters.payments import PaymentGateway
from licensing.domain.errors import Conflict, Invalid
from licensing.domain.orders import (
    OrderKind,
    OrderStatus,
    RefundReason,
    paid_too_late,
    payment_taken_back,
)
from licensing.domain.periods import rfc3339, rfc3339_or_none
from licensing.domain.quotes import (
    CANCELLED_BY_REFUND,
    QuoteStatus,
    may_be_accepted_again,
    warranty_ended_by_refund,
    warranty_until,
)
from licensing.extensions import db
from licensing.services.orders import open_order
from licensing.services.quotes import move_quote, quote_for_change, record_event
from licensing.services.transactions import commit


def accept_quote(quote_id: int, *, gateway: PaymentGateway, actor: str, now: datetime) -> Quote:
    """The customer accepts: an order of kind `work` for the amount, paid like a purchase.

    An accepted quote whose order expired unpaid, or was cancelled (D20), may be accepted
    again (a new order, the same price) until its validity ends (D12); otherwise acceptance
    follows the lifecycle.
    """
    quote = quote_for_change(quote_id, now)
    if quote.status == QuoteStatus.ACCEPTED.value and _order_expired(quote):
        if not may_be_accepted_again(quote.valid_until, now):
            raise Conflict(
                "The quote's order lapsed unpaid and its 14 days are over: it cannot be "
                "accepted again.",
                code="QUOTE_STATE",
                extra={"current_state": quote.status},
            )
        record_event(quote, "accepted_again", actor=actor, at=now, previous_order_id=quote.order_id)
    else:
        move_quote(quote, QuoteStatus.ACCEPTED, actor=actor, at=now)
        quote.accepted_at = now
    customer = db.session.get(Customer, quote.customer_id)
    assert customer is not None
    order = open_order(
        kind=OrderKind.WORK,
        customer=customer,
        price=quote.amount,
        list_price=quote.amount,
        currency=quote.currency,
        gateway=gateway,
        actor=actor,
        now=now,
        license_id=quote.license_id,
    )
    quote.order_id = order.id
    commit()
    return quote


def _order_expired(quote: Quote) -> bool:
    order = db.session.get(Order, quote.order_id) if quote.order_id else None
    unpaid_and_over = (OrderStatus.EXPIRED.value, OrderStatus.CANCELLED.value)
    return order is not None and order.status in unpaid_and_over


def mark_paid(order: Order, *, actor: str, now: datetime) -> bool:
    """The work order was paid: its quote is paid. False when the payment is not for the
    quote's current order (the caller refunds it)."""
    quote = db.session.execute(
        select(Quote).where(Quote.order_id == order.id).with_for_update()
    ).scalar_one_or_none()
    if quote is None or quote.status != QuoteStatus.ACCEPTED.value:
        return (
            quote is not None
            and quote.status != QuoteStatus.ACCEPTED.value
            and quote.paid_at is not None
        )
    move_quote(quote, QuoteStatus.PAID, actor=actor, at=now, order_id=order.id)
    quote.paid_at = order.paid_at
    return True


class WorkOrders:
    """The `work` kind: accepting a quote opens it at the quote's amount (D12), and its
    payment marks the quote paid. A refund or a lost dispute cancels the quote it paid and
    ends its warranty (D20)."""

    def open(self, *, gateway: PaymentGateway, actor: str, now: datetime, **request: Any) -> Order:
        """`quote_id`: the quote is accepted (see `accept_quote`), which opens its order."""
        quote = accept_quote(**request, gateway=gateway, actor=actor, now=now)
        order = db.session.get(Order, quote.order_id)
        assert order is not None
        return order

    def apply_payment(self, order: Order, *, actor: str, now: datetime) -> RefundReason | None:
        """The quote is paid; a late payment (D8) or one for a superseded order goes back."""
        assert order.paid_at is not None
        if paid_too_late(
            paid_at=order.paid_at,
            order_expires_at=order.expires_at,
            expired=order.expired_at is not None,
        ):
            return RefundReason.ORDER_EXPIRED
        return None if mark_paid(order, actor=actor, now=now) else RefundReason.QUOTE_STALE

    def follow_payment_facts(self, order: Order, *, actor: str, now: datetime) -> None:
        """D20: once the money is back, the quote it paid is cancelled and its warranty ends."""
        if payment_taken_back(order.facts):
            cancel_refunded_work(order, actor=actor, now=now)

    def shown(self, order: Order) -> Mapping[str, object]:
        """Nothing of its own: the quote names its order, not the other way round."""
        return {}


WORK = WorkOrders()


def cancel_refunded_work(order: Order, *, actor: str, now: datetime) -> None:
    """D20: the quote this order paid (still paid or completed) is cancelled, its warranty
    ended at `now`; once, however many events say the money went back."""
    quote = db.session.execute(
        select(Quote).where(Quote.order_id == order.id).with_for_update()
    ).scalar_one_or_none()
    if quote is None or QuoteStatus(quote.status) not in CANCELLED_BY_REFUND:
        return
    ends = warranty_ended_by_refund(quote.warranty_starts_at, quote.warranty_until, now)
    record_event(
        quote,
        QuoteStatus.CANCELLED.value,
        actor=actor,
        at=now,
        old=quote.status,
        order_id=order.id,
        refund_reason=order.refund_reason,
        warranty_until=rfc3339_or_none(ends),
    )
    quote.status = QuoteStatus.CANCELLED.value
    quote.closed_at, quote.warranty_until = now, ends


def complete_quote(
    quote_id: int, *, moved_to_hosting_at: datetime | None, actor: str, now: datetime
) -> Quote:
    """R16: the customer accepts all the work; a month of warranty starts then, or from the
    day the site moved to the official hosting when that is given."""
    quote = quote_for_change(quote_id, now)
    if moved_to_hosting_at is not None and moved_to_hosting_at > now:
        raise Invalid.field(
            "moved_to_hosting_at", "The move to the official hosting cannot be in the future."
        )
    starts = moved_to_hosting_at or now
    move_quote(
        quote, QuoteStatus.COMPLETED, actor=actor, at=now, warranty_starts_at=rfc3339(starts)
    )
    quote.completed_at = now
    quote.warranty_starts_at, quote.warranty_until = starts, warranty_until(starts)
    commit()
    return quote
