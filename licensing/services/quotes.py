"""Paid extra work: quotes from draft to the end of warranty, paid through orders of the
`work` kind (R14-R16, D12)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from licensing.adapters.models import Customer, Order, Quote, QuoteEvent, QuoteLine
from licensing.adapters.pagination import Page
from licensing.adapters.payments import PaymentGateway
from licensing.domain.errors import Conflict, Invalid, NotFound
from licensing.domain.money import CURRENCY, Money
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
    SERVICES_OUTSIDE_SUPPORT,
    QuoteStatus,
    Service,
    WorkCategory,
    amount_for,
    ensure_transition,
    has_lapsed,
    valid_until,
    warranty_ended_by_refund,
    warranty_until,
)
from licensing.extensions import db
from licensing.services.accounts import get_customer
from licensing.services.history import HistoryLine, history_lines
from licensing.services.licenses import find_license
from licensing.services.orders import open_order
from licensing.services.transactions import commit

SYSTEM = "system:quotes"


@dataclass(frozen=True)
class NewLine:
    category: WorkCategory
    description: str
    quarters: int
    service: str | None = None


def _record(quote: Quote, event_type: str, *, actor: str, at: datetime, **data: Any) -> None:
    db.session.add(QuoteEvent(quote_id=quote.id, type=event_type, actor=actor, at=at, data=data))


def _move(quote: Quote, target: QuoteStatus, *, actor: str, at: datetime, **data: Any) -> None:
    """Every state change goes through the lifecycle's table, and into the history."""
    ensure_transition(QuoteStatus(quote.status), target)
    _record(quote, target.value, actor=actor, at=at, old=quote.status, **data)
    quote.status = target.value


def _set_lines(quote: Quote, lines: list[NewLine]) -> None:
    quote.lines = [
        QuoteLine(
            position=n,
            category=WorkCategory(line.category).value,
            service=line.service,
            description=line.description,
            quarters=line.quarters,
        )
        for n, line in enumerate(lines)
    ]
    quote.total_quarters = sum(line.quarters for line in lines)
    quote.amount = amount_for(quote.total_quarters, quote.rate_per_hour)


def create_quote(
    *,
    customer_id: int,
    lines: list[NewLine],
    rate_per_hour: int,
    actor: str,
    now: datetime,
    license_key: str | None = None,
) -> Quote:
    """D12: a draft; the hourly rate is snapshotted from configuration now."""
    get_customer(customer_id)
    license = None
    if license_key is not None:
        license = find_license(license_key)
        if license.customer_id != customer_id:
            raise Invalid.field("license_key", "This license belongs to another customer.")
    quote = Quote(
        customer_id=customer_id,
        license_id=license.id if license else None,
        status=QuoteStatus.DRAFT.value,
        rate_per_hour=rate_per_hour,
        currency=CURRENCY,
        created_at=now,
        created_by=actor,
    )
    _set_lines(quote, lines)
    db.session.add(quote)
    db.session.flush()
    _record(quote, "created", actor=actor, at=now, amount=quote.amount, hours=quote.hours)
    commit()
    return quote


def get_quote(quote_id: int, *, lock: bool = False) -> Quote:
    stmt = (
        select(Quote)
        .where(Quote.id == quote_id)
        .options(selectinload(Quote.history), selectinload(Quote.license))
    )
    quote = db.session.execute(
        stmt.with_for_update(of=Quote) if lock else stmt
    ).scalar_one_or_none()
    if quote is None:
        raise NotFound(f"There is no quote with the id {quote_id}.", code="QUOTE_NOT_FOUND")
    return quote


@dataclass(frozen=True)
class QuoteLineView:
    category: str
    service: str | None
    description: str
    quarters: int
    hours: float
    amount: Money  # D12: its hours at the quote's rate, exactly


@dataclass(frozen=True)
class QuoteView:
    """A quote as it is shown, its amounts in money and its history line by line."""

    id: int
    status: str
    customer_id: int
    license_key: str | None
    lines: tuple[QuoteLineView, ...]
    hours: float
    rate_per_hour: Money
    amount: Money
    created_at: datetime
    sent_at: datetime | None
    valid_until: datetime | None
    accepted_at: datetime | None
    order_id: int | None
    paid_at: datetime | None
    completed_at: datetime | None
    warranty_starts_at: datetime | None
    warranty_until: datetime | None
    history: tuple[HistoryLine, ...]


