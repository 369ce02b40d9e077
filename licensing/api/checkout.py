"""Checkout routes: orders paid through Stripe, and Stripe's webhook (D7, D8, D9)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request
from flask.views import MethodView

from licensing.api.auth import current_principal, public, requires
from licensing.api.blueprint import Blueprint
from licensing.api.dependencies import payment_gateway
from licensing.api.fields import LICENSE_KEY, NO_NUL, Domain, EditionCode, Id, Instant, Text
from licensing.api.idempotency import Withheld, idempotent
from licensing.api.shared_schemas import (
    JSON_REF,
    HistoryEventSchema,
    MoneySchema,
    OmitNoneSchema,
    body_one_of,
)
from licensing.clock import utcnow
from licensing.domain.access import ADMIN, CHECKOUT, FINANCE, HELPDESK
from licensing.domain.orders import OrderKind, OrderStatus
from licensing.services import order_actions, order_kinds, payment_events
from licensing.services.orders import OrderView
from licensing.services.payment_events import Receipt

blp = Blueprint("checkout", __name__, url_prefix="/v1", description="Orders and payments")


class PurchaseOrderSchema(ma.Schema):
    """A new license: for an existing customer, an edition, and the site's domain (D3)."""

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([OrderKind.PURCHASE]))
    customer_id = Id(
        required=True,
        metadata={"description": "an existing customer (else 422 CUSTOMER_NOT_FOUND)"},
    )
    edition = EditionCode(required=True)
    domain = Domain(required=True)


class RenewalOrderSchema(ma.Schema):
    """Another year of updates for a live license, at the rate and price quoted now (D8)."""

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([OrderKind.RENEWAL]))
    license_key = ma.fields.String(required=True, validate=LICENSE_KEY)


class UpgradeOrderSchema(ma.Schema):
    """An active Pro license sold directly, moved up to Premium once paid, at the difference
    of the two list prices now (D19); no date moves."""

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([OrderKind.UPGRADE]))
    license_key = ma.fields.String(required=True, validate=LICENSE_KEY)
    edition = EditionCode(
        required=True,
        metadata={"description": "the higher edition (else 409 EDITION_NOT_HIGHER)"},
    )


# Each kind's own body: the document gives the request as exactly one of them.
ORDER_KINDS = {
    OrderKind.PURCHASE: PurchaseOrderSchema,
    OrderKind.RENEWAL: RenewalOrderSchema,
    OrderKind.UPGRADE: UpgradeOrderSchema,
}
ORDER_FIELDS = {
    kind: set(schema._declared_fields) - {"kind"} for kind, schema in ORDER_KINDS.items()
}


class OrderRequestSchema(ma.Schema):
    """Purchase: customer_id, edition, domain. Renewal: license_key (of a live license).
    Upgrade: license_key, edition (D19).

    Reads any kind's fields, then names what its kind requires or does not allow."""

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(list(ORDER_KINDS)))
    customer_id = Id()
    edition = EditionCode()
    domain = Domain()
    license_key = ma.fields.String(validate=LICENSE_KEY)

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
    edition = ma.fields.String(
        attribute="edition_code",
        required=True,
        allow_none=True,
        metadata={"description": "null for an order of kind `work` (a quote's paid work)"},
    )
    domain = ma.fields.String()
    license_key = ma.fields.String()
    price = ma.fields.Nested(MoneySchema, required=True)
    rate = ma.fields.String(metadata={"description": "renewals: preferential or standard"})
    percent = ma.fields.Integer(metadata={"description": "renewals: 20 or 30 (R18)"})
    list_price = ma.fields.Nested(
        MoneySchema,
        metadata={
            "description": "renewals: the list price the percent is of (D13); upgrades: the "
            "new edition's list price, from which the old one's was taken (D19)"
        },
    )
    created_at = Instant(required=True)
    expires_at = Instant(required=True)
    paid_at = Instant()
    refund_reason = ma.fields.String(
        metadata={
            "description": "why the money went back: `requested` (by staff, D20), or why the "
            "service refunded by itself (`order_cancelled`, `order_expired`, ...)"
        }
    )
    failure_message = ma.fields.String()
    payment = ma.fields.Nested(PaymentSchema, required=True)
    history = ma.fields.List(ma.fields.Nested(HistoryEventSchema), required=True)


class WebhookAckSchema(ma.Schema):
    received = ma.fields.Boolean(required=True)
    outcome = ma.fields.String(required=True)


