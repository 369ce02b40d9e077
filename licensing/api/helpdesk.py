"""Helpdesk routes: entitlements for a ticket (R4-R13, D10, D11) and bans (R13, D11)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView

from licensing.api.auth import confirms_key, current_principal, key_to_confirm, requires
from licensing.api.blueprint import Blueprint
from licensing.api.fields import VERSION_PATTERN, Domain, Id, Instant, Pattern, QueryId
from licensing.api.idempotency import idempotent
from licensing.api.shared_schemas import MoneySchema, OmitNoneSchema, page_schema, present
from licensing.clock import utcnow
from licensing.domain.access import HELPDESK
from licensing.domain.bans import BanReason
from licensing.domain.domains import normalize_domain
from licensing.domain.entitlements import Department, EntitlementCode, Priority
from licensing.domain.periods import rfc3339, rfc3339_or_none
from licensing.domain.quotes import WarrantyCode
from licensing.services import bans, entitlements
from licensing.services.entitlements import EntitlementView

blp = Blueprint("helpdesk", __name__, url_prefix="/v1", description="Helpdesk")


class EntitlementArgsSchema(ma.Schema):
    customer_id = QueryId(required=True)
    department = ma.fields.String(required=True, validate=ma.validate.OneOf(list(Department)))
    quote_id = QueryId(
        metadata={"description": "department=warranty: the paid work's quote (required there)"}
    )
    # Checked here for every department, warranty questions (which read neither) included,
    # so that what the document refuses is refused whatever the department: a domain by D3
    # (422 DOMAIN_INVALID), a version by its shape (a published one: 422 VERSION_UNKNOWN).
    domain = Domain(validate=[ma.validate.Length(min=1, max=2000), normalize_domain])
    version = ma.fields.String(
        validate=[ma.validate.Length(min=1, max=32), Pattern(VERSION_PATTERN)],
        metadata={"description": "a published release (else 422 VERSION_UNKNOWN)"},
    )
    at = Instant(
        request=True,
        metadata={"description": "answer as of this instant (bans as they stood)"},
    )


class EntitlementLicenseSchema(ma.Schema):
    key = ma.fields.String(required=True)
    edition = ma.fields.String(required=True)
    channel = ma.fields.String(required=True)
    support_until = Instant(required=True)
    updates_until = Instant(required=True)


class PartnerContactSchema(OmitNoneSchema):
    OPTIONAL = ("support_url",)

    id = Id(required=True)
    name = ma.fields.String(required=True)
    support_email = ma.fields.String(required=True)
    support_url = ma.fields.String()


class BanRefSchema(ma.Schema):
    id = Id(required=True)
    reason = ma.fields.String(required=True)
    ends_at = Instant(allow_none=True, required=True)


class PaidWorkSchema(ma.Schema):
    rate_per_hour = ma.fields.Nested(MoneySchema, required=True)


class DeskSchema(ma.Schema):
    open_now = ma.fields.Boolean(required=True)
    next_opening = Instant(required=True)
    clock_starts_at = Instant(required=True)
    first_response_due = Instant(required=True)


class WarrantyQuoteSchema(OmitNoneSchema):
    OPTIONAL = ("warranty_until",)

    id = Id(required=True)
    warranty_until = Instant()


class EntitlementSchema(OmitNoneSchema):
    OPTIONAL = ("domain", "license", "partner", "ban", "version_current", "quote")

    allowed = ma.fields.Boolean(required=True)
    code = ma.fields.String(
        required=True, validate=ma.validate.OneOf([*EntitlementCode, *WarrantyCode])
    )
    department = ma.fields.String(required=True)
    customer_id = Id(required=True)
    domain = ma.fields.String()
    license = ma.fields.Nested(EntitlementLicenseSchema)
    priority = ma.fields.String(required=True, validate=ma.validate.OneOf(list(Priority)))
    partner = ma.fields.Nested(PartnerContactSchema)
    ban = ma.fields.Nested(BanRefSchema)
    version_current = ma.fields.Boolean()
    quote = ma.fields.Nested(WarrantyQuoteSchema)
    paid_work = ma.fields.Nested(PaidWorkSchema, required=True)
    desk = ma.fields.Nested(DeskSchema, required=True)


def entitlement_answer(view: EntitlementView) -> dict[str, Any]:
    """`EntitlementSchema`'s dump, written out for the hot path (issue 20)."""
    rate, desk = view.paid_work.rate_per_hour, view.desk
    license, partner, ban, quote = view.license, view.partner, view.ban, view.quote
    return {
        "allowed": view.allowed,
        "code": view.code,
        "department": view.department,
        "customer_id": view.customer_id,
        "priority": view.priority,
        "paid_work": {"rate_per_hour": {"amount": rate.amount, "currency": rate.currency}},
        "desk": {
            "open_now": desk.open_now,
            "next_opening": rfc3339(desk.next_opening),
            "clock_starts_at": rfc3339(desk.clock_starts_at),
            "first_response_due": rfc3339(desk.first_response_due),
        },
    } | present(
        domain=view.domain,
        license=None
        if license is None
        else {
            "key": license.key,
            "edition": license.edition,
            "channel": license.channel,
            "support_until": rfc3339(license.support_until),
            "updates_until": rfc3339(license.updates_until),
        },
        partner=None
        if partner is None
        else {"id": partner.id, "name": partner.name, "support_email": partner.support_email}
        | present(support_url=partner.support_url),
        ban=None
        if ban is None
        else {"id": ban.id, "reason": ban.reason, "ends_at": rfc3339_or_none(ban.ends_at)},
        version_current=view.version_current,
        quote=None
        if quote is None
        else {"id": quote.id} | present(warranty_until=rfc3339_or_none(quote.warranty_until)),
    )


