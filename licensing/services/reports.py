"""The renewal report (D18), aggregated in SQL: GROUP BY month on indexed columns, the same
answer on SQLite and PostgreSQL, no Python loop over licenses or renewals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, union_all
from sqlalchemy.orm import aliased

from licensing.adapters.models import Edition, License, Renewal
from licensing.adapters.replica import report_read
from licensing.domain.licenses import LicenseStatus
from licensing.domain.money import CURRENCY, Money, percent_of
from licensing.domain.renewals import PERCENT, RenewalRate
from licensing.domain.reports import Period, month_label, renewal_rate
from licensing.extensions import db


def month_of(column: Any) -> ColumnElement[str]:
    """`YYYY-MM` of a UTC instant, in the dialect at hand."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


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
    Prices are the ones paid (D2), never today's list price."""
    month = month_of(Renewal.paid_at).label("month")
    refunded = func.sum(case((Renewal.refunded_at.is_not(None), Renewal.price_amount), else_=0))
    stmt = (
        select(
            month,
            Renewal.edition_code,
            Renewal.rate,
            func.count(Renewal.id),
            func.sum(Renewal.price_amount),
            refunded,
        )
        .where(Renewal.paid_at >= period.first, Renewal.paid_at < period.end)
        .group_by(month, Renewal.edition_code, Renewal.rate)
        .order_by(month, Renewal.edition_code, Renewal.rate)
    )
    if edition:
        stmt = stmt.where(Renewal.edition_code == edition)
    return [
        Row(m, e, r, int(c), Money(int(rev or 0), CURRENCY), Money(int(ref or 0), CURRENCY))
        for m, e, r, c, rev, ref in report_read(stmt)
    ]


def _renewal_rate(period: Period, edition: str | None) -> list[RateRow]:
    """D18: each term that ended in the month (a license's first term, or a renewal's), and
    whether it was renewed: in the preferential window, later at the standard rate, or not.
    Refunded renewals and revoked licenses are left out."""
    live = License.status != LicenseStatus.REVOKED.value
    first_terms = select(
        License.id.label("license_id"), License.initial_updates_until.label("ends_at")
    ).where(
        live,
        License.initial_updates_until >= period.first,
        License.initial_updates_until < period.end,
    )
    renewed_terms = (
        select(Renewal.license_id, Renewal.new_updates_until.label("ends_at"))
        .join(License, License.id == Renewal.license_id)
        .where(
            live,
            Renewal.refunded_at.is_(None),
            Renewal.new_updates_until >= period.first,
            Renewal.new_updates_until < period.end,
        )
    )
    if edition:
        first_terms = first_terms.where(License.edition_code == edition)
        renewed_terms = renewed_terms.where(License.edition_code == edition)
    terms = union_all(first_terms, renewed_terms).subquery("terms")
    following = aliased(Renewal)
    month = month_of(terms.c.ends_at).label("month")

    def is_rate(rate: RenewalRate) -> Any:
        return func.sum(case((following.rate == rate.value, 1), else_=0))

    stmt = (
        select(
            month,
            func.count(),
            is_rate(RenewalRate.PREFERENTIAL),
            is_rate(RenewalRate.STANDARD),
        )
        .select_from(terms)
        .outerjoin(
            following,
            and_(
                following.license_id == terms.c.license_id,
                following.old_updates_until == terms.c.ends_at,
                following.refunded_at.is_(None),
            ),
        )
        .group_by(month)
        .order_by(month)
    )
    found = {m: RateRow(m, int(d), int(p or 0), int(s or 0)) for m, d, p, s in report_read(stmt)}
    return [found.get(m, RateRow(m, 0, 0, 0)) for m in period.months()]


def _upcoming(period: Period, edition: str | None, now: datetime) -> list[UpcomingRow]:
    """D18: the months ahead (from the current one) in the period, the active licenses whose
    updates end then, and what renewing them all at the preferential rate would bring at
    today's list prices (D13), each price rounded half-up once (D1)."""
    start = max(period.first, now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    if start >= period.end:
        return []
    month = month_of(License.updates_until).label("month")
    stmt = (
        select(month, License.edition_code, func.count(License.id), Edition.price_amount)
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