# A Stripe event as far as the service reads one, written out as JSON Schema: it is only
# documented (the view checks the signature over the raw bytes before it reads anything, and
# an unsigned body is 400); anything else Stripe sends is any JSON text without U+0000.
OTHER_MEMBERS = {"propertyNames": {"pattern": NO_NUL}, "additionalProperties": {"$ref": JSON_REF}}
STRIPE_EVENT = {
    "type": "object",
    "required": ["id", "type", "created", "data"],
    "properties": {
        "id": {"type": "string", "pattern": "^evt_[A-Za-z0-9_]+$", "maxLength": 255},
        "type": {
            "type": "string",
            "pattern": "^[a-z_]+(\\.[a-z_]+)+$",
            "maxLength": 100,
            "description": "payment_intent.succeeded, charge.refunded, ...; others are ignored",
        },
        "created": {
            "type": "integer",
            "minimum": 0,
            "maximum": 32503679999,
            "description": "Unix time, before 3000",
        },
        "data": {
            "type": "object",
            "required": ["object"],
            "properties": {
                "object": {
                    "type": "object",
                    "description": "the PaymentIntent, charge or dispute",
                    **OTHER_MEMBERS,
                }
            },
            **OTHER_MEMBERS,
        },
    },
    **OTHER_MEMBERS,
}

STRIPE_SIGNATURE = {
    "in": "header",
    "name": "Stripe-Signature",
    "required": True,
    "schema": {"type": "string", "pattern": "^t=[0-9]+(,v[0-9]+=[0-9a-f]+)+$"},
    "description": '`t=<Unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint '
    "secret>`, within 5 minutes of now; missing, stale or not matching the body: 400",
}


# A stored answer never holds the client secret: a replay shows it as GET would, now.
CLIENT_SECRET = Withheld(
    ("payment", "client_secret"),
    current=lambda order: _shown(order["id"]).payment.client_secret,
)


@blp.route("/orders")
class Orders(MethodView):
    @requires(CHECKOUT)
    @idempotent(withheld=CLIENT_SECRET)
    @blp.arguments(OrderRequestSchema)
    @blp.doc(**body_one_of(*ORDER_KINDS.values()))
    @blp.response(201, OrderSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Create an order and its Stripe PaymentIntent; pay it with `payment.client_secret`.

        A renewal's rate and price, or an upgrade's price, are locked now for the order's
        24 hours (D8)."""
        kind = OrderKind(body.pop("kind"))
        order = order_kinds.create_order(
            kind, **body, gateway=payment_gateway(), actor=current_principal().actor, now=utcnow()
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


class RefundRequestSchema(ma.Schema):
    reason = Text(
        required=True,
        max_length=500,
        metadata={
            "description": "why staff give the money back; kept in the order's and "
            "the license's history with the key that asked"
        },
    )


@blp.route("/orders/<id:order_id>/refund")
class OrderRefund(MethodView):
    @requires(FINANCE)
    @blp.arguments(RefundRequestSchema)
    @blp.response(200, OrderSchema)
    def post(self, body: dict[str, Any], order_id: int) -> Any:
        """Refund a paid order in full through Stripe (D20), and take back what it bought
        (D9): the order once Stripe has accepted the refund, `refund_reason: "requested"`.

        Asked again, the same order and no second refund. Not paid: 409 ORDER_NOT_PAID (it
        can be cancelled instead); in dispute: 409 ORDER_STATE; Stripe unreachable: 502,
        nothing changed."""
        order_actions.refund_order(
            order_id,
            note=body["reason"],
            gateway=payment_gateway(),
            actor=current_principal().actor,
            now=utcnow(),
        )
        return _shown(order_id)


@blp.route("/orders/<id:order_id>/cancel")
class OrderCancel(MethodView):
    @requires(CHECKOUT)
    @blp.response(200, OrderSchema)
    def post(self, order_id: int) -> Any:
        """Cancel an order awaiting payment, and its PaymentIntent (D20): it can no longer be
        paid, and a payment that arrives anyway is refunded (`order_cancelled`).

        Any other state: 409 ORDER_STATE with `current_state`; Stripe unreachable: 502,
        nothing changed."""
        order_actions.cancel_order(
            order_id, gateway=payment_gateway(), actor=current_principal().actor, now=utcnow()
        )
        return _shown(order_id)


def _shown(order_id: int) -> OrderView:
    paying = bool(current_principal().scopes & {CHECKOUT, ADMIN})
    return order_kinds.show_order(order_id, paying=paying, now=utcnow())


@blp.route("/stripe/webhook")
class StripeWebhook(MethodView):
    @public
    @blp.doc(
        parameters=[STRIPE_SIGNATURE],
        requestBody={
            "required": True,
            "content": {"application/json": {"schema": STRIPE_EVENT}},
        },
    )
    @blp.response(200, WebhookAckSchema)
    def post(self) -> Receipt:
        """Stripe's events, verified by `Stripe-Signature`; 2xx only once their effects commit."""
        gateway = payment_gateway()
        event = gateway.verify_event(request.get_data(), request.headers.get("Stripe-Signature"))
        return payment_events.receive_event(event=event, gateway=gateway, now=utcnow())
