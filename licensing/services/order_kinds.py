"""The kinds of order in one table: each kind's handler says what its orders lock and buy.

Adding a kind takes its rule in `domain/` (an `OrderKind` member), a handler in the module of
its capability registered in `KINDS` below, a migration (the orders' `kind_known` check) and
its request schema in `api/checkout.py`. Nothing that dispatches names a kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol

from licensing.adapters.models import Order
from licensing.adapters.payments import PaymentGateway
from licensing.domain.orders import OrderKind, OrderStatus, RefundReason, can_be_paid
from licensing.services.accepted_quotes import WORK
from licensing.services.orders import OrderView, get_order, order_view
from licensing.services.purchases import PURCHASE
from licensing.services.renewals import RENEWAL
from licensing.services.upgrades import UPGRADE


class OrderKindHandler(Protocol):
    """How the orders of one kind open, what their payment buys, how they answer a refund
    or a dispute, and what they show.

    What is the same for every kind stays out of the handlers: the payment facts and the
    status they imply (D7), the 24 hours (D8), the amount check, refunds through Stripe and
    the history (`orders`, `payment_events`). A handler works inside the transaction of the
    event or request that calls it and never commits, except `open`, which is a use case.
    """

    def open(self, *, gateway: PaymentGateway, actor: str, now: datetime, **request: Any) -> Order:
        """D2, D8: a new order of this kind with its PaymentIntent, its price and what it
        locks fixed now for its 24 hours; committed. A purchase locks the edition's list
        price for a domain, a renewal a rate and price on the license's current term (D13),
        paid work the amount of its quote (D12). `request` holds the kind's own fields, as
        its request schema names them."""

    def apply_payment(self, order: Order, *, actor: str, now: datetime) -> RefundReason | None:
        """D7: what a payment of the whole price buys: a purchase issues its license (D4),
        a renewal moves `updates_until` (D15, D16), an upgrade moves the license to its
        higher edition (D19), paid work marks its quote paid.

        Called for every success event of an order paid in full that the service has not
        itself refunded, however many arrive: it must act once. Returns why the money goes
        back instead (D8: paid too late; or what was locked no longer holds); the caller
        refunds it through Stripe.
        """

    def follow_payment_facts(self, order: Order, *, actor: str, now: datetime) -> None:
        """D9: bring what the order bought in line with its payment facts (refunded, in
        dispute, dispute won or lost): a purchase's license is revoked, suspended or active
        again; a renewal's year is taken back; an upgrade's license is Pro again (D19); paid
        work has its quote cancelled and its warranty ended (D20). Called after every event,
        and after a staff refund (`order_actions.refund_order`), in any order of arrival, so
        the end state depends on the facts alone."""

    def shown(self, order: Order) -> Mapping[str, object]:
        """The fields only this kind's orders show, by their `OrderView` names."""


KINDS: Mapping[OrderKind, OrderKindHandler] = MappingProxyType(
    {
        OrderKind.PURCHASE: PURCHASE,  # services/purchases.py: D4, D7-D9
        OrderKind.RENEWAL: RENEWAL,  # services/renewals.py: D9, D13-D16
        OrderKind.WORK: WORK,  # services/accepted_quotes.py: D12, R14-R16
        OrderKind.UPGRADE: UPGRADE,  # services/upgrades.py: D19
    }
)


def handler_for(order: Order) -> OrderKindHandler:
    return KINDS[OrderKind(order.kind)]


def create_order(
    kind: OrderKind, *, gateway: PaymentGateway, actor: str, now: datetime, **request: Any
) -> Order:
    """D7: an order of `kind`, opened by its handler with the kind's own fields."""
    return KINDS[kind].open(gateway=gateway, actor=actor, now=now, **request)


def show_order(order_id: int, *, paying: bool, now: datetime) -> OrderView:
    """An order with its history and the fields of its kind. The PaymentIntent's client
    secret goes to the paying side only (`paying`), and only while the order can be paid
    (D8, Stripe's advice)."""
    order = get_order(order_id)
    secret_shown = paying and can_be_paid(OrderStatus(order.status), order.expires_at, now)
    return order_view(order, secret_shown=secret_shown, **handler_for(order).shown(order))
