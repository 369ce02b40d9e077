"""The reports' monthly rollup (D18), exact and never stale.

The reports read `report_months` instead of aggregating every order, renewal and license of
the period (1.7 s at a million licenses). Each row is a sum over facts that belong to one
license (renewals, terms) or one order, so the rollup is kept by difference: before a flush
that touches a license, a renewal or an order, the figures of just those licenses and orders
are aggregated from the database; after it, again; the difference is added to the rollup in
the same transaction. Whatever changed them (a renewal, a refund, a dispute, an upgrade, a
purchase, paid work, a revocation) the rollup follows. Writes that bypass the ORM's unit of
work (Core `update()` of these tables, bulk loads) must call `rebuild()` or touch no summed
column; the two Core updates of orders today set only `refund_reason` and `cancelled_at`.

The aggregations below are the reference definition of the figures: `rebuild()` (the
migration's backfill and the demo data) runs them over everything, and the tests compare the
rollup with them on random histories.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    delete,
    event,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from licensing.adapters.models import License, Order, Renewal, ReportMonth
from licensing.adapters.types import insert_for
from licensing.domain.licenses import LicenseStatus
from licensing.domain.orders import DisputeOutcome
from licensing.domain.renewals import RenewalRate

Key = tuple[str, str, str, str]  # figure, month, edition, detail
Sums = dict[Key, tuple[int, int, int]]
_PENDING = "licensing.report_rollup"  # a key of Session.info


def month_in(dialect: str, column: Any) -> ColumnElement[str]:
    """`YYYY-MM` of a UTC instant, in the dialect at hand."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def renewals_by_month(dialect: str, license_ids: Iterable[int] | None = None) -> Select[Any]:
    """Renewals paid by month, edition and rate: count, revenue, refunded since (D9)."""
    month = month_in(dialect, Renewal.paid_at)
    refunded = func.sum(case((Renewal.refunded_at.is_not(None), Renewal.price_amount), else_=0))
    stmt = select(
        literal("renewals"),
        month,
        Renewal.edition_code,
        Renewal.rate,
        func.count(Renewal.id),
        func.sum(Renewal.price_amount),
        refunded,
    ).group_by(month, Renewal.edition_code, Renewal.rate)
    if license_ids is not None:
        stmt = stmt.where(Renewal.license_id.in_(list(license_ids)))
    return stmt


def terms_by_month(dialect: str, license_ids: Iterable[int] | None = None) -> Select[Any]:
    """Each term that ended (a license's first, or a renewal's) by month and the license's
    edition, and whether it was renewed: preferential, standard. Refunded renewals and
    revoked licenses are left out."""
    live = License.status != LicenseStatus.REVOKED.value
    first_terms = select(
        License.id.label("license_id"),
        License.edition_code.label("edition"),
        License.initial_updates_until.label("ends_at"),
    ).where(live)
    renewed_terms = (
        select(Renewal.license_id, License.edition_code, Renewal.new_updates_until)
        .join(License, License.id == Renewal.license_id)
        .where(live, Renewal.refunded_at.is_(None))
    )
    if license_ids is not None:
        ids = list(license_ids)
        first_terms = first_terms.where(License.id.in_(ids))
        renewed_terms = renewed_terms.where(License.id.in_(ids))
    terms = union_all(first_terms, renewed_terms).subquery("terms")
    following = aliased(Renewal)
    month = month_in(dialect, terms.c.ends_at)

    def is_rate(rate: RenewalRate) -> Any:
        return func.sum(case((following.rate == rate.value, 1), else_=0))

    return (
        select(
            literal("terms"),
            month,
            terms.c.edition,
            literal(""),
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
        .group_by(month, terms.c.edition)
    )


def orders_by_month(dialect: str, order_ids: Iterable[int] | None = None) -> Select[Any]:
    """Orders paid by month, edition (empty for paid work) and kind, at the price paid (D2):
    count, revenue, taken back since (refunded, or a dispute lost: D9)."""
    month = month_in(dialect, Order.paid_at)
    edition = func.coalesce(Order.edition_code, "")
    taken_back = or_(Order.refunded_at.is_not(None), Order.dispute == DisputeOutcome.LOST.value)
    stmt = (
        select(
            literal("orders"),
            month,
            edition,
            Order.kind,
            func.count(Order.id),
            func.sum(Order.price_amount),
            func.sum(case((taken_back, Order.price_amount), else_=0)),
        )
        .where(Order.paid_at.is_not(None))
        .group_by(month, edition, Order.kind)
    )
    if order_ids is not None:
        stmt = stmt.where(Order.id.in_(list(order_ids)))
    return stmt


def aggregate(conn: Connection, license_ids: Any = None, order_ids: Any = None) -> Sums:
    """The reference figures, of everything (ids None) or of the licenses and orders given."""
    dialect = conn.dialect.name
    statements = []
    if license_ids is None or license_ids:
        statements.append(renewals_by_month(dialect, license_ids))
        statements.append(terms_by_month(dialect, license_ids))
    if order_ids is None or order_ids:
        statements.append(orders_by_month(dialect, order_ids))
    sums: Sums = {}
    for stmt in statements:
        for figure, month, edition, detail, n1, n2, n3 in conn.execute(stmt):
            sums[(figure, month, edition, detail)] = (int(n1), int(n2 or 0), int(n3 or 0))
    return sums


def rebuild(conn: Connection) -> None:
    """The whole rollup again from the facts (the migrations' backfills, bulk loads), in the
    caller's transaction. On PostgreSQL the table is locked against writers first, readers
    going on with the old rows: a change committing meanwhile would add a row the DELETE did
    not see, and the INSERT would then add it again. Writers wait for the commit and add
    their difference to the rebuilt rows. On SQLite the DELETE's write lock does the same."""
    table = ReportMonth.__table__
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"LOCK TABLE {table.name} IN SHARE ROW EXCLUSIVE MODE"))
    conn.execute(delete(table))
    columns = ["figure", "month", "edition", "detail", "n1", "n2", "n3"]
    dialect = conn.dialect.name
    for stmt in (renewals_by_month(dialect), terms_by_month(dialect), orders_by_month(dialect)):
        conn.execute(table.insert().from_select(columns, stmt))


