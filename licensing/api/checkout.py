"""Checkout routes: orders paid through Stripe, and Stripe's webhook (D7, D8, D9)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView

from licensing.adapters.payments import PaymentGateway
from licensing.api.auth import current_principal, public, requires
from licensing.api.blueprint import Blueprint
from licensing.api.fields import HistoryEventSchema, Id, Instant, MoneySchema, OmitNoneSchema
from licensing.api.idempotency import Withheld, idempotent
from licensing.api.licenses import DOMAIN, EDITIONS, KEY
from licensing.clock import utcnow
from licensing.domain.access import ADMIN, CHECKOUT, FINANCE, HELPDESK
from licensing.domain.orders import OrderKind, OrderStatus, can_be_paid
from licensing.services import orders, payment_events, renewals

blp = Blueprint("checkout", __name__, url_prefix="/v1", description="Orders and payments")


def payment_gateway() -> PaymentGateway:
    gateway: PaymentGateway = current_app.extensions["payments"]
    return gateway


ORDER_FIELDS = {
    OrderKind.PURCHASE: {"customer_id", "edition", "domain"},
    OrderKind.RENEWAL: {"license_key"},
}


class OrderRequestSchema(ma.Schema):
    """Purchase: customer_id, edition, domain. Renewal: license_key (of a live license)."""

    kind = ma.fields.String(
        required=True, validate=ma.validate.OneOf([OrderKind.PURCHASE, OrderKind.RENEWAL])
    )
    customer_id = Id()
    edition = ma.fields.String(validate=EDITIONS)
    domain = ma.fields.String(validate=DOMAIN)
    license_key = ma.fields.String(validate=KEY)

    @ma.validates_schema
    def _fields_of_its_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        wanted = ORDER_FIELDS.get(OrderKind(data["kind"]), set()) if "kind" in data else set()
        given = set(data) - {"kind"}
        errors = {
            name: ["This field is required for this kind of order."] for name in wanted - given
        }
        errors |= {
            name: ["This field is not allowed for this kind of order."] for name in given - wanted
        }
        if errors:
            raise ma.ValidationError(errors)


class PaymentSchema(ma.Schema):
    provider = ma.fields.String(required=True)
    payment_intent_id = ma.fields.String(required=True, allow_none=True)
    client_secret = ma.fields.String(required=True, allow_none=True)


class OrderSchema(OmitNoneSchema):
    OPTIONAL = (
        "domain",
        "license_key",
        "rate",
        "percent",
        "list_price",
        "paid_at",
        "refund_reason",
        "failure_message",
    )

    id = Id(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(list(OrderKind)))
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(list(OrderStatus)))
    customer_id = Id(required=True)
    edition = ma.fields.String(attribute="edition_code", required=True)
    domain = ma.fields.String()
    license_key = ma.fields.String()
    price = ma.fields.Nested(MoneySchema, required=True)
    rate = ma.fields.String(metadata={"description": "renewals: preferential or standard"})
    percent = ma.fields.Integer(metadata={"description": "renewals: 20 or 30 (R18)"})
    list_price = ma.fields.Nested(MoneySchema, metadata={"description": "renewals (D13)"})
    created_at = Instant(required=True)
    expires_at = Instant(required=True)
    paid_at = Instant()
    refund_reason = ma.fields.String(metadata={"description": "why the service refunded"})
    failure_message = ma.fields.String()
    payment = ma.fields.Nested(PaymentSchema, required=True)
    history = ma.fields.List(ma.fields.Nested(HistoryEventSchema), required=True)


class WebhookAckSchema(ma.Schema):
    received = ma.fields.Boolean(required=True)
    outcome = ma.fields.String(required=True)


# A stored answer never holds the client secret: a replay shows it as GET would, now.
CLIENT_SECRET = Withheld(
    ("payment", "client_secret"),
    current=lambda order: _shown(order["id"]).payment["client_secret"],
)


@blp.route("/orders")
class Orders(MethodView):
    @requires(CHECKOUT)
    @idempotent(withheld=CLIENT_SECRET)
    @blp.arguments(OrderRequestSchema)
    @blp.response(201, OrderSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Create an order and its Stripe PaymentIntent; pay it with `payment.client_secret`.

        A renewal's rate and price are locked now for the order's 24 hours (D8)."""
        kind = OrderKind(body.pop("kind"))
        create = (
            orders.create_purchase_order
            if kind is OrderKind.PURCHASE
            else renewals.create_renewal_order
        )
        order = create(
            **body, gateway=payment_gateway(), actor=current_principal().actor, now=utcnow()
        )
        return _shown(order.id)


@blp.route("/orders/<id:order_id>")
class OrderById(MethodView):
    @requires(CHECKOUT, HELPDESK, FINANCE)
    @blp.response(200, OrderSchema)
    def get(self, order_id: int) -> Any:
        """An order, its payment and its history; once paid it names its license.

        The PaymentIntent's client secret is shown to checkout (and admin) keys only, and
        only while the order can be paid."""
        return _shown(order_id)


def _shown(order_id: int) -> Any:
    order = orders.get_order(order_id)
    paying = bool(current_principal().scopes & {CHECKOUT, ADMIN})
    order.secret_visible = paying and can_be_paid(
        OrderStatus(order.status), order.expires_at, utcnow()
    )
    return order


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
