"""Finance routes: the renewal report as JSON, CSV, and a page with a chart (D18)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Response, render_template, request
from flask.views import MethodView

from licensing.api.auth import public, requires
from licensing.api.blueprint import Blueprint
from licensing.api.csv_download import CSV, amounts, csv_download
from licensing.api.fields import Instant
from licensing.api.report_charts import chart, revenue_chart
from licensing.api.revenue_report import RevenueKindSchema, RevenueRowSchema, revenue_csv
from licensing.api.shared_schemas import MoneySchema, SignedLinkSchema
from licensing.api.signed_links import RENEWALS_REPORT_PAGE, IssuedLink
from licensing.clock import utcnow
from licensing.domain.access import FINANCE
from licensing.domain.money import format_decimal
from licensing.domain.reports import FIRST_MONTH, LAST_MONTH, MONTH_PATTERN
from licensing.domain.reports import period as parse_period
from licensing.services import reports, revenue_report
from licensing.services.reports import RenewalReport

blp = Blueprint("reports", __name__, url_prefix="/v1", description="Finance reports")
pages = FlaskBlueprint("report_pages", __name__)

CSV_COLUMNS = ("month", "edition", "rate", "count", "revenue", "refunded", "net", "currency")


def _month(description: str) -> dict[str, str]:
    """A month's documentation: the domain's own pattern (D18), checked by `period` alone."""
    return {
        "description": f"{description}; YYYY-MM in UTC, {FIRST_MONTH} to {LAST_MONTH}",
        "pattern": MONTH_PATTERN,
    }


class PeriodArgsSchema(ma.Schema):
    """`to` not before `from` and at most 120 months after it (D18): checked by `period`."""

    from_ = ma.fields.String(required=True, data_key="from", metadata=_month("the first month"))
    to = ma.fields.String(required=True, metadata=_month("the last month, included"))
    edition = ma.fields.String(validate=ma.validate.Length(min=1, max=16))


class ReportArgsSchema(PeriodArgsSchema):
    at = Instant(request=True, metadata={"description": "'now' for the months ahead (forecasts)"})


class PeriodSchema(ma.Schema):
    from_ = ma.fields.String(required=True, data_key="from", attribute="first_month")
    to = ma.fields.String(required=True, attribute="last_month")


class RowSchema(ma.Schema):
    month = ma.fields.String(required=True)
    edition = ma.fields.String(required=True)
    rate = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)
    revenue = ma.fields.Nested(MoneySchema, required=True)
    refunded = ma.fields.Nested(MoneySchema, required=True)
    net = ma.fields.Nested(MoneySchema, required=True)


class TotalsSchema(ma.Schema):
    count = ma.fields.Integer(required=True)
    revenue = ma.fields.Nested(MoneySchema, required=True)
    refunded = ma.fields.Nested(MoneySchema, required=True)
    net = ma.fields.Nested(MoneySchema, required=True)


class RateRowSchema(ma.Schema):
    month = ma.fields.String(required=True)
    due = ma.fields.Integer(required=True)
    renewed_preferential = ma.fields.Integer(required=True)
    renewed_standard = ma.fields.Integer(required=True)
    not_renewed = ma.fields.Integer(required=True)
    rate = ma.fields.Decimal(
        as_string=True,
        allow_none=True,
        required=True,
        metadata={
            "type": "string",  # as_string: "0.7500", not a JSON number
            "pattern": "^(0\\.[0-9]{4}|1\\.0000)$",
            "description": "renewed / due, to four places (half-up); null when none were due",
        },
    )


class UpcomingSchema(ma.Schema):
    month = ma.fields.String(required=True)
    expiring = ma.fields.Integer(required=True)
    potential_revenue = ma.fields.Nested(MoneySchema, required=True)


class ReportSchema(ma.Schema):
    period = ma.fields.Nested(PeriodSchema, required=True)
    rows = ma.fields.List(ma.fields.Nested(RowSchema), required=True)
    totals = ma.fields.Nested(TotalsSchema, required=True)
    renewal_rate = ma.fields.List(ma.fields.Nested(RateRowSchema), required=True)
    upcoming = ma.fields.List(ma.fields.Nested(UpcomingSchema), required=True)


class RevenueReportSchema(ma.Schema):
    period = ma.fields.Nested(PeriodSchema, required=True)
    rows = ma.fields.List(ma.fields.Nested(RevenueRowSchema), required=True)
    by_kind = ma.fields.List(ma.fields.Nested(RevenueKindSchema), required=True)
    totals = ma.fields.Nested(TotalsSchema, required=True)


def _report(args: dict[str, Any]) -> RenewalReport:
    return reports.renewal_report(
        period=parse_period(args["from_"], args["to"]),
        edition=args.get("edition"),
        now=args.get("at") or utcnow(),
    )


def as_csv(report: RenewalReport) -> Response:
    """The report's rows as CSV, one per month, edition and rate."""
    currency = report.currency
    rows = (
        (r.month, r.edition, r.rate, r.count, *amounts(r.revenue, r.refunded, r.net), currency)
        for r in report.rows
    )
    return csv_download("renewals", report.period, CSV_COLUMNS, rows)


