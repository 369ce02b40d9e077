"""Demo renewals for the licenses `demo_data` writes: when each license's updates were
renewed (or the renewal refunded), at which rate and price and for which term, as the renewal
orders and renewal rows a real history would leave. The rules are the domain's (D1, D9, D14,
D15); only the customers' choices are drawn at random.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from licensing.domain.orders import OrderKind, OrderStatus
from licensing.domain.renewals import RenewalQuote, extended_until, quote


@dataclass(frozen=True)
class DemoSale:
    """A demo license as sold: its customer, edition and the edition's list price."""

    license_id: int
    customer_id: int
    edition: str
    list_price: int


@dataclass(frozen=True)
class RenewalPayment:
    """A renewal of a demo license paid at `paid_at`, as the domain quotes it (R18, D13-D16:
    its rate, price and the term it buys); a refunded one is given back three days later."""

    sale: DemoSale
    quote: RenewalQuote
    paid_at: datetime
    refund: bool

    @property
    def refunded_at(self) -> datetime | None:
        return self.paid_at + timedelta(days=3) if self.refund else None


@dataclass
class DemoRenewals:
    """The renewal orders and renewal rows made so far, in the order they were made: each id
    is the first free one plus the count made before it."""

    first_order_id: int
    first_renewal_id: int
    orders: list[dict[str, Any]] = field(default_factory=list)
    renewals: list[dict[str, Any]] = field(default_factory=list)
    refunded: int = 0

    @property
    def next_order_id(self) -> int:
        return self.first_order_id + len(self.orders)

    def add(
        self, rng: random.Random, sale: DemoSale, updates_until: datetime, now: datetime
    ) -> datetime:
        """The sale's renewals from its first term's `updates_until` up to `now`; the
        `updates_until` they reach, a refunded one extending nothing (D9/D15)."""
        for paid_at, refund in _renewal_payments(rng, updates_until, now):
            terms = quote(
                current_updates_until=updates_until, list_price=sale.list_price, at=paid_at
            )
            payment = RenewalPayment(sale=sale, quote=terms, paid_at=paid_at, refund=refund)
            order_id = self.next_order_id
            self.orders.append(_order(order_id, payment))
            self.renewals.append(
                _renewal(self.first_renewal_id + len(self.renewals), order_id, payment)
            )
            self.refunded += refund
            if not refund:
                updates_until = terms.new_updates_until
        return updates_until


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


def _order(oid: int, payment: RenewalPayment) -> dict[str, Any]:
    status = OrderStatus.REFUNDED if payment.refund else OrderStatus.PAID
    return {
        "id": oid,
        "kind": OrderKind.RENEWAL.value,
        "status": status.value,
        "customer_id": payment.sale.customer_id,
        "edition_code": payment.sale.edition,
        "license_id": payment.sale.license_id,
        "price_amount": payment.quote.price,
        "list_price_amount": payment.sale.list_price,
        "currency": "USD",
        "rate": payment.quote.rate.value,
        "percent": payment.quote.percent,
        "quoted_updates_until": payment.quote.updates_until,
        "created_at": payment.paid_at - timedelta(minutes=5),
        "expires_at": payment.paid_at + timedelta(hours=24),
        "created_by": "demo-data",
        "paid_at": payment.paid_at,
        "refunded_at": payment.refunded_at,
    }


def _renewal(rid: int, order_id: int, payment: RenewalPayment) -> dict[str, Any]:
    return {
        "id": rid,
        "license_id": payment.sale.license_id,
        "order_id": order_id,
        "edition_code": payment.sale.edition,
        "rate": payment.quote.rate.value,
        "percent": payment.quote.percent,
        "price_amount": payment.quote.price,
        "list_price_amount": payment.sale.list_price,
        "currency": "USD",
        "old_updates_until": payment.quote.updates_until,
        "new_updates_until": payment.quote.new_updates_until,
        "paid_at": payment.paid_at,
        "refunded_at": payment.refunded_at,
    }
