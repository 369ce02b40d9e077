"""What a signed-in customer sees and may act on in the pages: only their own licenses,
orders and quotes (D24); anyone else's is answered exactly as one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from licensing.adapters.models import Customer, License, Order, Quote
from licensing.domain.errors import Conflict, NotFound
from licensing.domain.orders import OrderKind, OrderStatus
from licensing.domain.quotes import QuoteStatus
from licensing.extensions import db
from licensing.services.licenses import LicenseSummary, find_license, license_summary
from licensing.services.order_kinds import show_order
from licensing.services.orders import OrderView
from licensing.services.quotes import QuoteView, get_quote, show_quote
from licensing.services.renewals import RenewalOffer, renewal_quote

# The quotes a customer acts on or keeps as a record; drafts are the desk's own.
SHOWN_QUOTES = tuple(status.value for status in QuoteStatus if status is not QuoteStatus.DRAFT)


@dataclass(frozen=True)
class OwnedLicense:
    """A license on the account page: its summary, and what renewing costs now (R18, D13)
    with the day that rate holds until, or why it cannot be renewed now."""

    license: LicenseSummary
    renewal: RenewalOffer | None
    renewal_refused: str | None


@dataclass(frozen=True)
class AccountView:
    customer_id: int
    name: str
    email: str
    licenses: tuple[OwnedLicense, ...]
    orders: tuple[OrderView, ...]
    quotes: tuple[QuoteView, ...]


def show_account(customer_id: int, *, now: datetime) -> AccountView:
    """The account page: the customer's licenses, orders (newest first) and sent quotes."""
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("There is no such account.", code="CUSTOMER_NOT_FOUND")
    licenses = db.session.execute(
        select(License).where(License.customer_id == customer_id).order_by(License.id)
    ).scalars()
    order_ids = db.session.execute(
        select(Order.id).where(Order.customer_id == customer_id).order_by(Order.id.desc())
    ).scalars()
    quote_ids = db.session.execute(
        select(Quote.id)
        .where(Quote.customer_id == customer_id, Quote.status.in_(SHOWN_QUOTES))
        .order_by(Quote.id.desc())
    ).scalars()
    return AccountView(
        customer_id=customer.id,
        name=customer.name,
        email=customer.email,
        licenses=tuple(_owned(license, now) for license in licenses),
        orders=tuple(show_order(order_id, paying=False, now=now) for order_id in order_ids),
        quotes=tuple(show_quote(quote_id, now=now) for quote_id in quote_ids),
    )


def _owned(license: License, now: datetime) -> OwnedLicense:
    try:
        offer, refused = renewal_quote(license.key, at=now), None
    except Conflict as conflict:  # D16 too early, or not live: the page says why
        offer, refused = None, str(conflict)
    return OwnedLicense(license=license_summary(license), renewal=offer, renewal_refused=refused)


def owned_license(customer_id: int, key: str) -> LicenseSummary:
    """D24: the customer's own license by its key; another's is not found, like no license."""
    summary = license_if_owned(customer_id, key)
    if summary is None:
        raise NotFound("There is no license with this key.", code="LICENSE_NOT_FOUND")
    return summary


def license_if_owned(customer_id: int, key: str) -> LicenseSummary | None:
    """The license by its key while it is the customer's; None once transferred (D21)."""
    license = find_license(key)
    return license_summary(license) if license.customer_id == customer_id else None


@dataclass(frozen=True)
class OrderGave:
    """What a paid order gave, on its receipt: a purchase's key, a renewal's new end."""

    license_key: str | None = None
    updates_until: datetime | None = None


def what_the_order_gave(order: OrderView) -> OrderGave:
    """A paid order's license details while its customer still owns the license; nothing
    once it was transferred (D21): the receipt stays the buyer's, the license does not."""
    owned = None
    if order.status == OrderStatus.PAID and order.license_key:
        owned = license_if_owned(order.customer_id, order.license_key)
    if owned is None:
        return OrderGave()
    if order.kind == OrderKind.PURCHASE:
        return OrderGave(license_key=owned.key)
    if order.kind == OrderKind.RENEWAL:
        return OrderGave(updates_until=owned.updates_until)
    return OrderGave()


def owned_order(customer_id: int, order_id: int, *, now: datetime) -> OrderView:
    """D24: the customer's own order, with the client secret while it can be paid."""
    order = show_order(order_id, paying=True, now=now)
    if order.customer_id != customer_id:
        raise NotFound(f"There is no order with the id {order_id}.", code="ORDER_NOT_FOUND")
    return order


def owned_quote(customer_id: int, quote_id: int, *, now: datetime) -> QuoteView:
    """D24: a quote sent to the customer; a draft or another's is not found."""
    quote = get_quote(quote_id)
    if quote.customer_id != customer_id or quote.status not in SHOWN_QUOTES:
        raise NotFound(f"There is no quote with the id {quote_id}.", code="QUOTE_NOT_FOUND")
    return show_quote(quote_id, now=now)
