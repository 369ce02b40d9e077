"""D18: a report's months, 1970-01 to 2999-12, so that the month arithmetic never overflows."""

from __future__ import annotations

import re

import pytest

from licensing.domain.errors import Invalid
from licensing.domain.reports import MAX_MONTHS, MONTH_PATTERN, period


@pytest.mark.parametrize(
    ("first", "last"), [("1970-01", "1970-01"), ("2999-12", "2999-12"), ("2990-01", "2999-12")]
)
def test_d18_months_from_1970_01_to_2999_12_make_a_period(first: str, last: str) -> None:
    report = period(first, last)
    assert report.months()[0] == first and report.months()[-1] == last
    assert report.end.year <= 3000


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("9999-12", "9999-12", "from"),
        ("3000-01", "3000-01", "from"),
        ("1969-12", "1970-01", "from"),
        ("2999-12", "3000-01", "to"),
        ("2999-01", "9999-12", "to"),
        ("0000-01", "0000-01", "from"),
        ("2026-01\n", "2026-02", "from"),
    ],
)
def test_d18_a_month_outside_1970_01_to_2999_12_is_invalid_naming_its_field(
    first: str, last: str, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        period(first, last)
    assert list(refused.value.errors) == [field]


def test_d18_the_published_pattern_is_the_check() -> None:
    """The OpenAPI document publishes MONTH_PATTERN; ECMA-262 reads it as Python does."""
    for year in range(1960, 3010):
        for month in (0, 1, 12, 13):
            text = f"{year:04d}-{month:02d}"
            valid = 1970 <= year <= 2999 and 1 <= month <= 12
            assert bool(re.fullmatch(MONTH_PATTERN, text)) is valid, text
            if valid:
                assert period(text, text).months() == [text]
    assert MAX_MONTHS == 120
