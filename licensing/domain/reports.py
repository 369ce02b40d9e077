"""Finance's renewal report (D18): the period, its months, and the arithmetic on the counts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta

from licensing.domain.errors import Invalid

MAX_MONTHS = 120  # ten years: more is not a report, it is an export
# D18: months from 1970-01 to 2999-12, the years of every instant the API takes in: no
# renewal is paid outside them, and the month after the last one (3000-01) is still a date,
# so the month arithmetic (`Period.end`, `months()`) never runs past what datetime holds.
FIRST_MONTH, LAST_MONTH = "1970-01", "2999-12"
# The one check of a month, also published as the query parameters' pattern in the OpenAPI
# document (ECMA-262 and Python read it alike; it is applied with `fullmatch`).
MONTH_PATTERN = r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$"
MONTH_RULE = f"A month must be written as YYYY-MM, from {FIRST_MONTH} to {LAST_MONTH}."
_MONTH = re.compile(MONTH_PATTERN)


@dataclass(frozen=True)
class Period:
    """Whole UTC months, both ends included."""

    first: datetime  # the first instant of the first month
    last: datetime  # the first instant of the last month

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return self.last + relativedelta(months=1)

    @property
    def first_month(self) -> str:
        return month_label(self.first)

    @property
    def last_month(self) -> str:
        return month_label(self.last)

    def months(self) -> list[str]:
        out, month = [], self.first
        while month <= self.last:
            out.append(month_label(month))
            month += relativedelta(months=1)
        return out


def month_label(instant: datetime) -> str:
    return f"{instant.year:04d}-{instant.month:02d}"


def parse_month(text: str, field: str) -> datetime:
    """D18: the first instant of a month written YYYY-MM, 1970-01 to 2999-12 (UTC)."""
    match = _MONTH.fullmatch(text or "")
    if not match:
        raise Invalid.field(field, MONTH_RULE)
    return datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)


def period(first: str, last: str) -> Period:
    """D18: `from` and `to` as YYYY-MM from 1970-01 to 2999-12; `to` not before `from`; at
    most ten years. The one check of a period: the JSON and CSV report, the signed link and
    the page it leads to all call it."""
    start, stop = parse_month(first, "from"), parse_month(last, "to")
    if stop < start:
        raise Invalid.field("to", "The period ends before it starts.")
    months = (stop.year - start.year) * 12 + stop.month - start.month + 1
    if months > MAX_MONTHS:
        raise Invalid.field("to", f"A report covers at most {MAX_MONTHS} months.")
    return Period(start, stop)


def renewal_rate(renewed: int, due: int) -> Decimal | None:
    """The share of due terms renewed, to four places (half-up); None when none were due."""
    if due == 0:
        return None
    return (Decimal(renewed) / Decimal(due)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
