"""A report's rows as a CSV download: RFC 4180 (CRLF, quoted where needed), a header row,
amounts as 120.00, streamed one row at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from flask import Response, stream_with_context

from licensing.domain.money import Money, format_decimal
from licensing.domain.reports import Period

CSV = "text/csv"


def amounts(*money: Money) -> tuple[str, ...]:
    """Money as the decimal strings of the CSV (`120.00`); the currency has its own column."""
    return tuple(format_decimal(m.amount) for m in money)


def csv_download(
    name: str, period: Period, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """`<name>-<first month>-to-<last month>.csv`, as an attachment."""

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    months = period.months()
    filename = f"{name}-{months[0]}-to-{months[-1]}.csv"
    return Response(
        stream_with_context(lines()),
        mimetype=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
