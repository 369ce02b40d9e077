"""What service tests start from, made through the services themselves."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from licensing.adapters.models import License, Order
from licensing.domain.licenses import Channel
from licensing.domain.orders import OrderKind
from licensing.domain.quotes import WorkCategory
from licensing.services import accounts, licenses, order_kinds, quotes
from tests.fakes import FakeGateway

_n = itertools.count(1)


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def a_customer(*, now: datetime) -> int:
    n = next(_n)
    return accounts.create_customer(email=f"c{n}@example.com", name=f"C {n}", now=now).id


def a_license(*, purchased_at: datetime, domain: str | None = None) -> License:
    """A Pro license bought directly at `purchased_at` (its year of updates from then)."""
    customer_id = a_customer(now=purchased_at)
    new = licenses.NewLicense(
        customer_id=customer_id,
        edition="pro",
        domain=domain or f"shop{next(_n)}.example.com",
        channel=Channel.DIRECT,
        purchased_at=purchased_at,
    )
    return licenses.issue_license(new=new, source="import", actor="test", now=purchased_at)


def a_purchase(gateway: FakeGateway, *, now: datetime, domain: str | None = None) -> Order:
    return order_kinds.create_order(
        OrderKind.PURCHASE,
        customer_id=a_customer(now=now),
        edition="pro",
        domain=domain or f"buy{next(_n)}.example.com",
        gateway=gateway,
        actor="test",
        now=now,
    )


def a_renewal(gateway: FakeGateway, license: License, *, now: datetime) -> Order:
    return order_kinds.create_order(
        OrderKind.RENEWAL, license_key=license.key, gateway=gateway, actor="test", now=now
    )


def a_work_order(gateway: FakeGateway, *, hours: int, now: datetime) -> Order:
    """A sent quote for `hours` of programming, accepted: its `work` order awaits payment."""
    quote = quotes.create_quote(
        customer_id=a_customer(now=now),
        lines=[quotes.NewLine(WorkCategory.PROGRAMMING, "a feature", quarters=4 * hours)],
        rate_per_hour=3000,
        actor="test",
        now=now,
    )
    quotes.send_quote(quote.id, actor="test", now=now)
    return order_kinds.create_order(
        OrderKind.WORK, quote_id=quote.id, gateway=gateway, actor="test", now=now
    )