@blp.route("/reports/renewals")
class RenewalsReport(MethodView):
    @requires(FINANCE)
    @blp.arguments(ReportArgsSchema, location="query")
    @blp.response(200, ReportSchema)
    @blp.alt_response(200, content_type=CSV, description="The same rows as CSV (Accept: text/csv)")
    def get(self, args: dict[str, Any]) -> Any:
        """Renewals by month, edition and rate with refunds netted out, the renewal rate of the
        terms that ended each month, and the expiries ahead (D18). Months in UTC."""
        report = _report(args)
        if request.accept_mimetypes.best_match(["application/json", CSV]) == CSV:
            return as_csv(report)
        return report


@blp.route("/reports/revenue")
class RevenueByMonthReport(MethodView):
    @requires(FINANCE)
    @blp.arguments(PeriodArgsSchema, location="query")
    @blp.response(200, RevenueReportSchema)
    @blp.alt_response(200, content_type=CSV, description="The same rows as CSV (Accept: text/csv)")
    def get(self, args: dict[str, Any]) -> Any:
        """Every paid order by month and kind (a row for each, zeros included): count, revenue
        at the prices paid, the part refunded since and net, with totals by kind and in all
        (D18). Months in UTC; `edition` leaves out paid work, which has none."""
        report = revenue_report.revenue_report(
            period=parse_period(args["from_"], args["to"]), edition=args.get("edition")
        )
        if request.accept_mimetypes.best_match(["application/json", CSV]) == CSV:
            return revenue_csv(report)
        return report


@blp.route("/reports/renewals/link")
class RenewalsReportLink(MethodView):
    @requires(FINANCE)
    @blp.arguments(ReportArgsSchema, location="query")
    @blp.response(200, SignedLinkSchema)
    def post(self, args: dict[str, Any]) -> IssuedLink:
        """A signed link (7 days) to the report's page, for people and printers."""
        parse_period(args["from_"], args["to"])
        claims = {"from": args["from_"], "to": args["to"], "edition": args.get("edition")}
        return RENEWALS_REPORT_PAGE.issue("reports/renewals", claims)


@pages.route("/reports/renewals")
@public
def renewals_page() -> Any:
    """The report as a page with a chart of monthly revenue by rate (inline SVG), and beside
    it the revenue of every order kind over the same period (D18)."""
    claims = RENEWALS_REPORT_PAGE.claims()
    report = reports.renewal_report(
        period=parse_period(claims["from"], claims["to"]),
        edition=claims.get("edition"),
        now=utcnow(),
    )
    revenue = revenue_report.revenue_report(period=report.period, edition=claims.get("edition"))
    return render_template(
        "renewals.html",
        report=report,
        chart=chart(report),
        revenue=revenue,
        revenue_chart=revenue_chart(revenue),
        money=format_decimal,
    )
