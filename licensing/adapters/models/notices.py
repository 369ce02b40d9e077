"""Notices to subscribers: the outbox, the subscribed URLs and each delivery's attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licensing.adapters.models.base import JSONData, one_of
from licensing.adapters.types import BigId, UTCDateTime
from licensing.domain.notices import NoticeType
from licensing.extensions import db


class Notice(db.Model):
    """The outbox: one event for subscribers, produced once per license and term."""

    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint(one_of("type", NoticeType), name="type_known"),
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
