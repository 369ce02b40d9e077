"""Renewal rate, price and term (R17, R18, D13, D14, D15, D16, D9), as properties and tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from licensing.domain.errors import Conflict
from licensing.domain.licenses import LicenseStatus
from licensing.domain.money import percent_of
from licensing.domain.orders import RefundReason
from licensing.domain.periods import add_years, license_dates, preferential_until
from licensing.domain.renewals import (
    RenewalRate,
    earliest_renewal,
    ensure_renewable,
    extended_until,
    quote,
    rate_at,
    recomputed_updates_until,
    refund_instead_of_renewal,
    renewed_terms,
)
from tests.unit.domain.test_periods import instants

PRO = 30000
seconds_after = st.integers(0, 6 * 366 * 86400).map(lambda s: timedelta(seconds=s))


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@settings(deadline=None)
@given(purchased=instants, after=seconds_after)
def test_r18_d14_rate_is_preferential_exactly_up_to_one_month_after_updates_until(
    purchased, after
) -> None:
    until = license_dates(purchased).updates_until
    paid = purchased + after
    expected = (
        RenewalRate.PREFERENTIAL
        if paid <= until + relativedelta(months=1)
        else RenewalRate.STANDARD
    )
    assert rate_at(until, paid) is expected


@settings(deadline=None)
@given(purchased=instants, after=seconds_after)
def test_d15_a_renewal_in_the_window_never_loses_or_gains_a_day(purchased, after) -> None:
    until = license_dates(purchased).updates_until
    paid = purchased + after
    new = extended_until(until, paid)
    if paid <= preferential_until(until):
        assert new == add_years(until, 1)  # from the old end: no gap, no overlap
    else:
        assert new == add_years(paid, 1)  # a new term from the payment instant
    assert new > until and new > paid


@settings(deadline=None)
@given(purchased=instants, after=seconds_after, list_price=st.integers(0, 10**9))
def test_d1_d13_amount_is_exactly_20_or_30_percent_rounded_half_up(
    purchased, after, list_price
) -> None:
    until = license_dates(purchased).updates_until
    paid = max(purchased + after, earliest_renewal(add_years(until, 1)))
    answer = quote(current_updates_until=until, list_price=list_price, at=paid)
    exact = list_price * answer.percent
    assert -50 < answer.price * 100 - exact <= 50  # within half a cent, halves up
    assert answer.price == (exact + 50) // 100  # half-up, once
    assert answer.percent == (20 if answer.rate is RenewalRate.PREFERENTIAL else 30)


@settings(deadline=None)
@given(purchased=instants)
def test_r17_d15_two_on_time_renewals_equal_purchase_plus_three_years(purchased) -> None:
    first = license_dates(purchased).updates_until
    second = extended_until(first, first)  # paid on the last day of the term
    third = extended_until(second, second - timedelta(days=10))
    assert third == add_years(add_years(add_years(purchased, 1), 1), 1)
    assert recomputed_updates_until(first, [first, second - timedelta(days=10)]) == third


@settings(deadline=None)
@given(purchased=instants, after=seconds_after)
def test_d16_never_more_than_two_years_ahead_and_earliest_is_exact(purchased, after) -> None:
    until = license_dates(purchased).updates_until
    paid = purchased + after
    new = extended_until(until, paid)
    earliest = earliest_renewal(new)
    if paid >= earliest:
        assert quote(current_updates_until=until, list_price=PRO, at=paid).new_updates_until == new
        assert new <= add_years(paid, 2) or (paid.month == 2 and paid.day == 29)
    else:
        with pytest.raises(Conflict) as refused:
            quote(current_updates_until=until, list_price=PRO, at=paid)
        assert refused.value.code == "RENEWAL_TOO_EARLY"
        assert refused.value.extra["earliest_renewal_at"] == earliest


LEAP = z("2024-02-29T10:00:00Z")


def test_r4_r17_d14_dates_of_a_license_bought_on_29_february() -> None:
    dates = license_dates(LEAP)
    assert dates.support_until == z("2024-03-30T10:00:00Z")
    assert dates.updates_until == z("2025-02-28T10:00:00Z")
    assert dates.preferential_until == z("2025-03-28T10:00:00Z")


@pytest.mark.parametrize(
    ("paid", "rate", "new_until"),
    [
        ("2025-03-28T10:00:00Z", RenewalRate.PREFERENTIAL, "2026-02-28T10:00:00Z"),
        ("2025-03-28T10:00:01Z", RenewalRate.STANDARD, "2026-03-28T10:00:01Z"),
        ("2024-06-01T00:00:00Z", RenewalRate.PREFERENTIAL, "2026-02-28T10:00:00Z"),
        ("2025-02-28T10:00:00Z", RenewalRate.PREFERENTIAL, "2026-02-28T10:00:00Z"),
    ],
)
def test_d15_table_of_named_instants(paid: str, rate: RenewalRate, new_until: str) -> None:
    answer = quote(current_updates_until=z("2025-02-28T10:00:00Z"), list_price=PRO, at=z(paid))
    assert (answer.rate, answer.new_updates_until) == (rate, z(new_until))
    assert answer.price == percent_of(PRO, 20 if rate is RenewalRate.PREFERENTIAL else 30)


def test_d16_too_early_names_the_first_allowed_instant() -> None:
    with pytest.raises(Conflict) as refused:
        quote(
            current_updates_until=z("2025-02-28T10:00:00Z"),
            list_price=PRO,
            at=z("2024-02-28T09:59:59Z"),
        )
    assert refused.value.extra == {"earliest_renewal_at": z("2024-02-28T10:00:00Z")}
    allowed = quote(
        current_updates_until=z("2025-02-28T10:00:00Z"),
        list_price=PRO,
        at=z("2024-02-28T10:00:00Z"),
    )
    assert allowed.new_updates_until == z("2026-02-28T10:00:00Z")


def test_d9_a_refunded_renewal_is_left_out_of_the_recomputation() -> None:
    initial = z("2025-02-28T10:00:00Z")
    a, b = z("2025-02-01T00:00:00Z"), z("2026-01-01T00:00:00Z")
    assert recomputed_updates_until(initial, [a, b]) == z("2027-02-28T10:00:00Z")
    # Without A, B was paid long after the first term's window: a new term from B.
    assert recomputed_updates_until(initial, [b]) == z("2027-01-01T00:00:00Z")
    assert recomputed_updates_until(initial, [a]) == z("2026-02-28T10:00:00Z")
    assert recomputed_updates_until(initial, []) == initial


def test_prices_of_both_editions() -> None:
    at = z("2025-01-01T00:00:00Z")
    until = z("2025-02-28T10:00:00Z")
    assert quote(current_updates_until=until, list_price=30000, at=at).price == 6000
    assert (
        quote(current_updates_until=until, list_price=50000, at=z("2025-06-01T00:00:00Z")).price
        == 15000
    )
    assert quote(current_updates_until=until, list_price=12345, at=at).price == 2469  # 2469.0
    assert (
        quote(current_updates_until=until, list_price=12345, at=z("2025-06-01T00:00:00Z")).price
        == 3704
    )  # 3703.5
    assert datetime(2025, 1, 1, tzinfo=UTC) == at


@settings(deadline=None)
@given(initial=instants, payments=st.lists(seconds_after, max_size=5))
def test_d9_d15_the_standing_renewals_terms_chain_from_the_first_term(initial, payments) -> None:
    """Each renewal extends the term the ones paid before it left (D15), and the last one
    ends where `updates_until` is recomputed to (D9)."""
    paid = [initial + after for after in payments]
    terms = renewed_terms(initial, paid)
    ends = [initial] + [new for _, new in terms]
    assert [old for old, _ in terms] == ends[:-1]
    assert all(old < new for old, new in terms)
    assert [new for _, new in terms] == [
        extended_until(old, at) for (old, _), at in zip(terms, sorted(paid), strict=True)
    ]
    assert recomputed_updates_until(initial, paid) == ends[-1]


@pytest.mark.parametrize("status", list(LicenseStatus))
def test_d9_only_an_active_license_is_renewed_asked_or_paid(status: LicenseStatus) -> None:
    """A suspended license is under dispute (D9), a revoked one is over: no renewal is sold
    for either, and one paid meanwhile goes back as LICENSE_INACTIVE."""
    term_end = z("2026-03-01T00:00:00Z")
    paid = {
        "paid_at": term_end,
        "order_expires_at": term_end + timedelta(hours=1),
        "expired": False,
        "license_status": status,
        "quoted_updates_until": term_end,
        "current_updates_until": term_end,
    }
    if status is LicenseStatus.ACTIVE:
        ensure_renewable(status)
        assert refund_instead_of_renewal(**paid) is None
    else:
        with pytest.raises(Conflict) as refused:
            ensure_renewable(status)
        assert refused.value.code == "LICENSE_INACTIVE"
        assert refund_instead_of_renewal(**paid) is RefundReason.LICENSE_INACTIVE
