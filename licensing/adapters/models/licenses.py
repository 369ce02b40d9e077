"""Licenses, one per site and bound to a domain (R2, D3, D4), with their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licensing.adapters.models.base import HistoryRow, one_of
from licensing.adapters.types import BigId, UTCDateTime
from licensing.domain.licenses import Channel, LicenseStatus
from licensing.domain.periods import preferential_until
from licensing.extensions import db

TRANSFERRED = "transferred"  # the history line of a transfer to another owner (D21)
TRANSFERRED_ONLY = f"type = '{TRANSFERRED}'"


class License(db.Model):
    """A license for one site (R2), bound to a normalized domain (D3, D4)."""

    __tablename__ = "licenses"
    __table_args__ = (
        CheckConstraint(one_of("status", LicenseStatus), name="status_known"),
        CheckConstraint(one_of("channel", Channel), name="channel_known"),
        CheckConstraint(
            "(channel = 'partner') = (partner_id IS NOT NULL)", name="partner_iff_partner_channel"
        ),
        CheckConstraint("support_until >= purchased_at", name="support_after_purchase"),
        CheckConstraint("updates_until >= purchased_at", name="updates_after_purchase"),
        # D18's upcoming expiries (active licenses by month of updates_until and edition)
        # and the notice schedule, read from the index alone (issue 20).
        Index("ix_licenses_status_updates_until", "status", "updates_until", "edition_code"),
        # Every license ever bound to a domain (the helpdesk's question, issue 20).
        Index("ix_licenses_domain", "domain"),
        # D4: one live license per domain, enforced by the database on both engines.
        Index(
            "uq_licenses_live_domain",
            "domain",
            unique=True,
            sqlite_where=text("status <> 'revoked'"),
            postgresql_where=text("status <> 'revoked'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    edition_code: Mapped[str] = mapped_column(String(16), ForeignKey("editions.code"))
    domain: Mapped[str] = mapped_column(String(253))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("partners.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    purchased_at: Mapped[datetime] = mapped_column(UTCDateTime())
    support_until: Mapped[datetime] = mapped_column(UTCDateTime())
    updates_until: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The end of the first term; with the renewals that stand it gives updates_until (D9).
    initial_updates_until: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    history: Mapped[list[LicenseEvent]] = relationship(
        order_by="LicenseEvent.id", lazy="raise", viewonly=True
    )

    @property
    def preferential_renewal_until(self) -> datetime:
        return preferential_until(self.updates_until)


class LicenseEvent(HistoryRow, db.Model):
    """A license's history: issue, bindings and unbindings (D5), status changes, transfers
    (D21: who owned the license at an instant is read from its `transferred` lines)."""

    __tablename__ = "license_events"
    __table_args__ = (
        Index("ix_license_events_license_id_id", "license_id", "id"),
        # D21: a license's transfers after an instant, and every transfer after an instant.
        Index(
            "ix_license_events_transfers_license_id_at",
            "license_id",
            "at",
            sqlite_where=text(TRANSFERRED_ONLY),
            postgresql_where=text(TRANSFERRED_ONLY),
        ),
        Index(
            "ix_license_events_transfers_at",
            "at",
            sqlite_where=text(TRANSFERRED_ONLY),
            postgresql_where=text(TRANSFERRED_ONLY),
        ),
    )

    license_id: Mapped[int] = mapped_column(BigId, ForeignKey("licenses.id"))
