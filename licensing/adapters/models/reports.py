"""The reports' monthly rollup (D18): one row per figure, month and group, kept exact by
`licensing.services.report_rollup` in the transaction that changes the facts it sums."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from licensing.extensions import db


class ReportMonth(db.Model):
    """Three sums of one figure in one month and group; what they mean depends on the figure:

    - `renewals` (detail: the rate): renewals paid, their revenue, the part refunded since;
    - `orders` (detail: the kind; edition empty for paid work): orders paid, their revenue,
      the part taken back since (refund, or a dispute lost);
    - `terms` (detail empty; edition: the license's): terms that ended, renewed at the
      preferential rate, renewed at the standard rate.
    """

    __tablename__ = "report_months"

    figure: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM, UTC
    edition: Mapped[str] = mapped_column(String(16), primary_key=True)
    detail: Mapped[str] = mapped_column(String(16), primary_key=True)
    n1: Mapped[int] = mapped_column(BigInteger)
    n2: Mapped[int] = mapped_column(BigInteger)
    n3: Mapped[int] = mapped_column(BigInteger)
