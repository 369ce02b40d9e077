"""D19: moving a license up to a higher edition: who may, what it costs, when a payment buys it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from licensing.domain.errors import Conflict
from licensing.domain.licenses import Channel, LicenseStatus
from licensing.domain.money import STRIPE_MINIMUM_CHARGE
from licensing.domain.orders import RefundReason, paid_too_late


@dataclass(frozen=True)
class EditionPrice:
    """An edition as an upgrade sees it: its rank (R12's priority) and its list price now."""

    code: str
    priority: int
    list_price: int
    currency: str


def edition_not_higher(current: EditionPrice, target: EditionPrice) -> Conflict:
    return Conflict(
        f"The license is already {current.code}; {target.code} is not a higher edition (D19).",
        code="EDITION_NOT_HIGHER",
    )


def upgrade_price(
    *, channel: Channel, status: LicenseStatus, current: EditionPrice, target: EditionPrice
) -> int:
    """D19: the difference of the two list prices now (the order locks it, D2, D8), for an
    active license sold directly and a higher edition only; checks in this order:
    PARTNER_LICENSE (R3: a partner sells its own upgrades), LICENSE_INACTIVE,
    EDITION_NOT_HIGHER, then UPGRADE_PRICE_TOO_LOW when the difference is less than Stripe
    can charge (the catalog makes the two prices too close: an upgrade is never sold for
    more than the difference, nor given away)."""
    if channel is Channel.PARTNER:
        raise Conflict(
            "The license was sold by a partner, who sells its upgrades itself (R3, D19).",
            code="PARTNER_LICENSE",
        )
    if status is not LicenseStatus.ACTIVE:
        raise Conflict(
            f"The license is {status.value}; only an active license can be upgraded (D19).",
            code="LICENSE_INACTIVE",
        )
    if target.priority <= current.priority:
        raise edition_not_higher(current, target)
    price = target.list_price - current.list_price
    if target.currency != current.currency or price < STRIPE_MINIMUM_CHARGE:
        raise Conflict(
            f"The list prices of {current.code} and {target.code} differ by less than the "
            "smallest amount Stripe can charge; this upgrade cannot be sold now (D19).",
            code="UPGRADE_PRICE_TOO_LOW",
        )
    return price


def refund_instead_of_upgrade(
    *,
    paid_at: datetime,
    order_expires_at: datetime,
    expired: bool,
    license_status: LicenseStatus,
    edition_higher: bool,
) -> RefundReason | None:
    """D8, D19: a payment for an expired order, for a license no longer active, or for one
    already at that edition (another upgrade was paid meanwhile), goes back."""
    if paid_too_late(paid_at=paid_at, order_expires_at=order_expires_at, expired=expired):
        return RefundReason.ORDER_EXPIRED
    if license_status is not LicenseStatus.ACTIVE:
        return RefundReason.LICENSE_INACTIVE
    if not edition_higher:
        return RefundReason.EDITION_NOT_HIGHER
    return None
