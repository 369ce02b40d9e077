"""Paying an order on a page: the card Stripe.js collected confirms the order's PaymentIntent,
and a declined card leaves nothing payable behind (the order is cancelled, D20)."""

from __future__ import annotations

import logging
import re

from flask import current_app, request

from licensing.api.dependencies import payment_gateway
from licensing.clock import utcnow
from licensing.domain.errors import DomainError, PaymentFailed
from licensing.services import order_actions
from licensing.services.orders import OrderView

log = logging.getLogger(__name__)
# What Stripe.js hands the page for a card: its id (never a number).
_CARD_ID = re.compile(r"(card|pm|src)_[A-Za-z0-9]{1,200}")
CARD_MISSING = "Enter your card's number, expiry date and security code."


def card_from_form() -> str | None:
    """The card id Stripe.js put in the form; None when it is missing or malformed."""
    card = request.form.get("card", "").strip()
    return card if _CARD_ID.fullmatch(card) else None


def pay_by_card(order: OrderView, card: str, *, actor: str) -> str:
    """Confirm the order's intent with the card; PaymentFailed (with Stripe's words for the
    customer) when it is declined, after the order is cancelled so it cannot be paid later."""
    assert order.payment.payment_intent_id is not None
    gateway = payment_gateway()
    try:
        return gateway.pay_with_card(order.payment.payment_intent_id, card=card)
    except PaymentFailed:
        _cancel_quietly(order.id, actor=actor)
        raise


def _cancel_quietly(order_id: int, *, actor: str) -> None:
    """The declined order goes: if the failure's webhook got there first, it is failed
    already, which can no longer be paid either."""
    try:
        order_actions.cancel_order(order_id, gateway=payment_gateway(), actor=actor, now=utcnow())
    except DomainError as error:
        log.info("declined order %s left as it is: %s", order_id, getattr(error, "code", ""))


def stripe_settings() -> dict[str, str]:
    """What the card form's script needs: Stripe.js's publishable key."""
    settings = current_app.config["SETTINGS"]
    return {"stripe_js_url": settings.stripe_js_url, "stripe_key": settings.stripe_publishable_key}
