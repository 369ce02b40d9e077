"""The revenue report (D18): every paid order by month and kind, aggregated in SQL (GROUP BY
month on the orders' payment instant), the same answer on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from licensing.adapters.replica import report_read
from licensing.domain.money import CURRENCY, Money
from licensing.domain.orders import OrderKind
from licensing.domain.reports import Period
from licensing.services import report_rollup
from licensing.services.reports import NetOfRefunds, Totals


@dataclass(frozen=True)
class RevenueRow(NetOfRefunds):
    """The orders of one kind paid in one month; `refunded` is the part of that revenue
    given back since (refunded, or a dispute lost: D9)."""

    month: str
    kind: str
    count: int
    revenue: Money
    refunded: Money


@dataclass(frozen=True)
class KindTotals(NetOfRefunds):
    """The whole period's orders of one kind."""

    kind: str
    count: int
    revenue: Money
    refunded: Money


@dataclass(frozen=True)
class RevenueReport:
    """D18 for all revenue, as it is shown (JSON, CSV and the page alike): a row for every
    month of the period and every order kind, zeros included; amounts are the prices paid
    (D2), never re-computed."""

    period: Period
    currency: str
    rows: tuple[RevenueRow, ...]
    by_kind: tuple[KindTotals, ...]
    totals: Totals


def revenue_report(*, period: Period, edition: str | None) -> RevenueReport:
    found = _orders_by_month(period, edition)
    kinds = [kind.value for kind in OrderKind]  # whatever kinds there are, in their order
    zero = (0, 0, 0)
    rows = tuple(
        RevenueRow(m, k, c, Money(rev, CURRENCY), Money(ref, CURRENCY))
        for m in period.months()
        for k in kinds
        for c, rev, ref in [found.get((m, k), zero)]
    )
    by_kind = tuple(_of_kind(k, _sum(r for r in rows if r.kind == k)) for k in kinds)
    return RevenueReport(period, CURRENCY, rows, by_kind, _sum(rows))


def _of_kind(kind: str, totals: Totals) -> KindTotals:
    return KindTotals(kind, totals.count, totals.revenue, totals.refunded)


def _sum(rows: Iterable[RevenueRow]) -> Totals:
    listed = list(rows)
    return Totals(
        count=sum(r.count for r in listed),
        revenue=Money(sum(r.revenue.amount for r in listed), CURRENCY),
        refunded=Money(sum(r.refunded.amount for r in listed), CURRENCY),
    )


def _orders_by_month(period: Period, edition: str | None) -> dict[tuple[str, str], tuple[int, ...]]:
    """D18: the orders paid in each month, by kind, at the price paid (D2); what was given
    back since is netted out (D9). With `edition`, the orders of that edition only (paid
    work is of no edition). Read from the rollup."""
    stmt = report_rollup.read("orders", period.first_month, period.last_month, edition)
    found: dict[tuple[str, str], tuple[int, ...]] = {}
    for m, _edition, kind, *sums in report_read(stmt):
        so_far = found.get((m, kind), (0, 0, 0))
        found[(m, kind)] = tuple(a + b for a, b in zip(so_far, sums, strict=True))
    return found
