"""Renewing the updates subscription: quotes, renewal orders (the `renewal` kind), and
applying or taking back a paid renewal (R18, D8, D9, D13-D16)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from licensing.adapters.models import Customer, Edition, License, Order, Renewal
from licensing.adapters.payments import PaymentGateway
from licensing.domain.licenses import LicenseStatus
from licensing.domain.money import Money
from licensing.domain.notices import NoticeType
from licensing.domain.orders import OrderKind, RefundReason, payment_taken_back
from licensing.domain.periods import rfc3339
from licensing.domain.renewals import (
    RenewalQuote,
    RenewalRate,
    ensure_renewable,
    extended_until,
    quote,
    recomputed_updates_until,
    refund_instead_of_renewal,
    renewed_terms,
)
from licensing.extensions import db
from licensing.services import notices
from licensing.services.licenses import find_license, record_event
from licensing.services.orders import open_order
from licensing.services.transactions import commit


def _quote_for(license: License, at: datetime) -> tuple[RenewalQuote, Edition]:
    """D13: priced from the edition's list price now, whatever `at` is."""
    ensure_renewable(LicenseStatus(license.status))
    edition = db.session.get(Edition, license.edition_code)
    assert edition is not None
    offer = quote(
        current_updates_until=license.updates_until, list_price=edition.price_amount, at=at
    )
    return offer, edition


@dataclass(frozen=True)
class RenewalOffer:
    """A renewal quote as it is shown: its price and the list price it is a percentage of
    (D13), and the dates it moves."""

    rate: RenewalRate
    percent: int
    price: Money
    list_price: Money
    preferential_until: datetime
    updates_until: datetime
    new_updates_until: datetime


def renewal_quote(key: str, *, at: datetime, partner_id: int | None = None) -> RenewalOffer:
    offer, edition = _quote_for(find_license(key, partner_id=partner_id), at)
    return RenewalOffer(
        rate=offer.rate,
        percent=offer.percent,
        price=Money(offer.price, edition.currency),
        list_price=Money(offer.list_price, edition.currency),
        preferential_until=offer.preferential_until,
        updates_until=offer.updates_until,
        new_updates_until=offer.new_updates_until,
    )


def create_renewal_order(
    *, license_key: str, gateway: PaymentGateway, actor: str, now: datetime
) -> Order:
    """D8: a renewal order with its rate and price locked now, paid like a purchase."""
    license = find_license(license_key, lock=True)
    offer, edition = _quote_for(license, now)
    customer = db.session.get(Customer, license.customer_id)
    assert customer is not None
    order = open_order(
        kind=OrderKind.RENEWAL,
        customer=customer,
        price=offer.price,
        list_price=offer.list_price,
        currency=edition.currency,
        gateway=gateway,
        actor=actor,
        now=now,
        edition_code=license.edition_code,
        license_id=license.id,
        rate=offer.rate.value,
        percent=offer.percent,
        quoted_updates_until=license.updates_until,
    )
    commit()
    return order


def apply_paid_renewal(order: Order, *, actor: str, now: datetime) -> RefundReason | None:
    """D15: move the license's dates and keep a renewal record, in the caller's transaction;
    or say why the payment must go back instead (the quote no longer holds)."""
    assert order.paid_at is not None and order.license_id is not None
    license = db.session.get(License, order.license_id, with_for_update=True)
    assert license is not None and order.quoted_updates_until is not None
    reason = refund_instead_of_renewal(
        paid_at=order.paid_at,
        order_expires_at=order.expires_at,
        expired=order.expired_at is not None,
        license_status=LicenseStatus(license.status),
        quoted_updates_until=order.quoted_updates_until,
        current_updates_until=license.updates_until,
    )
    if reason is not None:
        return reason
    new_until = extended_until(license.updates_until, order.paid_at)
    db.session.add(
        Renewal(
            license_id=license.id,
            order_id=order.id,
            edition_code=order.edition_code,
            rate=order.rate,
            percent=order.percent,
            price_amount=order.price_amount,
            list_price_amount=order.list_price_amount,
            currency=order.currency,
            old_updates_until=license.updates_until,
            new_updates_until=new_until,
            paid_at=order.paid_at,
        )
    )
    record_event(
        license,
        "renewed",
        actor=actor,
        at=now,
        order_id=order.id,
        rate=order.rate,
        old_updates_until=rfc3339(license.updates_until),
        new_updates_until=rfc3339(new_until),
    )
    old_until, license.updates_until = license.updates_until, new_until
    notices.emit(
        license,
        NoticeType.LICENSE_RENEWED,
        f"order:{order.id}",
        now=now,
        order_id=order.id,
        rate=order.rate or "",
        previous_updates_until=rfc3339(old_until),
    )
    return None


