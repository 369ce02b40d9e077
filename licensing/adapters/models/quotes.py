"""Paid extra work (R14-R16, D12): quotes, their lines of work and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licensing.adapters.models.base import HistoryRow, one_of
from licensing.adapters.models.licenses import License
from licensing.adapters.types import BigId, UTCDateTime
from licensing.domain.quotes import QUARTERS_PER_HOUR, QuoteStatus, WorkCategory
from licensing.extensions import db


class Quote(db.Model):
    """Paid extra work at the hourly rate (R14, D12), from estimate to end of warranty (R16)."""

    __tablename__ = "quotes"
    __table_args__ = (
        CheckConstraint(one_of("status", QuoteStatus), name="status_known"),
        CheckConstraint("rate_per_hour >= 0", name="rate_not_negative"),
        CheckConstraint("total_quarters > 0", name="has_hours"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    license_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("licenses.id"))
    status: Mapped[str] = mapped_column(String(16))
    rate_per_hour: Mapped[int]  # D12: snapshotted from configuration when the quote is made
    currency: Mapped[str] = mapped_column(String(3))
    total_quarters: Mapped[int]
    amount: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"), unique=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warranty_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warranty_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # cancelled or expired

    lines: Mapped[list[QuoteLine]] = relationship(
        order_by="QuoteLine.position", lazy="selectin", cascade="all, delete-orphan"
    )
    history: Mapped[list[QuoteEvent]] = relationship(
        order_by="QuoteEvent.id", lazy="raise", viewonly=True
    )
    license: Mapped[License | None] = relationship(lazy="raise")

    @property
    def hours(self) -> float:
        return self.total_quarters / QUARTERS_PER_HOUR


class QuoteLine(db.Model):
    """D12: one line of work: its category, what it is, how many quarter hours."""

    __tablename__ = "quote_lines"
    __table_args__ = (
        CheckConstraint(one_of("category", WorkCategory), name="category_known"),
        CheckConstraint("quarters > 0", name="positive"),
        UniqueConstraint("quote_id", "position"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    quote_id: Mapped[int] = mapped_column(BigId, ForeignKey("quotes.id"))
    position: Mapped[int]
    category: Mapped[str] = mapped_column(String(16))
    service: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(2000))
    quarters: Mapped[int]

    @property
    def hours(self) -> float:
        return self.quarters / QUARTERS_PER_HOUR


class QuoteEvent(HistoryRow, db.Model):
    """A quote's history: every state change, with who made it."""

    __tablename__ = "quote_events"
    __table_args__ = (Index("ix_quote_events_quote_id_id", "quote_id", "id"),)

    quote_id: Mapped[int] = mapped_column(BigId, ForeignKey("quotes.id"))