def show_quote(quote_id: int, *, now: datetime) -> QuoteView:
    """D12: a sent quote past its validity is shown as expired, before any change stores it
    so (`_for_change`)."""
    quote = get_quote(quote_id)
    lapsed = has_lapsed(QuoteStatus(quote.status), quote.valid_until, now)
    money = lambda amount: Money(amount, quote.currency)  # noqa: E731
    return QuoteView(
        id=quote.id,
        status=QuoteStatus.EXPIRED.value if lapsed else quote.status,
        customer_id=quote.customer_id,
        license_key=quote.license.key if quote.license is not None else None,
        lines=tuple(
            QuoteLineView(
                category=line.category,
                service=line.service,
                description=line.description,
                quarters=line.quarters,
                hours=line.hours,
                amount=money(amount_for(line.quarters, quote.rate_per_hour)),
            )
            for line in quote.lines
        ),
        hours=quote.hours,
        rate_per_hour=money(quote.rate_per_hour),
        amount=money(quote.amount),
        created_at=quote.created_at,
        sent_at=quote.sent_at,
        valid_until=quote.valid_until,
        accepted_at=quote.accepted_at,
        order_id=quote.order_id,
        paid_at=quote.paid_at,
        completed_at=quote.completed_at,
        warranty_starts_at=quote.warranty_starts_at,
        warranty_until=quote.warranty_until,
        history=history_lines(quote.history),
    )


def _for_change(quote_id: int, now: datetime) -> Quote:
    """The quote, locked; a sent quote past its validity becomes expired first (D12)."""
    quote = get_quote(quote_id, lock=True)
    if has_lapsed(QuoteStatus(quote.status), quote.valid_until, now):
        _move(quote, QuoteStatus.EXPIRED, actor=SYSTEM, at=now)
        quote.closed_at = now
    return quote


def replace_lines(quote_id: int, *, lines: list[NewLine], actor: str, now: datetime) -> Quote:
    """Lines change only while the quote is a draft."""
    quote = _for_change(quote_id, now)
    if quote.status != QuoteStatus.DRAFT.value:
        raise Conflict(
            f"The lines of a quote that is {quote.status} cannot change; only a draft's can.",
            code="QUOTE_STATE",
            extra={"current_state": quote.status},
        )
    db.session.execute(delete(QuoteLine).where(QuoteLine.quote_id == quote.id))
    db.session.expire(quote, ["lines"])
    _set_lines(quote, lines)
    _record(quote, "lines_changed", actor=actor, at=now, amount=quote.amount, hours=quote.hours)
    commit()
    return quote


def send_quote(quote_id: int, *, actor: str, now: datetime) -> Quote:
    """D12: sent to the customer, who may accept it for 14 days."""
    quote = _for_change(quote_id, now)
    _move(quote, QuoteStatus.SENT, actor=actor, at=now)
    quote.sent_at, quote.valid_until = now, valid_until(now)
    commit()
    return quote


def cancel_quote(quote_id: int, *, actor: str, now: datetime) -> Quote:
    quote = _for_change(quote_id, now)
    _move(quote, QuoteStatus.CANCELLED, actor=actor, at=now)
    quote.closed_at = now
    commit()
    return quote


def accept_quote(quote_id: int, *, gateway: PaymentGateway, actor: str, now: datetime) -> Quote:
    """The customer accepts: an order of kind `work` for the amount, paid like a purchase.

    An accepted quote whose order expired unpaid, or was cancelled (D20), may be accepted
    again (a new order, the same price); otherwise acceptance follows the lifecycle.
    """
    quote = _for_change(quote_id, now)
    if quote.status == QuoteStatus.ACCEPTED.value and _order_expired(quote):
        _record(quote, "accepted_again", actor=actor, at=now, previous_order_id=quote.order_id)
    else:
        _move(quote, QuoteStatus.ACCEPTED, actor=actor, at=now)
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
    _move(quote, QuoteStatus.PAID, actor=actor, at=now, order_id=order.id)
    quote.paid_at = order.paid_at
    return True


def services_outside_support() -> Page[Service]:
    """R15: what support does not cover and is quoted individually (one page)."""
    return Page(list(SERVICES_OUTSIDE_SUPPORT), next_cursor=None)


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
    _record(
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
    quote = _for_change(quote_id, now)
    if moved_to_hosting_at is not None and moved_to_hosting_at > now:
        raise Invalid.field(
            "moved_to_hosting_at", "The move to the official hosting cannot be in the future."
        )
    starts = moved_to_hosting_at or now
    _move(quote, QuoteStatus.COMPLETED, actor=actor, at=now, warranty_starts_at=rfc3339(starts))
    quote.completed_at = now
    quote.warranty_starts_at, quote.warranty_until = starts, warranty_until(starts)
    commit()
    return quote