def stored(conn: Connection) -> Sums:
    """The rollup as stored, rows summing to nothing left out (the tests' side)."""
    rows = conn.execute(select(ReportMonth.__table__))
    return {
        (r.figure, r.month, r.edition, r.detail): (r.n1, r.n2, r.n3)
        for r in rows
        if (r.n1, r.n2, r.n3) != (0, 0, 0)
    }


def _add(conn: Connection, before: Sums, after: Sums) -> None:
    """Add `after - before` to the rollup, in key order (two transactions never lock the
    same rows in opposite orders)."""
    rows = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key, (0, 0, 0)), after.get(key, (0, 0, 0))
        delta = [n - o for n, o in zip(new, old, strict=True)]
        if any(delta):
            rows.append(dict(zip(("figure", "month", "edition", "detail"), key, strict=True)))
            rows[-1].update(n1=delta[0], n2=delta[1], n3=delta[2])
    if not rows:
        return
    table = ReportMonth.__table__
    insert = insert_for(conn.dialect.name, table)
    upsert = insert.on_conflict_do_update(
        index_elements=["figure", "month", "edition", "detail"],
        set_={n: table.c[n] + insert.excluded[n] for n in ("n1", "n2", "n3")},
    )
    conn.execute(upsert, rows)


def _touched(session: Session) -> tuple[list[Any], list[Any]]:
    """The licenses (and renewals, for their license) and orders this flush writes."""
    facts, orders = [], []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Order):
            orders.append(obj)
        elif isinstance(obj, License | Renewal):
            facts.append(obj)
    return facts, orders


def _license_ids(facts: list[Any]) -> set[int]:
    ids = {obj.id if isinstance(obj, License) else obj.license_id for obj in facts}
    return {i for i in ids if i is not None}


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    facts, orders = _touched(session)
    if not facts and not orders:
        return
    conn = session.connection()
    before = aggregate(conn, _license_ids(facts), {o.id for o in orders if o.id is not None})
    session.info[_PENDING] = (facts, orders, before)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    facts, orders, before = pending
    license_ids = _license_ids(facts)
    order_ids = {o.id for o in orders}
    conn = session.connection()
    after = aggregate(conn, license_ids, order_ids)
    _add(conn, before, after)


def read(figure: str, first_month: str, last_month: str, edition: str | None) -> Select[Any]:
    """One figure's rollup rows in a span of months (YYYY-MM sorts as text), of one edition
    or all: month, edition, detail and the three sums."""
    m = ReportMonth
    stmt = (
        select(m.month, m.edition, m.detail, m.n1, m.n2, m.n3)
        .where(m.figure == figure, m.month >= first_month, m.month <= last_month)
        .order_by(m.month, m.edition, m.detail)
    )
    return stmt.where(m.edition == edition) if edition else stmt
