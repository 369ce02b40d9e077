"""Paid extra work (R14-R16, D12): quote lines in quarter hours, amounts, lifecycle, warranty."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from dateutil.relativedelta import relativedelta

from licensing.domain.errors import Conflict
from licensing.domain.periods import ensure_utc

QUOTE_VALID_FOR = timedelta(days=14)  # D12
WARRANTY = relativedelta(months=1)  # R16
QUARTERS_PER_HOUR = 4
MAX_LINE_HOURS = 500  # a sane bound: a larger job is several quotes
MAX_LINES = 100


class WorkCategory(StrEnum):
    """R14: specialist time is layout, programming or design."""

    LAYOUT = "layout"
    PROGRAMMING = "programming"
    DESIGN = "design"


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    PAID = "paid"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# The lifecycle; anything else is 409 QUOTE_STATE naming the current state.
TRANSITIONS: dict[QuoteStatus, frozenset[QuoteStatus]] = {
    QuoteStatus.DRAFT: frozenset({QuoteStatus.SENT, QuoteStatus.CANCELLED}),
    QuoteStatus.SENT: frozenset({QuoteStatus.ACCEPTED, QuoteStatus.CANCELLED, QuoteStatus.EXPIRED}),
    QuoteStatus.ACCEPTED: frozenset({QuoteStatus.PAID}),
    QuoteStatus.PAID: frozenset({QuoteStatus.COMPLETED}),
    QuoteStatus.COMPLETED: frozenset(),
    QuoteStatus.CANCELLED: frozenset(),
    QuoteStatus.EXPIRED: frozenset(),
}


# D20: the money for paid work going back (a refund, a lost dispute) cancels the quote even
# once paid or completed; staff's own cancel (TRANSITIONS) stays with drafts and sent quotes.
CANCELLED_BY_REFUND = frozenset({QuoteStatus.PAID, QuoteStatus.COMPLETED})


def ensure_transition(current: QuoteStatus, target: QuoteStatus) -> None:
    """409 QUOTE_STATE, naming the current state, for a move the lifecycle does not have."""
    if target not in TRANSITIONS[current]:
        raise Conflict(
            f"A quote that is {current.value} cannot become {target.value}.",
            code="QUOTE_STATE",
            extra={"current_state": current.value},
        )


@dataclass(frozen=True)
class Service:
    code: str
    description: str


# R15: what support does not cover and is quoted individually.
SERVICES_OUTSIDE_SUPPORT = (
    Service("data_migration", "Data migration from other systems"),
    Service("server_move", "Moving a site between servers"),
    Service("new_functionality", "New functionality"),
    Service("web_development", "Web development"),
    Service("web_design", "Web design"),
    Service("consulting", "Layout or programming consultations beyond general questions"),
    Service("third_party", "Third-party solutions"),
    Service("server_setup", "Server setup"),
    Service("performance", "Performance tuning"),
    Service("import_files", "Finding or fixing errors in import files"),
    Service("version_upgrade", "Version upgrades"),
)
SERVICE_CODES = frozenset(service.code for service in SERVICES_OUTSIDE_SUPPORT)


def quarter_hours(hours: object) -> int:
    """D12: positive hours in quarter-hour steps, as a count of quarter hours.

    Accepts JSON numbers only (int or float; never bool, text, NaN or infinity); raises
    ValueError with a message for anything else.
    """
    if isinstance(hours, bool) or not isinstance(hours, int | float | Decimal):
        raise ValueError("Hours must be a number, such as 1.5.")
    if isinstance(hours, float) and not math.isfinite(hours):
        raise ValueError("Hours must be a finite number.")
    try:
        quarters = Decimal(str(hours)) * QUARTERS_PER_HOUR
    except InvalidOperation:
        raise ValueError("Hours must be a number, such as 1.5.") from None
    if quarters <= 0:
        raise ValueError("Hours must be positive.")
    if quarters != quarters.to_integral_value():
        raise ValueError("Hours come in quarter-hour steps (0.25, 0.5, 0.75, 1, ...).")
    if quarters > MAX_LINE_HOURS * QUARTERS_PER_HOUR:
        raise ValueError(f"A line may have at most {MAX_LINE_HOURS} hours.")
    return int(quarters)


def amount_for(total_quarters: int, rate_per_hour: int) -> int:
    """D12: hours x rate, exact; with a rate not divisible by four, rounded half-up once (D1)."""
    exact = Decimal(total_quarters * rate_per_hour) / QUARTERS_PER_HOUR
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def valid_until(sent_at: datetime) -> datetime:
    """D12: a sent quote can be accepted for 14 days (inclusive, D14)."""
    return ensure_utc(sent_at) + QUOTE_VALID_FOR


def has_lapsed(status: QuoteStatus, valid_until: datetime | None, now: datetime) -> bool:
    """D12: a sent quote not accepted by the end of its validity (inclusive, D14) expires."""
    return status is QuoteStatus.SENT and valid_until is not None and now > valid_until


def may_be_accepted_again(valid_until: datetime | None, now: datetime) -> bool:
    """D12: an accepted quote whose order lapsed unpaid (or was cancelled, D20) may be accepted
    again while it is valid, to the end of its 14 days (inclusive, D14); never after."""
    return valid_until is not None and now <= valid_until


def warranty_until(starts_at: datetime) -> datetime:
    """R16: one month of warranty from acceptance of all work or the move to our hosting."""
    return ensure_utc(starts_at) + WARRANTY


def warranty_ended_by_refund(
    starts_at: datetime | None, until: datetime | None, refunded_at: datetime
) -> datetime | None:
    """D20: the warranty of refunded work ends when the money goes back; the time it ran
    before stays as it was (an `at=` before the refund still answers ALLOWED)."""
    if starts_at is None or until is None:
        return until
    return min(until, max(ensure_utc(refunded_at), starts_at))


class WarrantyCode(StrEnum):
    ALLOWED = "ALLOWED"
    BANNED = "BANNED"
    QUOTE_NOT_FOUND = "QUOTE_NOT_FOUND"
    NOT_QUOTE_OWNER = "NOT_QUOTE_OWNER"
    WARRANTY_NOT_STARTED = "WARRANTY_NOT_STARTED"
    WARRANTY_ENDED = "WARRANTY_ENDED"


def warranty_decision(
    *,
    banned: bool,
    quote_customer_id: int | None,
    customer_id: int,
    starts_at: datetime | None,
    ends_at: datetime | None,
    at: datetime,
) -> WarrantyCode:
    """R16 in order: banned (R13) -> no such quote -> another customer's quote -> warranty
    not started (work not completed, or `at` before its start) -> ended (after `ends_at`,
    inclusive per D14) -> allowed."""
    if banned:
        return WarrantyCode.BANNED
    if quote_customer_id is None:
        return WarrantyCode.QUOTE_NOT_FOUND
    if quote_customer_id != customer_id:
        return WarrantyCode.NOT_QUOTE_OWNER
    if starts_at is None or ends_at is None or at < starts_at:
        return WarrantyCode.WARRANTY_NOT_STARTED
    if at > ends_at:
        return WarrantyCode.WARRANTY_ENDED
    return WarrantyCode.ALLOWED
