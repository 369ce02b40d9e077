"""Upgrade orders (the `upgrade` kind): a Pro license made Premium once paid, and made Pro
again when the money goes back (D19, D2, D8, D9)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from licensing.adapters.models import Customer, Edition, License, Order, OrderEvent
from licensing.adapters.payments import PaymentGateway
from licensing.domain.errors import Invalid
from licensing.domain.licenses import Channel, LicenseStatus
from licensing.domain.money import Money
from licensing.domain.orders import OrderKind, RefundReason, payment_taken_back
from licensing.domain.upgrades import EditionPrice, refund_instead_of_upgrade, upgrade_price
from licensing.extensions import db
from licensing.services.licenses import find_license, record_event
from licensing.services.orders import open_order, record_order_event
from licensing.services.transactions import commit

UPGRADED, TAKEN_BACK = "license_upgraded", "upgrade_taken_back"  # the order's history


def _edition(code: str) -> EditionPrice | None:
    edition = db.session.get(Edition, code)
    if edition is None:
        return None
    return EditionPrice(edition.code, edition.priority, edition.price_amount, edition.currency)


def upgrade_offer(license_key: str, *, edition: str) -> Money:
    """D19: what an upgrade of this license to `edition` costs if ordered now (the pages show
    it before the order); 409 as the order would be when it cannot be upgraded."""
    target, price = _priced(find_license(license_key), edition)
    return Money(price, target.currency)


def _priced(license: License, edition: str) -> tuple[EditionPrice, int]:
    """D19: the edition asked for and the difference of the two list prices now."""
    target = _edition(edition)
    if target is None:
        raise Invalid.field("edition", "There is no such edition.", code="EDITION_NOT_FOUND")
    current = _edition(license.edition_code)
    assert current is not None
    price = upgrade_price(
        channel=Channel(license.channel),
        status=LicenseStatus(license.status),
        current=current,
        target=target,
    )
    return target, price


def create_upgrade_order(
    *, license_key: str, edition: str, gateway: PaymentGateway, actor: str, now: datetime
) -> Order:
    """D19: an order that moves a license up to `edition`, priced at the difference of the
    two list prices now and locked for its 24 hours (D2, D8), paid like a purchase."""
    license = find_license(license_key, lock=True)
    target, price = _priced(license, edition)
    customer = db.session.get(Customer, license.customer_id)
    assert customer is not None
    order = open_order(
        kind=OrderKind.UPGRADE,
        customer=customer,
        price=price,
        list_price=target.list_price,
        currency=target.currency,
        gateway=gateway,
        actor=actor,
        now=now,
        edition_code=target.code,
        license_id=license.id,
    )
    commit()
    return order


def apply_paid_upgrade(order: Order, *, actor: str, now: datetime) -> RefundReason | None:
    """D19: the license takes the order's edition at once, no date moving; or the payment
    goes back (D8: too late; the license no longer active, or already at that edition)."""
    assert order.paid_at is not None and order.license_id is not None
    assert order.edition_code is not None
    license = db.session.get(License, order.license_id, with_for_update=True)
    assert license is not None
    current, target = _edition(license.edition_code), _edition(order.edition_code)
    assert current is not None and target is not None
    reason = refund_instead_of_upgrade(
        paid_at=order.paid_at,
        order_expires_at=order.expires_at,
        expired=order.expired_at is not None,
        license_status=LicenseStatus(license.status),
        edition_higher=target.priority > current.priority,
    )
    if reason is not None:
        return reason
    _change_edition(license, order, to=target.code, actor=actor, now=now)
    record_order_event(
        order,
        UPGRADED,
        actor=actor,
        at=now,
        license_key=license.key,
        old=current.code,
        new=target.code,
    )
    return None


def take_back_upgrade(order: Order, *, actor: str, now: datetime) -> None:
    """D9, D19: a refunded upgrade, or one whose dispute was lost, returns the license to the
    edition it had; its status is left as it is (the license is not revoked)."""
    steps = _steps(order)
    if UPGRADED not in steps or TAKEN_BACK in steps:
        return
    license = db.session.get(License, order.license_id, with_for_update=True)
    assert license is not None
    previous = str(steps[UPGRADED]["old"])
    if license.edition_code != previous:
        _change_edition(license, order, to=previous, actor=actor, now=now)
    record_order_event(
        order, TAKEN_BACK, actor=actor, at=now, license_key=license.key, new=previous
    )


def _change_edition(license: License, order: Order, *, to: str, actor: str, now: datetime) -> None:
    """The license's edition, with its history naming the order and who acted; no date moves."""
    record_event(
        license,
        "edition_changed",
        actor=actor,
        at=now,
        order_id=order.id,
        old=license.edition_code,
        new=to,
    )
    license.edition_code = to


def _steps(order: Order) -> dict[str, Mapping[str, Any]]:
    """What this order has done to its license so far, from its history (read under the
    order's row lock, which every payment event of the order holds)."""
    rows = db.session.execute(
        select(OrderEvent.type, OrderEvent.data).where(
            OrderEvent.order_id == order.id, OrderEvent.type.in_([UPGRADED, TAKEN_BACK])
        )
    ).all()
    return {type_: data for type_, data in rows}


class UpgradeOrders:
    """The `upgrade` kind: it locks the difference of two list prices for one license (D19,
    D2, D8), its payment moves the license up at once, and taking the money back moves it
    down again (D9). An open dispute leaves the edition as it is, as it leaves a renewal."""

    def open(self, *, gateway: PaymentGateway, actor: str, now: datetime, **request: Any) -> Order:
        """`license_key`, `edition`: see `create_upgrade_order`."""
        return create_upgrade_order(**request, gateway=gateway, actor=actor, now=now)

    def apply_payment(self, order: Order, *, actor: str, now: datetime) -> RefundReason | None:
        """D19: upgrade once per order; a payment that no longer buys it goes back."""
        if UPGRADED in _steps(order):
            return None
        return apply_paid_upgrade(order, actor=actor, now=now)

    def follow_payment_facts(self, order: Order, *, actor: str, now: datetime) -> None:
        if payment_taken_back(order.facts):
            take_back_upgrade(order, actor=actor, now=now)

    def shown(self, order: Order) -> Mapping[str, object]:
        """The list price of the edition bought, from which the other's was taken (D19)."""
        return {"list_price": Money(order.list_price_amount, order.currency)}


UPGRADE = UpgradeOrders()