class BanSchema(ma.Schema):
    id = Id(dump_only=True)
    customer_id = Id(required=True)
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(list(BanReason)))
    note = ma.fields.String(required=True, validate=ma.validate.Length(max=2000))
    starts_at = Instant(dump_only=True)
    ends_at = Instant(
        request=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "later than now (the ban starts now); null: until lifted"},
    )
    lifted_at = Instant(dump_only=True, allow_none=True)
    set_by = ma.fields.String(dump_only=True)


class BanAnswerSchema(BanSchema):
    """A ban as answered: `ends_at` in UTC (2999-12-31T23:00:00-05:00 reads 3000-01-01)."""

    ends_at = Instant(allow_none=True)


BanListSchema = page_schema(BanAnswerSchema, "BanList")


@blp.route("/entitlements")
class Entitlements(MethodView):
    @confirms_key
    @requires(HELPDESK)
    @blp.lean_arguments(EntitlementArgsSchema(), location="query")
    @blp.lean_response(200, EntitlementSchema(), entitlement_answer)
    def get(self, args: dict[str, Any]) -> EntitlementView:
        """May this customer open this ticket, how urgent is it, and when is it due?

        Checks, in order: banned, (consultation: allowed), no license, no domain, domain not
        licensed, another account's license, partner sale, license inactive, support window
        over, allowed. A denial is a 200 with `allowed: false`; it still carries the paid
        work rate (R14)."""
        return entitlements.show_entitlement(
            customer_id=args["customer_id"],
            department=Department(args["department"]),
            domain=args.get("domain"),
            version=args.get("version"),
            quote_id=args.get("quote_id"),
            paid_work_rate=current_app.config["SETTINGS"].paid_work_rate_cents,
            at=args.get("at") or utcnow(),
            key_to_confirm=key_to_confirm(),
        )


@blp.route("/bans")
class Bans(MethodView):
    @requires(HELPDESK)
    @idempotent
    @blp.arguments(BanSchema)
    @blp.response(201, BanAnswerSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Ban a customer from the desk from now, until `ends_at` or until lifted (R13, D11)."""
        return bans.set_ban(**body, actor=current_principal().actor, now=utcnow())


@blp.route("/bans/<id:ban_id>/lift")
class BanLift(MethodView):
    @requires(HELPDESK)
    @blp.response(200, BanAnswerSchema)
    def post(self, ban_id: int) -> Any:
        """Lift a ban: it stops applying at this instant and stays on record (D11)."""
        return bans.lift_ban(ban_id, actor=current_principal().actor, now=utcnow())


@blp.route("/customers/<id:customer_id>/bans")
class CustomerBans(MethodView):
    @requires(HELPDESK)
    @blp.response(200, BanListSchema)
    def get(self, customer_id: int) -> Any:
        """A customer's bans, newest first, ended and lifted ones included."""
        return bans.customer_bans(customer_id)
