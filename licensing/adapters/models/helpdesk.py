"""The helpdesk's bans: customers barred from support for a time (R13, D11)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from licensing.adapters.models.base import one_of
from licensing.adapters.types import BigId, UTCDateTime
from licensing.domain.bans import BanReason
from licensing.extensions import db


class Ban(db.Model):
    """R13, D11: a customer barred from the desk from `starts_at` up to (not including)
    `ends_at` or the instant it was lifted; kept after it ends."""

    __tablename__ = "bans"
    __table_args__ = (
        CheckConstraint(one_of("reason", BanReason), name="reason_known"),
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
        Index("ix_bans_customer_id_starts_at", "customer_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(2000))
    set_by: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(120))
