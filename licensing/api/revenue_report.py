"""The revenue report's rows (D18) as JSON and as CSV; its routes are in `reports`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import marshmallow as ma
from flask import Response, stream_with_context

from licensing.api.fields import MoneySchema
from licensing.domain.money import format_decimal
from licensing.domain.orders import OrderKind
from licensing.services.revenue_report import RevenueReport

CSV = "text/csv"
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
    """RFC 4180 (CRLF, quoted where needed), a header row, amounts as 120.00, streamed."""

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for r in report.rows:
            amounts = (format_decimal(a.amount) for a in (r.revenue, r.refunded, r.net))
            writer.writerow((r.month, r.kind, r.count, *amounts, report.currency))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    months = report.period.months()
    name = f"revenue-{months[0]}-to-{months[-1]}.csv"
    return Response(
        stream_with_context(lines()),
        mimetype=CSV,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
