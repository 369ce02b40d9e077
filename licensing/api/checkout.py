"""Checkout routes: orders paid through Stripe, and Stripe's webhook (D7, D8, D9)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from licensing.adapters.payments import PaymentGateway
from licensing.api.auth import current_principal, public, requires
from licensing.api.fields import Id, Instant, MoneySchema, OmitNoneSchema
from licensing.api.idempotency import idempotent
from licensing.api.licenses import DOMAIN, EDITIONS
from licensing.clock import utcnow
from licensing.domain.access import CHECKOUT, FINANCE, HELPDESK
from licensing.domain.orders import OrderKind, OrderStatus
from licensing.services import orders, payment_events

blp = Blueprint("checkout", __name__, url_prefix="/v1", description="Orders and payments")


def payment_gateway() -> PaymentGateway:
    gateway: PaymentGateway = current_app.extensions["payments"]
    return gateway


class OrderRequestSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([OrderKind.PURCHASE]))
    customer_id = Id(required=True)
    edition = ma.fields.String(required=True, validate=EDITIONS)
    domain = ma.fields.String(required=True, validate=DOMAIN)


class PaymentSchema(ma.Schema):
    provider = ma.fields.String(required=True)
    payment_intent_id = ma.fields.String(required=True, allow_none=True)
    client_secret = ma.fields.String(required=True, allow_none=True)


class OrderEventSchema(ma.Schema):
    type = ma.fields.String(required=True)
    actor = ma.fields.String(required=True)
    at = Instant(required=True)
    data = ma.fields.Dict(required=True)


class OrderSchema(OmitNoneSchema):
    OPTIONAL = ("domain", "license_key", "paid_at", "refund_reason", "failure_message")

    id = Id(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(list(OrderKind)))
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(list(OrderStatus)))
    customer_id = Id(required=True)
    edition = ma.fields.String(attribute="edition_code", required=True)
    domain = ma.fields.String()
    license_key = ma.fields.String()
    price = ma.fields.Nested(MoneySchema, required=True)
    created_at = Instant(required=True)
    expires_at = Instant(required=True)
    paid_at = Instant()
    refund_reason = ma.fields.String(metadata={"description": "why the service refunded"})
    failure_message = ma.fields.String()
    payment = ma.fields.Nested(PaymentSchema, required=True)
    history = ma.fields.List(ma.fields.Nested(OrderEventSchema), required=True)


class WebhookAckSchema(ma.Schema):
    received = ma.fields.Boolean(required=True)
    outcome = ma.fields.String(required=True)


@blp.route("/orders")
class Orders(MethodView):
    @requires(CHECKOUT)
    @idempotent
    @blp.arguments(OrderRequestSchema)
    @blp.response(201, OrderSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Create an order and its Stripe PaymentIntent; pay it with `payment.client_secret`."""
        body.pop("kind")
        order = orders.create_purchase_order(
            **body, gateway=payment_gateway(), actor=current_principal().actor, now=utcnow()
        )
        return orders.get_order(order.id)


@blp.route("/orders/<id:order_id>")
class OrderById(MethodView):
    @requires(CHECKOUT, HELPDESK, FINANCE)
    @blp.response(200, OrderSchema)
    def get(self, order_id: int) -> Any:
        """An order, its payment and its history; once paid it names its license."""
        return orders.get_order(order_id)


@blp.route("/stripe/webhook")
class StripeWebhook(MethodView):
    @public
    @blp.response(200, WebhookAckSchema)
    def post(self) -> dict[str, Any]:
        """Stripe's events, verified by `Stripe-Signature`; 2xx only once their effects commit."""
        gateway = payment_gateway()
        event = gateway.verify_event(request.get_data(), request.headers.get("Stripe-Signature"))
        outcome = payment_events.handle_event(event=event, gateway=gateway, now=utcnow())
        return {"received": True, "outcome": outcome}
