"""Demo purchase and paid-work orders for the licenses `demo_data` writes, so that the revenue
report (D18) has every kind of order to show.

They come from a random generator of their own, seeded from the same seed, and their rows are
written after the licenses' and renewals': the rows the demo wrote before them stay the same
for the same seed, and so do the renewal report's numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from licensing.domain.orders import OrderKind, OrderStatus
from licensing.domain.quotes import QuoteStatus, WorkCategory, amount_for

RATE_PER_HOUR = 3000  # R14: $30.00
WORK_SHARE = 0.1  # one direct license in ten has a piece of paid work
WORK_REFUNDED = 0.03


@dataclass
class DemoOrders:
    orders: list[dict[str, Any]] = field(default_factory=list)
    quotes: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    purchases: int = 0
    work: int = 0


def purchases_and_work(
    licenses: list[dict[str, Any]],
    *,
    prices: dict[str, int],
    order_id: int,
    quote_id: int,
    seed: int,
    now: datetime,
) -> DemoOrders:
    """D7: each license sold directly was a purchase order paid when it was bought, at its
    edition's list price; some were followed by paid work (R14, D12), a few refunded."""
    rng = random.Random(f"{seed}:purchases-and-work")
    out = DemoOrders()
    for lic in licenses:
        if lic["channel"] != "direct":
            continue  # a partner sells and is paid outside the service (R3)
        paid_at = lic["purchased_at"]
        out.orders.append(
            _paid(order_id, OrderKind.PURCHASE, lic, prices[lic["edition_code"]], paid_at)
            | {"edition_code": lic["edition_code"], "domain": lic["domain"]}
        )
        out.purchases, order_id = out.purchases + 1, order_id + 1
        if rng.random() >= WORK_SHARE:
            continue
        worked_at = paid_at + timedelta(seconds=rng.randrange(30 * 86400, 5 * 365 * 86400))
        quarters = rng.randrange(1, 41) * 2  # half an hour to 20 hours
        refunded = rng.random() < WORK_REFUNDED
        if worked_at > now:
            continue
        amount = amount_for(quarters, RATE_PER_HOUR)
        order = _paid(order_id, OrderKind.WORK, lic, amount, worked_at)
        if refunded:
            back = worked_at + timedelta(days=3)
            order |= {"status": OrderStatus.REFUNDED.value, "refunded_at": back}
        out.orders.append(order)
        out.quotes.append(_quote(quote_id, order, quarters, refunded))
        out.lines.append(
            {
                "quote_id": quote_id,
                "position": 0,
                "category": rng.choice(list(WorkCategory)).value,
                "service": None,
                "description": "Demo work",
                "quarters": quarters,
            }
        )
        out.work, order_id, quote_id = out.work + 1, order_id + 1, quote_id + 1
    return out


def _paid(oid: int, kind: OrderKind, lic: dict[str, Any], price: int, at: datetime) -> dict:
    return {
        "id": oid,
        "kind": kind.value,
        "status": OrderStatus.PAID.value,
        "customer_id": lic["customer_id"],
        "edition_code": None,
        "domain": None,
        "license_id": lic["id"],
        "price_amount": price,
        "list_price_amount": price,
        "currency": "USD",
        "rate": None,
        "percent": None,
        "quoted_updates_until": None,
        "created_at": at - timedelta(minutes=5),
        "expires_at": at + timedelta(hours=24),
        "created_by": "demo-data",
        "paid_at": at,
        "refunded_at": None,
    }


def _quote(qid: int, order: dict[str, Any], quarters: int, refunded: bool) -> dict[str, Any]:
    """The paid quote behind a work order; a refunded one is cancelled (D20)."""
    paid_at = order["paid_at"]
    status = QuoteStatus.CANCELLED if refunded else QuoteStatus.PAID
    return {
        "id": qid,
        "customer_id": order["customer_id"],
        "license_id": order["license_id"],
        "status": status.value,
        "rate_per_hour": RATE_PER_HOUR,
        "currency": "USD",
        "total_quarters": quarters,
        "amount": order["price_amount"],
        "created_at": paid_at - timedelta(days=2),
        "created_by": "demo-data",
        "sent_at": paid_at - timedelta(days=2),
        "valid_until": paid_at + timedelta(days=12),
        "accepted_at": order["created_at"],
        "order_id": order["id"],
        "paid_at": paid_at,
        "closed_at": order["refunded_at"],
    }
