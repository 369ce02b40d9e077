"""R4, R17, R18, D14: support, updates and preferential-renewal dates in UTC calendar terms."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licensing.domain.periods import (
    SUPPORT_PERIOD,
    LicenseDates,
    add_months,
    add_years,
    ensure_utc,
    holds,
    license_dates,
    preferential_until,
    support_until,
    updates_until,
)

FAST = settings(database=None, deadline=None)
ONE_SECOND = timedelta(seconds=1)
LEAP_YEARS = [year for year in range(2000, 2100) if calendar.isleap(year)]

times_of_day = st.times()
years = st.integers(2000, 2099)


def utc(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=UTC)


leap_days = st.builds(
    lambda y, t: utc(date(y, 2, 29), t), st.sampled_from(LEAP_YEARS), times_of_day
)
month_ends = st.builds(
    lambda y, md, t: utc(date(y, *md), t),
    years,
    st.sampled_from([(1, 31), (3, 31), (12, 31)]),
    times_of_day,
)
any_instant = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 -- hypothesis takes naive bounds
    max_value=datetime(2100, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
# The awkward calendar days are drawn about two times in three.
instants = st.one_of(leap_days, month_ends, any_instant)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


def one_month_later(day: date) -> date:
    """Reference: same day next month, clamped to that month's last day."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@FAST
@given(instants)
def test_r4_support_until_is_exactly_thirty_days_after_purchase(purchased_at: datetime) -> None:
    until = support_until(purchased_at)
    assert until - purchased_at == timedelta(days=30) == SUPPORT_PERIOD
    assert until.tzinfo is UTC


@FAST
@given(instants)
def test_r17_d14_updates_until_is_one_calendar_year_after_term_start(start: datetime) -> None:
    until = updates_until(start)
    expected_day = (2, 28) if (start.month, start.day) == (2, 29) else (start.month, start.day)
    assert until.year == start.year + 1
    assert (until.month, until.day) == expected_day
    assert until.timetz() == start.timetz()
    assert until.tzinfo is UTC


@FAST
@given(instants)
def test_r18_d14_preferential_window_closes_one_calendar_month_after_updates_until(
    start: datetime,
) -> None:
    updates_end = updates_until(start)
    closes = preferential_until(updates_end)
    assert closes.date() == one_month_later(updates_end.date())
    assert closes.timetz() == updates_end.timetz()
    assert license_dates(start).preferential_until == closes


@FAST
@given(month_ends.filter(lambda instant: instant.month == 1))
def test_d14_preferential_window_of_a_31_january_term_closes_on_the_last_day_of_february(
    start: datetime,
) -> None:
    closes = preferential_until(updates_until(start))
    assert (closes.month, closes.day) == (2, calendar.monthrange(closes.year, 2)[1])


@pytest.mark.parametrize(
    ("purchased", "updates_end", "preferential_end"),
    [
        (datetime(2024, 2, 29, 12, 30, tzinfo=UTC), (2025, 2, 28), (2025, 3, 28)),
        (datetime(2023, 1, 31, 23, 59, 59, tzinfo=UTC), (2024, 1, 31), (2024, 2, 29)),
        (datetime(2022, 1, 31, 8, 0, tzinfo=UTC), (2023, 1, 31), (2023, 2, 28)),
        (datetime(2023, 12, 31, 0, 0, tzinfo=UTC), (2024, 12, 31), (2025, 1, 31)),
        (datetime(2023, 3, 31, 6, 0, tzinfo=UTC), (2024, 3, 31), (2024, 4, 30)),
    ],
)
def test_d14_calendar_examples(
    purchased: datetime, updates_end: tuple[int, int, int], preferential_end: tuple[int, int, int]
) -> None:
    dates = license_dates(purchased)
    assert dates.updates_until == utc(date(*updates_end), purchased.timetz().replace(tzinfo=None))
    assert dates.preferential_until.date() == date(*preferential_end)
    assert dates.support_until == purchased + timedelta(days=30)


