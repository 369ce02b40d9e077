"""The catalog: editions with their list prices (R1) and published releases (R10)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from licensing.adapters.types import BigId, UTCDateTime
from licensing.domain.money import Money
from licensing.extensions import db


class Edition(db.Model):
    """R1: Pro or Premium, with its current list price (D2: orders snapshot it)."""

    __tablename__ = "editions"
    __table_args__ = (
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
    )

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    price_amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    priority: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def price(self) -> Money:
        return Money(self.price_amount, self.currency)


class Release(db.Model):
    """A published version of the Shop system; the newest is current (R10)."""

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
