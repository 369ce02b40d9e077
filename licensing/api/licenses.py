"""License routes: read, import, partner sale, domain rebinding (D5), transfer (D21) and shop
validation."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from licensing.api.auth import current_principal, public, requires
from licensing.api.blueprint import Blueprint
from licensing.api.fields import VERSION_PATTERN, Domain, EditionCode, Id, Instant, Text
from licensing.api.idempotency import idempotent
from licensing.api.rate_limits import rate_limited
from licensing.api.shared_schemas import (
    HistoryEventSchema,
    MoneySchema,
    OmitNoneSchema,
    PageArgsSchema,
    ShopCheckSchema,
    body_one_of,
    page_schema,
    present,
)
from licensing.clock import utcnow
from licensing.domain.access import ADMIN, ANY_PARTNER, CHECKOUT, FINANCE, HELPDESK
from licensing.domain.licenses import Channel, LicenseStatus, Validation
from licensing.domain.periods import rfc3339_or_none
from licensing.domain.renewals import RenewalRate
from licensing.services import licenses, renewals, transfers, validation
from licensing.services.licenses import LicenseView, NewLicense

blp = Blueprint("licenses", __name__, url_prefix="/v1", description="Licenses")

READERS = (CHECKOUT, HELPDESK, FINANCE, ANY_PARTNER)


class LicenseSummarySchema(ma.Schema):
    key = ma.fields.String(required=True)
    edition = ma.fields.String(attribute="edition_code", required=True)
    domain = ma.fields.String(required=True)
    customer_id = Id(required=True)
    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(list(Channel)))
    partner_id = Id(allow_none=True, required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(list(LicenseStatus)))
    purchased_at = Instant(required=True)
    support_until = Instant(required=True)
    updates_until = Instant(required=True)
    preferential_renewal_until = Instant(required=True)


class ReleaseRefSchema(ma.Schema):
    version = ma.fields.String(required=True)
    released_at = Instant(required=True)


class LicenseSchema(LicenseSummarySchema):
    newest_allowed_release = ma.fields.Nested(
        ReleaseRefSchema,
        allow_none=True,
        required=True,
        metadata={"description": "D17: the newest release published on or before updates_until"},
    )
    history = ma.fields.List(ma.fields.Nested(HistoryEventSchema), required=True)


class QuoteArgsSchema(ma.Schema):
    at = Instant(
        request=True, load_default=None, metadata={"description": "answer as of this instant"}
    )


class RenewalQuoteSchema(ma.Schema):
    rate = ma.fields.String(required=True, validate=ma.validate.OneOf(list(RenewalRate)))
    percent = ma.fields.Integer(required=True)
    price = ma.fields.Nested(MoneySchema, required=True)
    list_price = ma.fields.Nested(MoneySchema, required=True)
    preferential_until = Instant(required=True)
    updates_until = Instant(required=True)
    new_updates_until = Instant(required=True)


LicenseListSchema = page_schema(LicenseSummarySchema, "LicenseList")


class PartnerSaleSchema(ma.Schema):
    customer_id = Id(
        required=True,
        metadata={"description": "an existing customer (else 422 CUSTOMER_NOT_FOUND)"},
    )
    edition = EditionCode(required=True)
    domain = Domain(required=True)


class ImportSchema(PartnerSaleSchema):
    """Documented as one of its two channels (`ImportDirect`, `ImportPartner`)."""

    purchased_at = Instant(
        request=True, required=True, metadata={"description": "not in the future"}
    )
    updates_until = Instant(
        request=True,
        load_default=None,
        metadata={"description": "not before purchased_at; default: a year after it"},
    )
    channel = ma.fields.Enum(Channel, by_value=True, required=True)
    partner_id = Id(
        load_default=None,
        metadata={
            "description": "channel partner: an existing partner (else 422 PARTNER_NOT_FOUND)"
        },
    )


class ImportDirectSchema(ImportSchema):
    """A license sold directly: no partner."""

    channel = ma.fields.String(required=True, validate=ma.validate.OneOf([Channel.DIRECT.value]))
    partner_id = ma.fields.Constant(None, metadata={"enum": [None]})


class ImportPartnerSchema(ImportSchema):
    """A license a partner sold: its partner."""

    channel = ma.fields.String(required=True, validate=ma.validate.OneOf([Channel.PARTNER.value]))
    partner_id = Id(required=True)


class DomainSchema(ma.Schema):
    domain = Domain(required=True)


class TransferSchema(ma.Schema):
    customer_id = Id(
        required=True,
        metadata={
            "description": "the new owner: an existing customer (else 422 CUSTOMER_NOT_FOUND)"
        },
    )
    note = Text(required=True, max_length=2000)  # why, kept in the license's history


class ValidateSchema(ShopCheckSchema):
    version = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=32),
        metadata={
            "pattern": VERSION_PATTERN,
            "description": "a published release (else 422 VERSION_UNKNOWN), for update_allowed",
        },
    )


class ValidationSchema(OmitNoneSchema):
    OPTIONAL = ("edition", "updates_until", "update_allowed")

    valid = ma.fields.Boolean(required=True)
    code = ma.fields.String(required=True)
    edition = ma.fields.String()
    updates_until = Instant()
    update_allowed = ma.fields.Boolean(metadata={"description": "D17, when `version` is given"})


def validation_answer(validation: Validation) -> dict[str, Any]:
    """`ValidationSchema`'s dump, written out for the hot path (issue 20)."""
    return {"valid": validation.valid, "code": validation.code} | present(
        edition=validation.edition,
        updates_until=rfc3339_or_none(validation.updates_until),
        update_allowed=validation.update_allowed,
    )


