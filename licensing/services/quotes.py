"""Paid extra work: quotes as the helpdesk writes them, priced line by line in quarter hours
at a snapshotted rate, sent and cancelled, and shown with their history (R14, R15, D12).
What follows the customer's acceptance is in `accepted_quotes`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from licensing.adapters.models import Quote, QuoteEvent, QuoteLine
from licensing.adapters.pagination import Page
from licensing.domain.errors import Conflict, Invalid, NotFound
from licensing.domain.money import CURRENCY, Money
from licensing.domain.quotes import (
    SERVICES_OUTSIDE_SUPPORT,
    QuoteStatus,
    Service,
    WorkCategory,
    amount_for,
    ensure_transition,
    has_lapsed,
    valid_until,
)
from licensing.extensions import db
from licensing.services.accounts import named_customer
from licensing.services.history import HistoryLine, history_lines
from licensing.services.licenses import find_license
from licensing.services.transactions import commit

SYSTEM = "system:quotes"


@dataclass(frozen=True)
class NewLine:
    category: WorkCategory
    description: str
    quarters: int
    service: str | None = None


def record_event(quote: Quote, event_type: str, *, actor: str, at: datetime, **data: Any) -> None:
    """A line in the quote's history, as it is shown (`history_lines`)."""
    db.session.add(QuoteEvent(quote_id=quote.id, type=event_type, actor=actor, at=at, data=data))


def move_quote(quote: Quote, target: QuoteStatus, *, actor: str, at: datetime, **data: Any) -> None:
    """Every state change goes through the lifecycle's table, and into the history."""
    ensure_transition(QuoteStatus(quote.status), target)
    record_event(quote, target.value, actor=actor, at=at, old=quote.status, **data)
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
    named_customer(customer_id)
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
    record_event(quote, "created", actor=actor, at=now, amount=quote.amount, hours=quote.hours)
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
    so (`quote_for_change`)."""
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


def quote_for_change(quote_id: int, now: datetime) -> Quote:
    """The quote, locked; a sent quote past its validity becomes expired first (D12)."""
    quote = get_quote(quote_id, lock=True)
    if has_lapsed(QuoteStatus(quote.status), quote.valid_until, now):
        move_quote(quote, QuoteStatus.EXPIRED, actor=SYSTEM, at=now)
        quote.closed_at = now
    return quote


def replace_lines(quote_id: int, *, lines: list[NewLine], actor: str, now: datetime) -> Quote:
    """Lines change only while the quote is a draft."""
    quote = quote_for_change(quote_id, now)
    if quote.status != QuoteStatus.DRAFT.value:
        raise Conflict(
            f"The lines of a quote that is {quote.status} cannot change; only a draft's can.",
            code="QUOTE_STATE",
            extra={"current_state": quote.status},
        )
    db.session.execute(delete(QuoteLine).where(QuoteLine.quote_id == quote.id))
    db.session.expire(quote, ["lines"])
    _set_lines(quote, lines)
    record_event(
        quote, "lines_changed", actor=actor, at=now, amount=quote.amount, hours=quote.hours
    )
    commit()
    return quote


def send_quote(quote_id: int, *, actor: str, now: datetime) -> Quote:
    """D12: sent to the customer, who may accept it for 14 days."""
    quote = quote_for_change(quote_id, now)
    move_quote(quote, QuoteStatus.SENT, actor=actor, at=now)
    quote.sent_at, quote.valid_until = now, valid_until(now)
    commit()
    return quote


def cancel_quote(quote_id: int, *, actor: str, now: datetime) -> Quote:
    quote = quote_for_change(quote_id, now)
    move_quote(quote, QuoteStatus.CANCELLED, actor=actor, at=now)
    quote.closed_at = now
    commit()
    return quote


def services_outside_support() -> Page[Service]:
    """R15: what support does not cover and is quoted individually (one page)."""
    return Page(list(SERVICES_OUTSIDE_SUPPORT), next_cursor=None)
