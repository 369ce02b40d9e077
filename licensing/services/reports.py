"""The renewal report (D18), aggregated in SQL: GROUP BY month on indexed columns, the same
answer on SQLite and PostgreSQL, no Python loop over licenses or renewals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select

from licensing.adapters.models import Edition, License
from licensing.adapters.replica import report_read
from licensing.domain.licenses import LicenseStatus
from licensing.domain.money import CURRENCY, Money, percent_of
from licensing.domain.renewals import PERCENT, RenewalRate
from licensing.domain.reports import Period, month_label, renewal_rate
from licensing.extensions import db
from licensing.services import report_rollup


def month_of(column: Any) -> ColumnElement[str]:
    """`YYYY-MM` of a UTC instant, in the dialect at hand."""
    return report_rollup.month_in(db.engine.dialect.name, column)


class NetOfRefunds:
    """D18: revenue less the part of it refunded since (refunds netted out)."""

    revenue: Money
    refunded: Money

    @property
    def net(self) -> Money:
        return Money(self.revenue.amount - self.refunded.amount, self.revenue.currency)


@dataclass(frozen=True)
class Row(NetOfRefunds):
    month: str
    edition: str
    rate: str
    count: int
    revenue: Money
    refunded: Money  # of that revenue, what was refunded since (D9)


@dataclass(frozen=True)
class Totals(NetOfRefunds):
    count: int
    revenue: Money
    refunded: Money


@dataclass(frozen=True)
class RateRow:
    month: str
    due: int
    renewed_preferential: int
    renewed_standard: int

    @property
    def not_renewed(self) -> int:
        return self.due - self.renewed_preferential - self.renewed_standard

    @property
    def rate(self) -> Decimal | None:
        return renewal_rate(self.renewed_preferential + self.renewed_standard, self.due)


@dataclass(frozen=True)
class UpcomingRow:
    month: str
    expiring: int
    potential_revenue: Money


@dataclass(frozen=True)
class RenewalReport:
    """D18 as it is shown (JSON, CSV and the page alike); amounts are the prices paid (D2)."""

    period: Period
    currency: str
    rows: tuple[Row, ...]
    totals: Totals
    renewal_rate: tuple[RateRow, ...]
    upcoming: tuple[UpcomingRow, ...]


def renewal_report(*, period: Period, edition: str | None, now: datetime) -> RenewalReport:
    rows = _renewals_by_month(period, edition)
    totals = Totals(
        count=sum(r.count for r in rows),
        revenue=Money(sum(r.revenue.amount for r in rows), CURRENCY),
        refunded=Money(sum(r.refunded.amount for r in rows), CURRENCY),
    )
    return RenewalReport(
        period=period,
        currency=CURRENCY,
        rows=tuple(rows),
        totals=totals,
        renewal_rate=tuple(_renewal_rate(period, edition)),
        upcoming=tuple(_upcoming(period, edition, now)),
    )


def _renewals_by_month(period: Period, edition: str | None) -> list[Row]:
    """D18: renewals paid in each month by edition and rate; refunds netted out (D9).
    Prices are the ones paid (D2), never today's list price. Read from the rollup."""
    stmt = report_rollup.read("renewals", period.first_month, period.last_month, edition)
    return [
        Row(m, e, r, c, Money(rev, CURRENCY), Money(ref, CURRENCY))
        for m, e, r, c, rev, ref in report_read(stmt)
        if c
    ]


def _renewal_rate(period: Period, edition: str | None) -> list[RateRow]:
    """D18: each term that ended in the month (a license's first term, or a renewal's), and
    whether it was renewed: in the preferential window, later at the standard rate, or not.
    Refunded renewals and revoked licenses are left out. Read from the rollup."""
    stmt = report_rollup.read("terms", period.first_month, period.last_month, edition)
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for m, _edition, _detail, *sums in report_read(stmt):
        found[m] = [a + b for a, b in zip(found[m], sums, strict=True)]
    return [RateRow(m, *found[m]) if m in found else RateRow(m, 0, 0, 0) for m in period.months()]


def _upcoming(period: Period, edition: str | None, now: datetime) -> list[UpcomingRow]:
    """D18: the months ahead (from the current one) in the period, the active licenses whose
    updates end then, and what renewing them all at the preferential rate would bring at
    today's list prices (D13), each price rounded half-up once (D1)."""
    start = max(period.first, now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    if start >= period.end:
        return []
    month = month_of(License.updates_until).label("month")
    stmt = (
        select(month, License.edition_code, func.count(), Edition.price_amount)
        .join(Edition, Edition.code == License.edition_code)
        .where(
            License.status == LicenseStatus.ACTIVE.value,
            License.updates_until >= max(start, now),
            License.updates_until < period.end,
        )
        .group_by(month, License.edition_code, Edition.price_amount)
    )
    if edition:
        stmt = stmt.where(License.edition_code == edition)
    expiring: dict[str, int] = defaultdict(int)
    revenue: dict[str, int] = defaultdict(int)
    for m, _edition, count, list_price in report_read(stmt):
        expiring[m] += int(count)
        revenue[m] += int(count) * percent_of(int(list_price), PERCENT[RenewalRate.PREFERENTIAL])
    months = [m for m in period.months() if m >= month_label(start)]
    return [UpcomingRow(m, expiring[m], Money(revenue[m], CURRENCY)) for m in months]
