"""Finance's renewal report (D18): the period, its months, and the arithmetic on the counts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta

from licensing.domain.errors import Invalid

MAX_MONTHS = 120  # ten years: more is not a report, it is an export
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Period:
    """Whole UTC months, both ends included."""

    first: datetime  # the first instant of the first month
    last: datetime  # the first instant of the last month

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return self.last + relativedelta(months=1)

    def months(self) -> list[str]:
        out, month = [], self.first
        while month <= self.last:
            out.append(month_label(month))
            month += relativedelta(months=1)
        return out


def month_label(instant: datetime) -> str:
    return f"{instant.year:04d}-{instant.month:02d}"


def parse_month(text: str, field: str) -> datetime:
    match = _MONTH.fullmatch(text or "")
    if not match:
        raise Invalid.field(field, "a month as YYYY-MM")
    return datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)


def period(first: str, last: str) -> Period:
    """D18: `from` and `to` as YYYY-MM; `to` not before `from`; at most ten years."""
    start, stop = parse_month(first, "from"), parse_month(last, "to")
    if stop < start:
        raise Invalid.field("to", "the period ends before it starts")
    months = (stop.year - start.year) * 12 + stop.month - start.month + 1
    if months > MAX_MONTHS:
        raise Invalid.field("to", f"a report covers at most {MAX_MONTHS} months")
    return Period(start, stop)


def renewal_rate(renewed: int, due: int) -> Decimal | None:
    """The share of due terms renewed, to four places (half-up); None when none were due."""
    if due == 0:
        return None
    return (Decimal(renewed) / Decimal(due)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
