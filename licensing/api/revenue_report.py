"""The revenue report's rows (D18) as JSON and as CSV; its routes are in `reports`."""

from __future__ import annotations

import marshmallow as ma
from flask import Response

from licensing.api.csv_download import amounts, csv_download
from licensing.api.shared_schemas import MoneySchema
from licensing.domain.orders import OrderKind
from licensing.services.revenue_report import RevenueReport

CSV_COLUMNS = ("month", "kind", "count", "revenue", "refunded", "net", "currency")
KIND = {"enum": [kind.value for kind in OrderKind], "description": "the order's kind"}


class RevenueAmountsSchema(ma.Schema):
    count = ma.fields.Integer(required=True)
    revenue = ma.fields.Nested(MoneySchema, required=True)
    refunded = ma.fields.Nested(MoneySchema, required=True)
    net = ma.fields.Nested(MoneySchema, required=True)


class RevenueRowSchema(RevenueAmountsSchema):
    month = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata=KIND)


class RevenueKindSchema(RevenueAmountsSchema):
    kind = ma.fields.String(required=True, metadata=KIND)


def revenue_csv(report: RevenueReport) -> Response:
    """The report's rows as CSV, one per month and kind."""
    rows = (
        (r.month, r.kind, r.count, *amounts(r.revenue, r.refunded, r.net), report.currency)
        for r in report.rows
    )
    return csv_download("revenue", report.period, CSV_COLUMNS, rows)
