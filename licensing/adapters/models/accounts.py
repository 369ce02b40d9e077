"""Accounts: customers (R2) with their history, and partners, the resellers (R3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licensing.adapters.models.base import HistoryRow
from licensing.adapters.types import BigId, UTCDateTime
from licensing.extensions import db

EMAIL_INDEX = "uq_customers_email_normalized"


class Customer(db.Model):
    """An account that licenses are registered to (R2); a partner's own when created with
    its key (D26), the vendor's (no partner) otherwise."""

    __tablename__ = "customers"
    # D24: one customer per email, compared case-insensitively after trimming (migration 0014).
    __table_args__ = (Index(EMAIL_INDEX, func.lower(func.trim(text("email"))), unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    partner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("partners.id"), index=True)

    history: Mapped[list[CustomerEvent]] = relationship(
        order_by="CustomerEvent.id", lazy="raise", viewonly=True
    )


class CustomerEvent(HistoryRow, db.Model):
    """A customer's history: bans set and lifted, with who did it (R13, D11)."""

    __tablename__ = "customer_events"
    __table_args__ = (Index("ix_customer_events_customer_id_id", "customer_id", "id"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))


class Partner(db.Model):
    """A reseller; it supports the licenses it sold (R3, R9)."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    support_email: Mapped[str] = mapped_column(String(254))
    support_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
