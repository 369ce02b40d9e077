"""The updates subscription's renewal: rate, price and the term it buys (R17, R18, D13-D16)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from licensing.domain.errors import Conflict
from licensing.domain.licenses import LicenseStatus
from licensing.domain.money import percent_of
from licensing.domain.orders import RefundReason
from licensing.domain.periods import add_years, ensure_utc, preferential_until, updates_until

MAX_YEARS_AHEAD = 2  # D16


class RenewalRate(StrEnum):
    PREFERENTIAL = "preferential"
    STANDARD = "standard"


PERCENT = {RenewalRate.PREFERENTIAL: 20, RenewalRate.STANDARD: 30}  # R18


def rate_at(current_updates_until: datetime, at: datetime) -> RenewalRate:
    """R18/D14: preferential up to and including updates_until + 1 month, standard after."""
    if ensure_utc(at) <= preferential_until(current_updates_until):
        return RenewalRate.PREFERENTIAL
    return RenewalRate.STANDARD


def extended_until(current_updates_until: datetime, paid_at: datetime) -> datetime:
    """D15: paid in the window, one more year from the old `updates_until` (no gap, no lost
    day); paid after it, a new year-long term from the payment instant."""
    if rate_at(current_updates_until, paid_at) is RenewalRate.PREFERENTIAL:
        return add_years(current_updates_until, 1)
    return updates_until(paid_at)


def earliest_renewal(new_updates_until: datetime) -> datetime:
    """D16: the first instant from which a renewal ending at `new_updates_until` is allowed.

    "Not more than two years past the payment" is read as paid_at >= new - 2 years, counted
    back from the new end. Counting forward (paid_at + 2 years) would, because 29 February
    + 2 years is 28 February, forbid some instants after allowed ones; counting back keeps
    the rule monotone, so its earliest instant is well defined.
    """
    return add_years(new_updates_until, -MAX_YEARS_AHEAD)


@dataclass(frozen=True)
class RenewalQuote:
    """What a renewal paid at `at` would cost and buy."""

    rate: RenewalRate
    percent: int
    price: int
    list_price: int
    updates_until: datetime
    preferential_until: datetime
    new_updates_until: datetime


def ensure_renewable(status: LicenseStatus) -> None:
    """Only an active license is renewed, as only an active one is upgraded (D19): a revoked
    one is over, a suspended one is under dispute (D9). 409 LICENSE_INACTIVE."""
    if status is not LicenseStatus.ACTIVE:
        raise Conflict(
            f"The license is {status.value}; only an active license can be renewed.",
            code="LICENSE_INACTIVE",
        )


def quote(*, current_updates_until: datetime, list_price: int, at: datetime) -> RenewalQuote:
    """R18, D13-D16: the rate at `at`, its price from the current list price (rounded half-up
    once, D1), and the new `updates_until`; 409 RENEWAL_TOO_EARLY where D16 forbids it."""
    rate = rate_at(current_updates_until, at)
    new_until = extended_until(current_updates_until, at)
    earliest = earliest_renewal(new_until)
    if ensure_utc(at) < earliest:
        raise Conflict(
            "A renewal may not push updates_until more than two years past the payment (D16).",
            code="RENEWAL_TOO_EARLY",
            extra={"earliest_renewal_at": earliest},
        )
    return RenewalQuote(
        rate=rate,
        percent=PERCENT[rate],
        price=percent_of(list_price, PERCENT[rate]),
        list_price=list_price,
        updates_until=current_updates_until,
        preferential_until=preferential_until(current_updates_until),
        new_updates_until=new_until,
    )


def renewed_terms(
    initial: datetime, paid_renewals: Iterable[datetime]
) -> list[tuple[datetime, datetime]]:
    """D9/D15: the term each renewal that stands (refunded ones left out) extends, and where
    it then ends, `(old, new)`, in the order they were paid: each applied by D15 to the end
    the ones before it left, from the first term."""
    terms = []
    current = initial
    for paid_at in sorted(paid_renewals):
        extended = extended_until(current, paid_at)
        terms.append((current, extended))
        current = extended
    return terms


def recomputed_updates_until(initial: datetime, paid_renewals: Iterable[datetime]) -> datetime:
    """D9/D15: `updates_until` from the first term and the renewals that stand."""
    terms = renewed_terms(initial, paid_renewals)
    return terms[-1][1] if terms else initial


def refund_instead_of_renewal(
    *,
    paid_at: datetime,
    order_expires_at: datetime,
    expired: bool,
    license_status: LicenseStatus,
    quoted_updates_until: datetime,
    current_updates_until: datetime,
) -> RefundReason | None:
    """D8, D16: a renewal payment that no longer buys what was quoted is given back, never
    re-priced: the order expired, the license was revoked or suspended, the term it was
    quoted on has moved (another renewal was paid meanwhile), or D16 now forbids it."""
    if expired or paid_at > order_expires_at:
        return RefundReason.ORDER_EXPIRED
    if license_status is not LicenseStatus.ACTIVE:  # see ensure_renewable
        return RefundReason.LICENSE_INACTIVE
    if current_updates_until != quoted_updates_until:
        return RefundReason.QUOTE_STALE
    if paid_at < earliest_renewal(extended_until(current_updates_until, paid_at)):
        return RefundReason.RENEWAL_TOO_EARLY
    return None
