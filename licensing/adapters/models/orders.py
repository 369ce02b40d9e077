"""Orders and their payment through Stripe (D7, D8): history, and each Stripe event once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licensing.adapters.models.base import HistoryRow, one_of
from licensing.adapters.models.licenses import License
from licensing.adapters.types import BigId, UTCDateTime
from licensing.domain.orders import DisputeOutcome, OrderKind, OrderStatus, PaymentFacts
from licensing.domain.renewals import RenewalRate
from licensing.extensions import db


class Order(db.Model):
    """A purchase (or, later, a renewal or paid work) and its payment through Stripe (D7, D8).

    The status is derived from the payment facts (`domain.orders.order_status`) and stored
    for queries; the facts are what events change.
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(one_of("kind", OrderKind), name="kind_known"),
        CheckConstraint(one_of("status", OrderStatus), name="status_known"),
        CheckConstraint(
            one_of("dispute", DisputeOutcome) + " OR dispute IS NULL", name="dispute_known"
        ),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("list_price_amount >= 0", name="list_price_not_negative"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        CheckConstraint(one_of("rate", RenewalRate) + " OR rate IS NULL", name="rate_known"),
        Index("ix_orders_status_expires_at", "status", "expires_at"),
        Index("ix_orders_paid_at", "paid_at"),  # the revenue report (D18)
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    # Purchases and renewals are of an edition; paid work (kind `work`) is not.
    edition_code: Mapped[str | None] = mapped_column(String(16), ForeignKey("editions.code"))
    domain: Mapped[str | None] = mapped_column(String(253))
    license_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("licenses.id"), index=True)
    # D2: the price is a snapshot; later list price changes never touch it.
    price_amount: Mapped[int]
    list_price_amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    # Renewals: the rate and percent locked at creation, and the term they were quoted on.
    rate: Mapped[str | None] = mapped_column(String(16))
    percent: Mapped[int | None]
    quoted_updates_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
    # Random, so Stripe idempotency keys never collide across databases or restores.
    payment_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    client_secret: Mapped[str | None] = mapped_column(String(255))
    expiry_attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_message: Mapped[str | None] = mapped_column(String(500))
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # by staff (D20)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refund_reason: Mapped[str | None] = mapped_column(String(40))
    dispute: Mapped[str | None] = mapped_column(String(8))

    license: Mapped[License | None] = relationship(foreign_keys=[license_id], lazy="raise")
    history: Mapped[list[OrderEvent]] = relationship(
        order_by="OrderEvent.id", lazy="raise", viewonly=True
    )

    @property
    def facts(self) -> PaymentFacts:
        return PaymentFacts(
            paid_at=self.paid_at,
            failed_at=self.failed_at,
            expired_at=self.expired_at,
            refunded_at=self.refunded_at,
            dispute=DisputeOutcome(self.dispute) if self.dispute else None,
            cancelled_at=self.cancelled_at,
        )


class OrderEvent(HistoryRow, db.Model):
    """An order's history, with the Stripe event or API key behind each change."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order_id_id", "order_id", "id"),)

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"))


class StripeEvent(db.Model):
    """Each Stripe event id, recorded once in the transaction that applies it (D7)."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
