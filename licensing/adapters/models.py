"""The tables: catalog, accounts, licenses with their history, and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licensing.adapters.types import BigId, UTCDateTime
from licensing.domain.bans import BanReason
from licensing.domain.licenses import Channel, LicenseStatus
from licensing.domain.money import Money
from licensing.domain.notices import NoticeType
from licensing.domain.orders import (
    DisputeOutcome,
    OrderKind,
    OrderStatus,
    PaymentFacts,
)
from licensing.domain.periods import preferential_until
from licensing.domain.quotes import QUARTERS_PER_HOUR, QuoteStatus, WorkCategory
from licensing.domain.renewals import RenewalRate
from licensing.extensions import db

JSONData = JSON().with_variant(JSONB(), "postgresql")


def _one_of(column: str, values: Any) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


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


class Customer(db.Model):
    """An account that licenses are registered to (R2); a partner's own when created with
    its key (D26), the vendor's (no partner) otherwise."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    partner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("partners.id"), index=True)

    history: Mapped[list[CustomerEvent]] = relationship(
        order_by="CustomerEvent.id", lazy="raise", viewonly=True
    )


class Ban(db.Model):
    """R13, D11: a customer barred from the desk from `starts_at` up to (not including)
    `ends_at` or the instant it was lifted; kept after it ends."""

    __tablename__ = "bans"
    __table_args__ = (
        CheckConstraint(_one_of("reason", BanReason), name="reason_known"),
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


class Partner(db.Model):
    """A reseller; it supports the licenses it sold (R3, R9)."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    support_email: Mapped[str] = mapped_column(String(254))
    support_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class License(db.Model):
    """A license for one site (R2), bound to a normalized domain (D3, D4)."""

    __tablename__ = "licenses"
    __table_args__ = (
        CheckConstraint(_one_of("status", LicenseStatus), name="status_known"),
        CheckConstraint(_one_of("channel", Channel), name="channel_known"),
        CheckConstraint(
            "(channel = 'partner') = (partner_id IS NOT NULL)", name="partner_iff_partner_channel"
        ),
        CheckConstraint("support_until >= purchased_at", name="support_after_purchase"),
        CheckConstraint("updates_until >= purchased_at", name="updates_after_purchase"),
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


class HistoryRow:
    """An append-only history entry: what happened, who did it (API key, Stripe event), when."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSONData)


class LicenseEvent(HistoryRow, db.Model):
    """A license's history: issue, bindings and unbindings (D5), status changes."""

    __tablename__ = "license_events"
    __table_args__ = (Index("ix_license_events_license_id_id", "license_id", "id"),)

    license_id: Mapped[int] = mapped_column(BigId, ForeignKey("licenses.id"))


class ApiKey(db.Model):
    """A caller's credential: only a hash of the secret is kept, never the key itself."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSONData)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Order(db.Model):
    """A purchase (or, later, a renewal or paid work) and its payment through Stripe (D7, D8).

    The status is derived from the payment facts (`domain.orders.order_status`) and stored
    for queries; the facts are what events change.
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_one_of("kind", OrderKind), name="kind_known"),
        CheckConstraint(_one_of("status", OrderStatus), name="status_known"),
        CheckConstraint(
            _one_of("dispute", DisputeOutcome) + " OR dispute IS NULL", name="dispute_known"
        ),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("list_price_amount >= 0", name="list_price_not_negative"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        CheckConstraint(_one_of("rate", RenewalRate) + " OR rate IS NULL", name="rate_known"),
        Index("ix_orders_status_expires_at", "status", "expires_at"),
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
        )


class CustomerEvent(HistoryRow, db.Model):
    """A customer's history: bans set and lifted, with who did it (R13, D11)."""

    __tablename__ = "customer_events"
    __table_args__ = (Index("ix_customer_events_customer_id_id", "customer_id", "id"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))


class OrderEvent(HistoryRow, db.Model):
    """An order's history, with the Stripe event or API key behind each change."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order_id_id", "order_id", "id"),)

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"))


class Renewal(db.Model):
    """One paid renewal of a license's updates subscription (R18, D15), exactly once per order."""

    __tablename__ = "renewals"
    __table_args__ = (
        CheckConstraint(_one_of("rate", RenewalRate), name="rate_known"),
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


class Notice(db.Model):
    """The outbox: one event for subscribers, produced once per license and term."""

    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint(_one_of("type", NoticeType), name="type_known"),
        UniqueConstraint("type", "license_id", "term_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    license_id: Mapped[int] = mapped_column(BigId, ForeignKey("licenses.id"))
    term_key: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict[str, Any]] = mapped_column(JSONData)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Subscriber(db.Model):
    """A URL that receives every notice, signed with its secret (HMAC-SHA256)."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Delivery(db.Model):
    """One notice to one subscriber: retried with backoff, then delivered or dead-lettered."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "subscriber_id"),
        Index("ix_deliveries_pending", "next_attempt_at", "delivered_at", "dead_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notice_id: Mapped[int] = mapped_column(BigId, ForeignKey("notices.id"))
    subscriber_id: Mapped[int] = mapped_column(BigId, ForeignKey("subscribers.id"), index=True)
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))

    notice: Mapped[Notice] = relationship(lazy="joined", innerjoin=True)


class Quote(db.Model):
    """Paid extra work at the hourly rate (R14, D12), from estimate to end of warranty (R16)."""

    __tablename__ = "quotes"
    __table_args__ = (
        CheckConstraint(_one_of("status", QuoteStatus), name="status_known"),
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

    # Set by the API when a sent quote has passed its validity and is shown as expired.
    shown_status = None

    @property
    def effective_status(self) -> str:
        return self.shown_status or self.status

    @property
    def hours(self) -> float:
        return self.total_quarters / QUARTERS_PER_HOUR

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def rate_money(self) -> Money:
        return Money(self.rate_per_hour, self.currency)

    @property
    def license_key(self) -> str | None:
        return self.license.key if self.license is not None else None


class QuoteLine(db.Model):
    """D12: one line of work: its category, what it is, how many quarter hours."""

    __tablename__ = "quote_lines"
    __table_args__ = (
        CheckConstraint(_one_of("category", WorkCategory), name="category_known"),
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


class StripeEvent(db.Model):
    """Each Stripe event id, recorded once in the transaction that applies it (D7)."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdempotencyKey(db.Model):
    """A creating request's Idempotency-Key and the answer it got, replayed on a retry."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(BigId, ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


@event.listens_for(HistoryRow, "before_update", propagate=True)
@event.listens_for(HistoryRow, "before_delete", propagate=True)
def _history_is_append_only(mapper: Any, connection: Any, target: Any) -> None:
    """History is evidence: the ORM refuses to change it (the database refuses too)."""
    raise PermissionError(f"{type(target).__tablename__} is append-only")
