"""Seeded, reproducible demo data: licenses over several years with renewals and refunds
(`demo_renewals`), the purchase orders of the licenses sold directly, and some paid work
(`demo_orders`).

A release history comes with it (one release every four months, the newest ten days old),
so that `validate` with a `version` answers from the start (D17).

For `make run`'s small demo and for the benchmarks' million licenses. Rows are written in
bulk (core INSERTs in chunks), dates and prices come from the domain rules, so reports over
this data are what real data would give. Generated licenses carry no history rows.
"""

from __future__ import annotations

import random
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
from licensing.demo_renewals import DemoRenewals, DemoSale
from licensing.domain.license_keys import generate_license_key
from licensing.domain.periods import license_dates
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


@dataclass(frozen=True)
class _DemoRun:
    """What every license of one `generate` shares: the seeded generator, the list prices,
    the demo partner, the renewals made so far and the time the data is made at."""

    rng: random.Random
    prices: dict[str, int]
    partner_id: int
    renewals: DemoRenewals
    now: datetime


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
    renewals = DemoRenewals(first_order_id=_next_id(Order), first_renewal_id=_next_id(Renewal))
    run = _DemoRun(rng, prices, _demo_partner(now), renewals, now)
    releases = _demo_releases(now)
    customers, rows = [], []
    for n in range(licenses):
        if n % 2 == 0:
            customers.append(_customer(customer_id + n // 2, now))
        rows.append(_license(run, license_id + n, customer_id + n // 2))
    # After every row above, from a generator of their own: those rows stay the same.
    more = demo_orders.purchases_and_work(
        rows,
        prices=prices,
        order_id=renewals.next_order_id,
        quote_id=_next_id(Quote),
        seed=seed,
        now=now,
    )
    _write(customers, rows, renewals, more)
    return DemoSummary(
        len(customers),
        len(rows),
        len(renewals.renewals),
        renewals.refunded,
        releases,
        more.purchases,
        more.work,
    )


def _write(
    customers: list[dict[str, Any]],
    licenses: list[dict[str, Any]],
    renewals: DemoRenewals,
    more: demo_orders.DemoOrders,
) -> None:
    """Every row in bulk, the sequences moved past them, the reports' rollup rebuilt: one commit."""
    for model, batch in (
        (Customer, customers),
        (License, licenses),
        (Order, renewals.orders),
        (Renewal, renewals.renewals),
        (Order, more.orders),
        (Quote, more.quotes),
        (QuoteLine, more.lines),
    ):
        _bulk(model, batch)
    _advance_sequences()
    # Bulk rows bypass the unit of work that keeps the reports' rollup: one rebuild in SQL.
    report_rollup.rebuild(db.session.connection())
    commit()


def _customer(customer_id: int, now: datetime) -> dict[str, Any]:
    return {
        "id": customer_id,
        "email": f"demo{customer_id}@demo.example",
        "name": f"Demo customer {customer_id}",
        "created_at": now,
    }


def _license(run: _DemoRun, license_id: int, customer_id: int) -> dict[str, Any]:
    """A license bought up to five years ago, its renewals added to the run's; the generator
    is drawn in this order (edition, purchase, renewals, channel, key): the same seed, the
    same rows."""
    rng = run.rng
    edition = "premium" if rng.random() < 0.3 else "pro"
    purchased = run.now - timedelta(seconds=rng.randrange(YEARS_BACK * 365 * 86400))
    dates = license_dates(purchased.replace(microsecond=0))
    sale = DemoSale(license_id, customer_id, edition, run.prices[edition])
    updates_until = run.renewals.add(rng, sale, dates.updates_until, run.now)
    partner = rng.random() < 0.05
    key = generate_license_key(randbelow=rng.randrange)
    return {
        "id": license_id,
        "key": key,
        "edition_code": edition,
        "domain": f"shop{license_id}.demo.example",
        "customer_id": customer_id,
        "channel": "partner" if partner else "direct",
        "partner_id": run.partner_id if partner else None,
        "status": "active",
        "purchased_at": dates.purchased_at,
        "support_until": dates.support_until,
        "updates_until": updates_until,
        "initial_updates_until": dates.updates_until,
        "created_at": run.now,
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
