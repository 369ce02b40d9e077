"""Customer and partner routes (R2, R3)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from licensing.api.auth import current_principal, requires
from licensing.api.blueprint import Blueprint
from licensing.api.fields import EmailAddress, Id, Instant, Text, http_url
from licensing.api.idempotency import idempotent
from licensing.api.shared_schemas import HistoryEventSchema, OmitNoneSchema
from licensing.clock import utcnow
from licensing.domain.access import ADMIN, ANY_PARTNER, CHECKOUT, FINANCE, HELPDESK
from licensing.services import accounts

blp = Blueprint("accounts", __name__, url_prefix="/v1", description="Customers and partners")


class CustomerSchema(ma.Schema):
    id = Id(dump_only=True)
    email = EmailAddress(
        required=True,
        validate=ma.validate.Length(max=254),
        metadata={"description": "unique, compared trimmed and case-insensitively (D24)"},
    )
    name = Text(required=True, max_length=200, one_line=True)
    created_at = Instant(dump_only=True)
    partner_id = Id(
        dump_only=True,
        allow_none=True,
        metadata={"description": "the partner whose key created the customer (D26); null: direct"},
    )
    history = ma.fields.List(
        ma.fields.Nested(HistoryEventSchema),
        dump_only=True,
        metadata={"description": "bans set and lifted, with who did it (R13, D11)"},
    )


class PartnerSchema(OmitNoneSchema):
    OPTIONAL = ("support_url",)

    id = Id(dump_only=True)
    name = Text(required=True, max_length=200, one_line=True)
    support_email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))
    support_url = http_url(load_default=None)


@blp.route("/customers")
class Customers(MethodView):
    @requires(CHECKOUT, ANY_PARTNER)
    @idempotent
    @blp.arguments(CustomerSchema)
    @blp.response(201, CustomerSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Open a customer account (one per email address); one opened with a partner's key
        belongs to that partner (D26)."""
        partner_id = current_principal().partner_in_sight
        customer = accounts.create_customer(**body, partner_id=partner_id, now=utcnow())
        return accounts.show_customer(customer.id, partner_id=partner_id)


@blp.route("/customers/<id:customer_id>")
class CustomerById(MethodView):
    @requires(CHECKOUT, HELPDESK, FINANCE, ANY_PARTNER)
    @blp.response(200, CustomerSchema)
    def get(self, customer_id: int) -> Any:
        """A customer account and its history; a partner sees only its own customers (D26)."""
        partner_id = current_principal().partner_in_sight
        return accounts.show_customer(customer_id, partner_id=partner_id)


@blp.route("/partners")
class Partners(MethodView):
    @requires(ADMIN)
    @idempotent
    @blp.arguments(PartnerSchema)
    @blp.response(201, PartnerSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Register a partner (reseller) and how its customers reach its support (R9)."""
        return accounts.create_partner(**body, now=utcnow())


@blp.route("/partners/<id:partner_id>")
class PartnerById(MethodView):
    @requires(HELPDESK, "partner:{partner_id}")
    @blp.response(200, PartnerSchema)
    def get(self, partner_id: int) -> Any:
        """A partner and its support contacts."""
        return accounts.get_partner(partner_id)
