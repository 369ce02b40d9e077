"""Helpdesk routes: entitlements for a ticket (R4-R13, D10, D11) and bans (R13, D11)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from licensing.api.auth import current_principal, requires
from licensing.api.fields import Id, Instant, MoneySchema, OmitNoneSchema, QueryId, page_schema
from licensing.api.idempotency import idempotent
from licensing.clock import utcnow
from licensing.domain.access import HELPDESK
from licensing.domain.bans import BanReason
from licensing.domain.entitlements import Department, EntitlementCode, Priority
from licensing.domain.money import Money
from licensing.services import bans, entitlements

blp = Blueprint("helpdesk", __name__, url_prefix="/v1", description="Helpdesk")


class EntitlementArgsSchema(ma.Schema):
    customer_id = QueryId(required=True)
    department = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([Department.TECHNICAL_SUPPORT, Department.CONSULTATION]),
    )
    domain = ma.fields.String(validate=ma.validate.Length(min=1, max=2000))
    version = ma.fields.String(validate=ma.validate.Length(min=1, max=32))
    at = Instant(metadata={"description": "answer as of this instant (bans as they stood)"})


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


class EntitlementSchema(OmitNoneSchema):
    OPTIONAL = ("domain", "license", "partner", "ban", "version_current")

    allowed = ma.fields.Boolean(required=True)
    code = ma.fields.String(required=True, validate=ma.validate.OneOf(list(EntitlementCode)))
    department = ma.fields.String(required=True)
    customer_id = Id(required=True)
    domain = ma.fields.String()
    license = ma.fields.Nested(EntitlementLicenseSchema)
    priority = ma.fields.String(required=True, validate=ma.validate.OneOf(list(Priority)))
    partner = ma.fields.Nested(PartnerContactSchema)
    ban = ma.fields.Nested(BanRefSchema)
    version_current = ma.fields.Boolean()
    paid_work = ma.fields.Nested(PaidWorkSchema, required=True)
    desk = ma.fields.Nested(DeskSchema, required=True)


class BanSchema(ma.Schema):
    id = Id(dump_only=True)
    customer_id = Id(required=True)
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(list(BanReason)))
    note = ma.fields.String(required=True, validate=ma.validate.Length(max=2000))
    starts_at = Instant(dump_only=True)
    ends_at = Instant(load_default=None, allow_none=True)
    lifted_at = Instant(dump_only=True, allow_none=True)
    set_by = ma.fields.String(dump_only=True)


BanListSchema = page_schema(BanSchema, "BanList")


@blp.route("/entitlements")
class Entitlements(MethodView):
    @requires(HELPDESK)
    @blp.arguments(EntitlementArgsSchema, location="query")
    @blp.response(200, EntitlementSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """May this customer open this ticket, how urgent is it, and when is it due?

        Checks, in order: banned, (consultation: allowed), no license, no domain, domain not
        licensed, another account's license, partner sale, license inactive, support window
        over, allowed. A denial is a 200 with `allowed: false`; it still carries the paid
        work rate (R14)."""
        answer = entitlements.entitlement(
            customer_id=args["customer_id"],
            department=Department(args["department"]),
            domain=args.get("domain"),
            version=args.get("version"),
            at=args.get("at") or utcnow(),
        )
        decision, license = answer.decision, answer.decision.license
        settings = current_app.config["SETTINGS"]
        return {
            "allowed": decision.allowed,
            "code": decision.code.value,
            "department": answer.department.value,
            "customer_id": answer.customer_id,
            "domain": answer.domain,
            "license": None
            if license is None
            else {
                "key": answer.license_key,
                "edition": license.edition,
                "channel": license.channel.value,
                "support_until": license.support_until,
                "updates_until": license.updates_until,
            },
            "priority": decision.priority.value,
            "partner": vars(answer.partner) if answer.partner else None,
            "ban": vars(decision.ban) if decision.ban else None,
            "version_current": answer.version_current,
            "paid_work": {"rate_per_hour": Money(settings.paid_work_rate_cents)},
            "desk": vars(answer.desk),
        }


@blp.route("/bans")
class Bans(MethodView):
    @requires(HELPDESK)
    @idempotent
    @blp.arguments(BanSchema)
    @blp.response(201, BanSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Ban a customer from the desk from now, until `ends_at` or until lifted (R13, D11)."""
        return bans.set_ban(**body, actor=current_principal().actor, now=utcnow())


@blp.route("/bans/<id:ban_id>/lift")
class BanLift(MethodView):
    @requires(HELPDESK)
    @blp.response(200, BanSchema)
    def post(self, ban_id: int) -> Any:
        """Lift a ban: it stops applying at this instant and stays on record (D11)."""
        return bans.lift_ban(ban_id, actor=current_principal().actor, now=utcnow())


@blp.route("/customers/<id:customer_id>/bans")
class CustomerBans(MethodView):
    @requires(HELPDESK)
    @blp.response(200, BanListSchema)
    def get(self, customer_id: int) -> dict[str, Any]:
        """A customer's bans, newest first, ended and lifted ones included."""
        return {"items": bans.customer_bans(customer_id), "next_cursor": None}