def _shown(key: str) -> LicenseView:
    """The license as `GET /v1/licenses/{key}` shows it, within the caller's sight."""
    return licenses.show_license(key, partner_id=_partner_in_sight())


def _partner_in_sight() -> int | None:
    """A partner key sees only its own licenses and customers (D26); vendor keys see all."""
    return current_principal().partner_in_sight


@blp.route("/licenses/<license_key:key>")
class LicenseByKey(MethodView):
    @requires(*READERS)
    @blp.response(200, LicenseSchema)
    def get(self, key: str) -> Any:
        """A license with its dates and history; a partner sees only the ones it sold."""
        return _shown(key)


@blp.route("/customers/<id:customer_id>/licenses")
class CustomerLicenses(MethodView):
    @requires(*READERS)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, LicenseListSchema)
    def get(self, args: dict[str, Any], customer_id: int) -> Any:
        """A customer's licenses, oldest first."""
        return licenses.list_customer_licenses(customer_id, partner_id=_partner_in_sight(), **args)


@blp.route("/licenses/<license_key:key>/renewal-quote")
class LicenseRenewalQuote(MethodView):
    @requires(*READERS)
    @blp.arguments(QuoteArgsSchema, location="query")
    @blp.response(200, RenewalQuoteSchema)
    def get(self, args: dict[str, Any], key: str) -> Any:
        """What renewing the updates subscription costs and buys if paid at `at` (default now).

        The price is always from the current list price (D13); `at` moves the clock only.
        409 RENEWAL_TOO_EARLY (with `earliest_renewal_at`) where D16 forbids it."""
        at = args["at"] or utcnow()
        return renewals.renewal_quote(key, at=at, partner_id=_partner_in_sight())


@blp.route("/licenses/<license_key:key>/domain")
class LicenseDomain(MethodView):
    @requires(CHECKOUT)
    @blp.arguments(DomainSchema)
    @blp.response(200, LicenseSchema)
    def put(self, body: dict[str, Any], key: str) -> Any:
        """Move a license to another domain (D5); 409 DOMAIN_TAKEN when a live license has it."""
        license = licenses.rebind_domain(
            key=key, domain=body["domain"], actor=current_principal().actor, now=utcnow()
        )
        return _shown(license.key)


@blp.route("/licenses/<license_key:key>/transfer")
class LicenseTransfer(MethodView):
    @requires(ADMIN)
    @blp.arguments(TransferSchema)
    @blp.response(200, LicenseSchema)
    def post(self, body: dict[str, Any], key: str) -> Any:
        """Give a license to another customer, as when its site is sold (D21): the history
        names both owners; no date moves. 409 ALREADY_OWNER when that customer owns it, 409
        LICENSE_INACTIVE when it is revoked; a partner-sold license stays its partner's."""
        license = transfers.transfer_license(
            key=key, **body, actor=current_principal().actor, now=utcnow()
        )
        return _shown(license.key)


@blp.route("/licenses/import")
class LicenseImport(MethodView):
    @requires(ADMIN)
    @idempotent
    @blp.arguments(ImportSchema)
    @blp.doc(**body_one_of(ImportDirectSchema, ImportPartnerSchema))
    @blp.response(201, LicenseSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Bring in a license sold before this service existed, with its real dates."""
        license = licenses.issue_license(
            new=NewLicense(**body), source="import", actor=current_principal().actor, now=utcnow()
        )
        return _shown(license.key)


@blp.route("/partners/<id:partner_id>/licenses")
class PartnerLicenses(MethodView):
    @requires("partner:{partner_id}")
    @idempotent
    @blp.arguments(PartnerSaleSchema)
    @blp.response(201, LicenseSchema)
    def post(self, body: dict[str, Any], partner_id: int) -> Any:
        """Record a partner's sale (R3): invoiced to the partner outside Stripe. A partner's
        key sells only to its own customers; any other `customer_id` is answered as an
        unknown one, 422 CUSTOMER_NOT_FOUND (D26)."""
        now = utcnow()
        new = NewLicense(**body, channel=Channel.PARTNER, partner_id=partner_id, purchased_at=now)
        license = licenses.issue_license(
            new=new,
            source="partner_sale",
            actor=current_principal().actor,
            now=now,
            partner_in_sight=_partner_in_sight(),
        )
        return _shown(license.key)


@blp.route("/licenses/validate")
class LicenseValidation(MethodView):
    @public
    @rate_limited
    @blp.lean_arguments(ValidateSchema())
    @blp.lean_response(200, ValidationSchema(), validation_answer)
    def post(self, body: dict[str, Any]) -> Any:
        """Called by shop installations: is this key good for this domain (and version)?"""
        return validation.validate(**body)
