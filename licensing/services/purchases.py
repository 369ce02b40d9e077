"""Purchase orders: a new license for one domain, issued when its payment succeeds (D4, D7-D9)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from licensing.adapters.models import Edition, License, Order
from licensing.adapters.payments import PaymentGateway
from licensing.domain.domains import normalize_domain
from licensing.domain.errors import Conflict, Invalid
from licensing.domain.licenses import Channel, LicenseStatus
from licensing.domain.notices import NoticeType
from licensing.domain.orders import OrderKind, RefundReason, license_status, refund_instead_of_issue
from licensing.extensions import db
from licensing.services import notices
from licensing.services.accounts import named_customer
from licensing.services.licenses import (
    NewLicense,
    add_license,
    domain_is_free,
    ensure_domain_free,
    record_event,
)
from licensing.services.orders import open_order, record_order_event
from licensing.services.transactions import commit


def create_purchase_order(
    *,
    customer_id: int,
    edition: str,
    domain: str,
    gateway: PaymentGateway,
    actor: str,
    now: datetime,
) -> Order:
    """D7: an order for a new license at the edition's list price now (D2, D8)."""
    domain = normalize_domain(domain)
    customer = named_customer(customer_id)
    catalog = db.session.get(Edition, edition)
    if catalog is None:
        raise Invalid.field("edition", "There is no such edition.", code="EDITION_NOT_FOUND")
    ensure_domain_free(domain)
    order = open_order(
        kind=OrderKind.PURCHASE,
        customer=customer,
        price=catalog.price_amount,
        list_price=catalog.price_amount,
        currency=catalog.currency,
        gateway=gateway,
        actor=actor,
        now=now,
        edition_code=catalog.code,
        domain=domain,
    )
    commit()
    return order


class PurchaseOrders:
    """The `purchase` kind: it locks an edition's list price for a domain, and its payment
    issues the license, whose status then follows the payment (D9)."""

    def open(self, *, gateway: PaymentGateway, actor: str, now: datetime, **request: Any) -> Order:
        """`customer_id`, `edition`, `domain`: see `create_purchase_order`."""
        return create_purchase_order(**request, gateway=gateway, actor=actor, now=now)

    def apply_payment(self, order: Order, *, actor: str, now: datetime) -> RefundReason | None:
        """D7: issue the license once; a payment for an expired order (D8), or for a domain
        that another license took meanwhile (D4), goes back instead."""
        if order.license_id is not None:
            return None
        assert order.paid_at is not None and order.domain is not None
        reason = refund_instead_of_issue(
            paid_at=order.paid_at,
            order_expires_at=order.expires_at,
            expired=order.expired_at is not None,
            domain_free=domain_is_free(order.domain),
        )
        license = _issue_license(order, actor=actor, now=now) if reason is None else None
        if license is None:
            return reason or RefundReason.DOMAIN_TAKEN
        order.license_id = license.id
        order.license = license
        record_order_event(order, "license_issued", actor=actor, at=now, license_key=license.key)
        return None

    def follow_payment_facts(self, order: Order, *, actor: str, now: datetime) -> None:
        """D9: the license follows its order's payment facts, with history when it changes:
        refunded or lost in dispute, revoked (its domain is free); disputed, suspended."""
        if order.license_id is None:
            return
        license = db.session.get(License, order.license_id, with_for_update=True)
        assert license is not None
        status = license_status(order.facts, LicenseStatus(license.status))
        if license.status == status.value:
            return
        record_event(
            license,
            "status_changed",
            actor=actor,
            at=now,
            old=license.status,
            new=status.value,
            order_id=order.id,
        )
        license.status = status.value
        if status is LicenseStatus.REVOKED:
            notices.emit(license, NoticeType.LICENSE_REVOKED, "revoked", now=now, order_id=order.id)

    def shown(self, order: Order) -> Mapping[str, object]:
        return {"domain": order.domain}


def _issue_license(order: Order, *, actor: str, now: datetime) -> License | None:
    """The license, in a savepoint: if another license takes the domain at this very moment
    (D4, the unique index), the payment is kept on record and refunded instead."""
    assert order.paid_at is not None and order.domain is not None
    assert order.edition_code is not None
    new = NewLicense(
        customer_id=order.customer_id,
        edition=order.edition_code,
        domain=order.domain,
        channel=Channel.DIRECT,
        purchased_at=order.paid_at,
    )
    try:
        with db.session.begin_nested():
            return add_license(
                new=new,
                source="purchase",
                actor=actor,
                now=max(now, order.paid_at),
                order_id=order.id,
            )
    except Conflict as conflict:
        if conflict.code != "DOMAIN_TAKEN":
            raise
        return None


PURCHASE = PurchaseOrders()