def take_back_renewal(order: Order, *, actor: str, now: datetime) -> None:
    """D9: a refunded (or lost in dispute) renewal gives its year back; `updates_until` is
    recomputed from the first term and the renewals that still stand, not subtracted. So are
    the terms those renewals extend (their `old_`/`new_updates_until`), which the renewal
    report counts (D18): a renewal paid after the one taken back now extends an earlier
    term."""
    license_id = db.session.execute(
        select(Renewal.license_id).where(Renewal.order_id == order.id)
    ).scalar_one_or_none()
    if license_id is None:
        return
    # The license first, then its renewals: the order every path that changes a license's
    # renewals locks in (a payment locks the license before it adds one), so that two
    # refunds of one license's renewals queue on the license instead of deadlocking.
    license = db.session.get(License, license_id, with_for_update=True)
    assert license is not None
    renewal = db.session.execute(
        select(Renewal)
        .where(Renewal.order_id == order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if renewal.refunded_at is not None:
        return
    renewal.refunded_at = now
    standing = db.session.execute(
        select(Renewal)
        .where(Renewal.license_id == license.id, Renewal.refunded_at.is_(None))
        .order_by(Renewal.paid_at, Renewal.id)
        .with_for_update()
    ).scalars()
    renewals = list(standing)
    paid = [kept.paid_at for kept in renewals]
    terms = renewed_terms(license.initial_updates_until, paid)
    for kept, (old, new) in zip(renewals, terms, strict=True):
        kept.old_updates_until, kept.new_updates_until = old, new
    new_until = recomputed_updates_until(license.initial_updates_until, paid)
    record_event(
        license,
        "renewal_taken_back",
        actor=actor,
        at=now,
        order_id=order.id,
        old_updates_until=rfc3339(license.updates_until),
        new_updates_until=rfc3339(new_until),
    )
    license.updates_until = new_until


class RenewalOrders:
    """The `renewal` kind: it locks a rate and a price on the license's current term (D8,
    D13), its payment renews (D15, D16), and taking the money back takes the year back (D9)."""

    def open(self, *, gateway: PaymentGateway, actor: str, now: datetime, **request: Any) -> Order:
        """`license_key`: see `create_renewal_order`."""
        return create_renewal_order(**request, gateway=gateway, actor=actor, now=now)

    def apply_payment(self, order: Order, *, actor: str, now: datetime) -> RefundReason | None:
        """D15: renew once per order; a payment that no longer buys what was quoted goes back."""
        if _renewal_recorded(order):
            return None
        return apply_paid_renewal(order, actor=actor, now=now)

    def follow_payment_facts(self, order: Order, *, actor: str, now: datetime) -> None:
        """D9: a refunded renewal, or one whose dispute was lost, gives its year back; the
        license stays active (a renewal refund is not a purchase refund)."""
        if payment_taken_back(order.facts):
            take_back_renewal(order, actor=actor, now=now)

    def shown(self, order: Order) -> Mapping[str, object]:
        """The rate and percent locked, and the list price they are a percentage of (D13)."""
        return {
            "rate": order.rate,
            "percent": order.percent,
            "list_price": Money(order.list_price_amount, order.currency),
        }


def _renewal_recorded(order: Order) -> bool:
    found = db.session.execute(select(Renewal.id).where(Renewal.order_id == order.id)).first()
    return found is not None


RENEWAL = RenewalOrders()
