"""Renewals: each paid extension of a license's updates subscription (R18, D15)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from licensing.adapters.models.base import one_of
from licensing.adapters.types import BigId, UTCDateTime
from licensing.domain.renewals import RenewalRate
from licensing.extensions import db


class Renewal(db.Model):
    """One paid renewal of a license's updates subscription (R18, D15), exactly once per order."""

    __tablename__ = "renewals"
    __table_args__ = (
        CheckConstraint(one_of("rate", RenewalRate), name="rate_known"),
        CheckConstraint("percent IN (20, 30)", name="percent_known"),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("list_price_amount >= 0", name="list_price_not_negative"),
        CheckConstraint("new_updates_until > old_updates_until", name="extends"),
        Index("ix_renewals_license_id_paid_at", "license_id", "paid_at"),
        Index("ix_renewals_license_id_old_updates_until", "license_id", "old_updates_until"),
        Index("ix_renewals_new_updates_until", "new_updates_until"),
        Index("ix_renewals_paid_at", "paid_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    license_id: Mapped[int] = mapped_column(BigId, ForeignKey("licenses.id"))
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), unique=True)
    edition_code: Mapped[str] = mapped_column(String(16), ForeignKey("editions.code"))
    rate: Mapped[str] = mapped_column(String(16))
    percent: Mapped[int]
    price_amount: Mapped[int]
    list_price_amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    old_updates_until: Mapped[datetime] = mapped_column(UTCDateTime())
    new_updates_until: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
