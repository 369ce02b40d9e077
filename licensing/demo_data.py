"""Seeded, reproducible demo data: licenses over several years with renewals and refunds,
the purchase orders of the licenses sold directly, and some paid work (`demo_orders`).

A release history comes with it (one release every four months, the newest ten days old),
so that `validate` with a `version` answers from the start (D17).

For `make run`'s small demo and for the benchmarks' million licenses. Rows are written in
bulk (core INSERTs in chunks), dates and prices come from the domain rules, so reports over
this data are what real data would give. Generated licenses carry no history rows.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, insert, select, text

from licensing import demo_orders
from licensing.adapters.models import (
    Customer,
    Edition,
    License,
    Order,
    Partner,
    Quote,
    QuoteLine,
    Release,
    Renewal,
)
from licensing.domain.license_keys import generate_license_key
from licensing.domain.money import percent_of
from licensing.domain.orders import OrderKind, OrderStatus
from licensing.domain.periods import license_dates
from licensing.domain.renewals import PERCENT, RenewalRate, extended_until, rate_at
from licensing.extensions import db
from licensing.services import report_rollup
from licensing.services.transactions import commit

CHUNK = 5000
YEARS_BACK = 5


@dataclass(frozen=True)
class DemoSummary:
    customers: int
    licenses: int
    renewals: int
    refunded: int
    releases: int
    purchases: int = 0  # purchase orders, one per license sold directly
    work: int = 0  # paid work orders


def _next_id(model: Any) -> int:
    return int(db.session.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()) + 1


def _bulk(model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(model), rows[start : start + CHUNK])


def generate(*, licenses: int, seed: int, now: datetime) -> DemoSummary:
    """Write `licenses` licenses (about two per customer, one in twenty sold by a partner)."""
    rng = random.Random(seed)
    prices = {e.code: e.price_amount for e in db.session.execute(select(Edition)).scalars()}
    customer_id, license_id = _next_id(Customer), _next_id(License)
    order_id, renewal_id = _next_id(Order), _next_id(Renewal)
    partner_id = _demo_partner(now)
    releases = _demo_releases(now)
    customers, rows, orders, renewals = [], [], [], []
    refunded = 0
    for n in range(licenses):
        if n % 2 == 0:
            customers.append(
                {
                    "id": customer_id + n // 2,
                    "email": f"demo{customer_id + n // 2}@demo.example",
                    "name": f"Demo customer {customer_id + n // 2}",
                    "created_at": now,
                }
            )
        edition = "premium" if rng.random() < 0.3 else "pro"
        purchased = now - timedelta(seconds=rng.randrange(YEARS_BACK * 365 * 86400))
        dates = license_dates(purchased.replace(microsecond=0))
        until = dates.updates_until
        lid = license_id + n
        for paid_at, refund in _renewal_payments(rng, until, now):
            new_until = extended_until(until, paid_at)
            rate = rate_at(until, paid_at)
            price = percent_of(prices[edition], PERCENT[rate])
            orders.append(
                _order(
                    order_id,
                    customer_id + n // 2,
                    edition,
                    lid,
                    price,
                    prices[edition],
                    rate.value,
                    until,
                    paid_at,
                    refund,
                )
            )
            renewals.append(
                {
                    "id": renewal_id,
                    "license_id": lid,
                    "order_id": order_id,
                    "edition_code": edition,
                    "rate": rate.value,
                    "percent": PERCENT[rate],
                    "price_amount": price,
                    "list_price_amount": prices[edition],
                    "currency": "USD",
                    "old_updates_until": until,
                    "new_updates_until": new_until,
                    "paid_at": paid_at,
                    "refunded_at": paid_at + timedelta(days=3) if refund else None,
                }
            )
            refunded += refund
            order_id, renewal_id = order_id + 1, renewal_id + 1
            if not refund:
                until = new_until
        partner = rng.random() < 0.05
        rows.append(
            {
                "id": lid,
                "key": generate_license_key(randbelow=rng.randrange),
                "edition_code": edition,
                "domain": f"shop{lid}.demo.example",
                "customer_id": customer_id + n // 2,
                "channel": "partner" if partner else "direct",
                "partner_id": partner_id if partner else None,
                "status": "active",
                "purchased_at": dates.purchased_at,
                "support_until": dates.support_until,
                "updates_until": until,
                "initial_updates_until": dates.updates_until,
                "created_at": now,
            }
        )
    # After every row above, from a generator of their own: those rows stay the same.
    more = demo_orders.purchases_and_work(
        rows, prices=prices, order_id=order_id, quote_id=_next_id(Quote), seed=seed, now=now
    )
    for model, batch in (
        (Customer, customers),
        (License, rows),
        (Order, orders),
        (Renewal, renewals),
        (Order, more.orders),
        (Quote, more.quotes),
        (QuoteLine, more.lines),
    ):
        _bulk(model, batch)
    _advance_sequences()
    # Bulk rows bypass the unit of work that keeps the reports' rollup: one rebuild in SQL.
    report_rollup.rebuild(db.session.connection())
    commit()
    return DemoSummary(
        len(customers), len(rows), len(renewals), refunded, releases, more.purchases, more.work
    )


def _renewal_payments(
    rng: random.Random, until: datetime, now: datetime
) -> Iterator[tuple[datetime, bool]]:
    """Renew in the window 60% of the time, later 15%; stop otherwise; 3% refunded."""
    while True:
        roll = rng.random()
        if roll < 0.60:
            paid_at = until - timedelta(days=rng.randrange(0, 45))  # up to a month and a half early
        elif roll < 0.75:
            paid_at = until + timedelta(days=rng.randrange(32, 300))
        else:
            return
        if paid_at > now:
            return
        refund = rng.random() < 0.03
        yield paid_at.replace(microsecond=0), refund
        if not refund:
            until = extended_until(until, paid_at)


def _order(
    oid: int,
    customer: int,
    edition: str,
    license_id: int,
    price: int,
    list_price: int,
    rate: str,
    quoted: datetime,
    paid_at: datetime,
    refund: bool,
) -> dict[str, Any]:
    status = OrderStatus.REFUNDED if refund else OrderStatus.PAID
    return {
        "id": oid,
        "kind": OrderKind.RENEWAL.value,
        "status": status.value,
        "customer_id": customer,
        "edition_code": edition,
        "license_id": license_id,
        "price_amount": price,
        "list_price_amount": list_price,
        "currency": "USD",
        "rate": rate,
        "percent": PERCENT[RenewalRate(rate)],
        "quoted_updates_until": quoted,
        "created_at": paid_at - timedelta(minutes=5),
        "expires_at": paid_at + timedelta(hours=24),
        "created_by": "demo-data",
        "paid_at": paid_at,
        "refunded_at": paid_at + timedelta(days=3) if refund else None,
    }


def _demo_partner(now: datetime) -> int:
    existing = db.session.execute(select(Partner.id).where(Partner.name == "Demo Partner")).scalar()
    if existing:
        return int(existing)
    partner = Partner(
        name="Demo Partner",
        support_email="help@partner.demo.example",
        support_url=None,
        created_at=now,
    )
    db.session.add(partner)
    db.session.flush()
    return partner.id


def _demo_releases(now: datetime) -> int:
    """Versions 4.0.0 to 9.0.0, one every four months up to ten days ago; none if any exist."""
    if db.session.execute(select(Release.id).limit(1)).first() is not None:
        return 0
    newest = (now - timedelta(days=10)).replace(hour=12, minute=0, second=0, microsecond=0)
    count = YEARS_BACK * 3 + 1
    for n in range(count):
        db.session.add(
            Release(
                version=f"{4 + n // 3}.{n % 3}.0",
                released_at=newest - relativedelta(months=4 * (count - 1 - n)),
                created_at=now,
            )
        )
    return count


def _advance_sequences() -> None:
    """Rows were written with their ids: move PostgreSQL's sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("customers", "licenses", "orders", "renewals", "quotes"):
        sequence = f"pg_get_serial_sequence('{table}', 'id')"
        db.session.execute(text(f"SELECT setval({sequence}, (SELECT MAX(id) FROM {table}))"))


def has_licenses() -> bool:
    return db.session.execute(select(License.id).limit(1)).first() is not None
