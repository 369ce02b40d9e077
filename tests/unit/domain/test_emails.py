"""How emails write money and days, and compare addresses (D24, D25)."""

from __future__ import annotations

from datetime import UTC, datetime

from licensing.domain.emails import (
    MAILED_NOTICES,
    format_day,
    format_instant,
    format_money,
    normalize_email,
)
from licensing.domain.notices import NoticeType


def test_d24_addresses_compare_trimmed_and_in_lower_case() -> None:
    assert normalize_email("  Ann@Example.COM\t") == "ann@example.com"


def test_d25_every_notice_about_a_license_is_mailed() -> None:
    assert set(NoticeType) == MAILED_NOTICES


def test_money_and_days_as_people_read_them() -> None:
    assert format_money(6667, "USD") == "$66.67"
    assert format_money(12345600, "USD") == "$123,456.00"
    assert format_money(5, "EUR") == "0.05 EUR"
    instant = datetime(2027, 1, 1, 9, 30, tzinfo=UTC)
    assert format_day(instant) == "Friday 1 January 2027"
    assert format_instant(instant) == "1 January 2027, 09:30 UTC"
