"""The desk calendar on named instants (R11, D10): Moscow hours, weekends, Russian holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing.domain.desk import desk_at, is_open, next_opening

MSK = ZoneInfo("Europe/Moscow")


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


def test_r11_friday_17_59_59_is_open_and_the_clock_starts_then() -> None:
    at = msk(2026, 11, 27, 17, 59, 59)  # a Friday
    answer = desk_at(at)
    assert answer.open_now and answer.clock_starts_at == at.astimezone(UTC)
    assert answer.first_response_due == at.astimezone(UTC) + timedelta(hours=24)


def test_r11_friday_18_00_is_closed_until_monday_10_00() -> None:
    answer = desk_at(msk(2026, 11, 27, 18, 0, 0))
    assert not answer.open_now
    assert answer.next_opening == msk(2026, 11, 30, 10, 0).astimezone(UTC)
    assert answer.next_opening.isoformat() == "2026-11-30T07:00:00+00:00"


def test_r11_the_substituted_day_off_on_31_december_and_the_new_year_holidays_are_closed() -> None:
    assert not is_open(msk(2026, 12, 31, 12, 0))  # a Thursday made a day off
    for day in range(1, 9):
        assert not is_open(msk(2027, 1, day, 12, 0)), day
    assert next_opening(msk(2026, 12, 30, 18, 0)) == msk(2027, 1, 11, 10, 0).astimezone(UTC)


def test_d10_a_ticket_filed_saturday_noon_starts_the_clock_monday_10_msk() -> None:
    answer = desk_at(msk(2026, 11, 28, 12, 0))
    assert not answer.open_now
    assert answer.clock_starts_at == msk(2026, 11, 30, 10, 0).astimezone(UTC)
    assert answer.first_response_due == msk(2026, 12, 1, 10, 0).astimezone(UTC)


@pytest.mark.parametrize(
    ("hour", "minute", "open_"), [(9, 59, False), (10, 0, True), (17, 59, True), (18, 0, False)]
)
def test_r11_opening_hours_edges(hour: int, minute: int, open_: bool) -> None:
    assert is_open(msk(2026, 11, 26, hour, minute)) is open_  # a Thursday


@given(
    st.datetimes(
        min_value=datetime(2025, 1, 1),  # noqa: DTZ001 -- hypothesis takes naive bounds
        max_value=datetime(2028, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    )
)
def test_d10_next_opening_is_open_and_never_before_the_ticket(at: datetime) -> None:
    opening = next_opening(at)
    assert opening >= at and is_open(opening)
    answer = desk_at(at)
    assert answer.first_response_due - answer.clock_starts_at == timedelta(hours=24)
