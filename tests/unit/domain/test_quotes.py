"""Quote arithmetic and rules (R14, R16, D12) without any framework."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing.domain.errors import Conflict
from licensing.domain.quotes import (
    TRANSITIONS,
    QuoteStatus,
    WarrantyCode,
    amount_for,
    ensure_transition,
    quarter_hours,
    valid_until,
    warranty_decision,
    warranty_until,
)

quarters = st.integers(1, 500 * 4)


@given(lines=st.lists(quarters, min_size=1, max_size=100), rate=st.sampled_from([3000, 3500, 4200]))
def test_d12_amount_is_hours_times_rate_exactly(lines: list[int], rate: int) -> None:
    hours = sum(Decimal(q) / 4 for q in lines)
    assert amount_for(sum(lines), rate) == hours * rate  # exact: cents divisible by 4


@given(q=quarters)
def test_d12_quarter_hours_round_trip(q: int) -> None:
    assert quarter_hours(q / 4) == q
    if q % 4 == 0:
        assert quarter_hours(q // 4) == q


@pytest.mark.parametrize(
    "hours", [0.1, 0, -1, -0.25, math.nan, math.inf, "1", True, None, 500.25, 0.2]
)
def test_d12_hours_must_be_positive_quarter_steps(hours: object) -> None:
    with pytest.raises(ValueError):
        quarter_hours(hours)


def test_r14_a_rate_not_divisible_by_four_rounds_half_up_once() -> None:
    assert amount_for(1, 3001) == 750  # 750.25
    assert amount_for(2, 3001) == 1501  # 1500.5 -> 1501


def test_d12_valid_for_14_days_and_r16_warranty_one_calendar_month() -> None:
    assert valid_until(datetime(2026, 1, 31, 10, tzinfo=UTC)) == datetime(
        2026, 2, 14, 10, tzinfo=UTC
    )
    assert warranty_until(datetime(2026, 1, 31, 10, tzinfo=UTC)) == datetime(
        2026, 2, 28, 10, tzinfo=UTC
    )


def test_every_move_outside_the_lifecycle_is_a_quote_state_conflict() -> None:
    for current in QuoteStatus:
        for target in QuoteStatus:
            if target in TRANSITIONS[current]:
                ensure_transition(current, target)
                continue
            with pytest.raises(Conflict) as refused:
                ensure_transition(current, target)
            assert refused.value.code == "QUOTE_STATE"
            assert refused.value.extra == {"current_state": current.value}


START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("banned", "owner", "starts", "at", "code"),
    [
        (True, 1, START, START, WarrantyCode.BANNED),
        (False, None, START, START, WarrantyCode.QUOTE_NOT_FOUND),
        (False, 2, START, START, WarrantyCode.NOT_QUOTE_OWNER),
        (False, 1, None, START, WarrantyCode.WARRANTY_NOT_STARTED),
        (False, 1, START, datetime(2026, 2, 28, tzinfo=UTC), WarrantyCode.WARRANTY_NOT_STARTED),
        (False, 1, START, END, WarrantyCode.ALLOWED),
        (False, 1, START, datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC), WarrantyCode.WARRANTY_ENDED),
    ],
)
def test_r16_warranty_decision(banned, owner, starts, at, code) -> None:
    ends = warranty_until(starts) if starts else None
    decision = warranty_decision(
        banned=banned, quote_customer_id=owner, customer_id=1, starts_at=starts, ends_at=ends, at=at
    )
    assert decision is code


def test_d12_d14_a_sent_quote_lapses_one_second_after_its_validity() -> None:
    from datetime import timedelta

    from licensing.domain.quotes import has_lapsed

    until = valid_until(START)
    assert not has_lapsed(QuoteStatus.SENT, until, until)
    assert has_lapsed(QuoteStatus.SENT, until, until + timedelta(seconds=1))
    assert not has_lapsed(QuoteStatus.DRAFT, None, until + timedelta(days=99))
    assert not has_lapsed(QuoteStatus.ACCEPTED, until, until + timedelta(days=1))


def test_d12_d14_an_accepted_quote_whose_order_lapsed_is_accepted_again_only_while_valid() -> None:
    from datetime import timedelta

    from licensing.domain.quotes import may_be_accepted_again

    until = valid_until(START)
    assert may_be_accepted_again(until, until)
    assert not may_be_accepted_again(until, until + timedelta(seconds=1))
    assert not may_be_accepted_again(None, START)
