"""D14: the support, updates and preferential-renewal dates of a license, in UTC calendar terms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil.relativedelta import relativedelta

SUPPORT_PERIOD = timedelta(days=30)  # R4: thirty calendar days of technical support
UPDATES_TERM = relativedelta(years=1)  # R17: one year of updates per term
PREFERENTIAL_GRACE = relativedelta(months=1)  # R18: one more month at the preferential rate


def ensure_utc(instant: datetime) -> datetime:
    """D14: an aware instant converted to UTC; a naive datetime is refused (ValueError)."""
    if not isinstance(instant, datetime):
        raise ValueError(f"expected a datetime, got {instant!r}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {instant.isoformat()}")
    return instant.astimezone(UTC)


def _shift(instant: datetime, delta: relativedelta) -> datetime:
    """D14: calendar arithmetic in UTC; a day past the month's end clamps to its last day."""
    return ensure_utc(instant) + delta


def add_years(instant: datetime, years: int) -> datetime:
    """D14: `years` calendar years later in UTC (29 Feb + 1 year = 28 Feb), same time of day."""
    return _shift(instant, relativedelta(years=years))


def add_months(instant: datetime, months: int) -> datetime:
    """D14: `months` calendar months later in UTC (31 Jan + 1 month = end of Feb)."""
    return _shift(instant, relativedelta(months=months))


def support_until(purchased_at: datetime) -> datetime:
    """R4/D14: technical support holds until purchase + 30 days (inclusive)."""
    return ensure_utc(purchased_at) + SUPPORT_PERIOD


def updates_until(term_start: datetime) -> datetime:
    """R17/D14: the updates subscription holds until term start + 1 calendar year."""
    return _shift(term_start, UPDATES_TERM)


def preferential_until(updates_until: datetime) -> datetime:
    """R18/D14: the preferential renewal window closes at updates_until + 1 calendar month."""
    return _shift(updates_until, PREFERENTIAL_GRACE)


@dataclass(frozen=True)
class LicenseDates:
    """D14: the `*_until` instants of a license, all aware UTC and inclusive."""

    purchased_at: datetime
    support_until: datetime
    updates_until: datetime

    def __post_init__(self) -> None:
        for name in ("purchased_at", "support_until", "updates_until"):
            object.__setattr__(self, name, ensure_utc(getattr(self, name)))

    @property
    def preferential_until(self) -> datetime:
        """R18/D14: the last instant at which a renewal is at the preferential rate."""
        return preferential_until(self.updates_until)


def license_dates(purchased_at: datetime, updates_until: datetime | None = None) -> LicenseDates:
    """R4/R17/D14: dates of a new license; an imported one may bring its own updates_until."""
    purchased = ensure_utc(purchased_at)
    ends = _shift(purchased, UPDATES_TERM) if updates_until is None else ensure_utc(updates_until)
    if ends < purchased:
        raise ValueError("updates_until must not be before purchased_at")
    return LicenseDates(
        purchased_at=purchased,
        support_until=support_until(purchased),
        updates_until=ends,
    )


def holds(until: datetime, at: datetime) -> bool:
    """D14: a right whose `*_until` is `until` holds at `at` iff at <= until (inclusive)."""
    return ensure_utc(at) <= ensure_utc(until)


def rfc3339(instant: datetime) -> str:
    """An instant as the contract writes it: UTC with `Z` (`2026-11-24T10:00:00Z`)."""
    text = ensure_utc(instant).replace(tzinfo=None).isoformat()
    return f"{text}Z"


def rfc3339_or_none(instant: datetime | None) -> str | None:
    """`rfc3339`, None for no instant (an open end: a ban until lifted, no warranty)."""
    return None if instant is None else rfc3339(instant)