@FAST
@given(instants)
def test_d14_a_right_holds_through_its_until_instant_and_not_one_second_later(
    until: datetime,
) -> None:
    assert holds(until, until)
    assert holds(until, until - ONE_SECOND)
    assert not holds(until, until + ONE_SECOND)


def test_r4_support_holds_on_day_thirty_and_ends_a_second_later() -> None:
    purchased = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    until = support_until(purchased)
    assert holds(until, datetime(2024, 5, 31, 9, 0, tzinfo=UTC))
    assert not holds(until, datetime(2024, 5, 31, 9, 0, 1, tzinfo=UTC))


@FAST
@given(start=instants, offset=offsets)
def test_d14_aware_input_in_any_offset_is_converted_to_utc_first(
    start: datetime, offset: timezone
) -> None:
    local = start.astimezone(offset)
    assert ensure_utc(local) == start
    assert ensure_utc(local).tzinfo is UTC
    assert updates_until(local) == updates_until(start)
    assert preferential_until(local) == preferential_until(start)
    assert support_until(local) == support_until(start)
    assert holds(local, start) and holds(start, local)


def test_d14_a_plus_three_hours_purchase_uses_the_utc_calendar_day() -> None:
    moscow_morning = datetime(2024, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=3)))
    # 01:00 on 1 March at +03:00 is 22:00 on 29 February in UTC.
    assert updates_until(moscow_morning) == datetime(2025, 2, 28, 22, 0, tzinfo=UTC)


NAIVE = datetime(2024, 1, 1, 12, 0)  # noqa: DTZ001 -- the input every function must refuse
AWARE = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ensure_utc(NAIVE),
        lambda: add_years(NAIVE, 1),
        lambda: add_months(NAIVE, 1),
        lambda: support_until(NAIVE),
        lambda: updates_until(NAIVE),
        lambda: preferential_until(NAIVE),
        lambda: license_dates(NAIVE),
        lambda: license_dates(AWARE, NAIVE),
        lambda: LicenseDates(NAIVE, AWARE, AWARE),
        lambda: holds(NAIVE, AWARE),
        lambda: holds(AWARE, NAIVE),
        lambda: ensure_utc(AWARE.date()),
    ],
)
def test_d14_naive_datetimes_are_refused(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_d14_add_years_and_add_months_clamp_to_the_month_end_and_keep_the_time() -> None:
    leap_day = datetime(2024, 2, 29, 13, 14, 15, tzinfo=UTC)
    assert add_years(leap_day, 1) == datetime(2025, 2, 28, 13, 14, 15, tzinfo=UTC)
    assert add_years(leap_day, 4) == leap_day.replace(year=2028)
    end_of_january = datetime(2023, 1, 31, 7, 0, tzinfo=UTC)
    assert add_months(end_of_january, 1) == datetime(2023, 2, 28, 7, 0, tzinfo=UTC)
    assert add_months(end_of_january, -2) == datetime(2022, 11, 30, 7, 0, tzinfo=UTC)


def test_r17_an_imported_license_keeps_its_own_updates_until() -> None:
    purchased = datetime(2020, 6, 1, tzinfo=UTC)
    imported_end = datetime(2026, 6, 1, tzinfo=UTC)
    dates = license_dates(purchased, imported_end)
    assert dates == LicenseDates(purchased, purchased + timedelta(days=30), imported_end)
    assert dates.preferential_until == datetime(2026, 7, 1, tzinfo=UTC)


def test_d14_updates_until_before_purchase_is_refused() -> None:
    with pytest.raises(ValueError):
        license_dates(AWARE, AWARE - ONE_SECOND)


def test_d14_license_dates_are_stored_in_utc_and_frozen() -> None:
    plus_two = timezone(timedelta(hours=2))
    dates = LicenseDates(
        datetime(2024, 1, 1, 2, 0, tzinfo=plus_two),
        datetime(2024, 1, 31, 2, 0, tzinfo=plus_two),
        datetime(2025, 1, 1, 2, 0, tzinfo=plus_two),
    )
    assert dates.purchased_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert dates.purchased_at.tzinfo is UTC
    with pytest.raises(AttributeError):
        dates.updates_until = AWARE  # type: ignore[misc]
