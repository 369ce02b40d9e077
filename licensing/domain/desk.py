"""The helpdesk's working calendar (R11, D10): when the desk is open, when the clock starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from licensing.domain.periods import ensure_utc

MOSCOW = ZoneInfo("Europe/Moscow")
OPENS, CLOSES = time(10, 0), time(18, 0)  # R11: 10:00-18:00 Moscow time
FIRST_RESPONSE_WITHIN = timedelta(hours=24)  # R11, D10: elapsed time, not desk hours
_LOOKAHEAD_DAYS = 60  # the longest run of days off (New Year) is far shorter


@lru_cache(maxsize=16)
def _days_off(year: int) -> holidays.HolidayBase:
    """Russian public holidays and substituted days off, as the `holidays` package has them."""
    return holidays.country_holidays("RU", years=year)


def is_working_day(day: date) -> bool:
    """R11: Monday to Friday, except Russian public holidays (and their substitutes)."""
    return day.weekday() < 5 and day not in _days_off(day.year)


def is_open(at: datetime) -> bool:
    """R11: the desk is open from 10:00 up to (not including) 18:00 Moscow time."""
    local = ensure_utc(at).astimezone(MOSCOW)
    return is_working_day(local.date()) and OPENS <= local.time() < CLOSES


def next_opening(at: datetime) -> datetime:
    """The first instant at or after `at` when the desk is open, in UTC."""
    at = ensure_utc(at)
    if is_open(at):
        return at
    local = at.astimezone(MOSCOW)
    day = local.date() if local.time() < OPENS else local.date() + timedelta(days=1)
    for _ in range(_LOOKAHEAD_DAYS):
        if is_working_day(day):
            return datetime.combine(day, OPENS, MOSCOW).astimezone(UTC)
        day += timedelta(days=1)
    raise ValueError(f"no working day within {_LOOKAHEAD_DAYS} days of {at.isoformat()}")


@dataclass(frozen=True)
class DeskAnswer:
    """D10: whether the desk is open, and the 24-hour first-response clock for a ticket."""

    open_now: bool
    next_opening: datetime
    clock_starts_at: datetime
    first_response_due: datetime


def desk_at(at: datetime) -> DeskAnswer:
    """D10: the clock starts when the ticket is filed if the desk is open, else at its next
    opening; the first response is due 24 hours of elapsed time after that."""
    opening = next_opening(at)
    return DeskAnswer(
        open_now=is_open(at),
        next_opening=opening,
        clock_starts_at=opening,
        first_response_due=opening + FIRST_RESPONSE_WITHIN,
    )
